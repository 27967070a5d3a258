/**
 * The SWE-rebench path of run-benchmark: a catalog FILE naming a real instance id, its image
 * under the paper runner's name (built here locally: images cannot be pulled), the repository
 * at /testbed, and the task's test command deciding runs.tests_passed.
 */
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {sweRebenchImage} from '../../collector/tasks.js'
import {cli, ensureTestImage, leftovers, podmanSkipReason, podmanSync} from '../collector/helpers.js'
import {tempDir} from '../fixtures/recordings.js'

const skip = podmanSkipReason()
const INSTANCE = 'dask__dask-11628'
const IMAGE = sweRebenchImage(INSTANCE)

describe.skipIf(skip !== null)(`run-benchmark on a SWE-rebench instance image${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir: string
  let catalog: string

  beforeAll(async () => {
    dir = tempDir()
    const base = await ensureTestImage()
    // a small repository with a real bug and a test that fails before the fix
    const repo = join(dir, 'repo')
    mkdirSync(repo)
    writeFileSync(join(repo, 'calc.py'), 'def add(a, b):\n    return a - b\n')
    writeFileSync(join(repo, 'test_calc.py'), 'from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n')
    const ctr = `agentcgroup-swe-build-${process.pid}`
    podmanSync(['run', '--name', ctr, '--network', 'none', '-v', `${repo}:/src:ro`, base, 'sh', '-c', 'rm -rf /testbed && mkdir -p /testbed && cp -r /src/. /testbed/'])
    podmanSync(['commit', '-q', ctr, IMAGE])
    podmanSync(['rm', '-f', ctr])
    catalog = join(dir, 'mine.json')
    writeFileSync(
      catalog,
      JSON.stringify([{instance_id: INSTANCE, problem_statement: 'add() subtracts instead of adding', test_command: 'python3 -m pytest -q test_calc.py'}]),
    )
  }, 600_000)

  afterAll(() => {
    try {
      podmanSync(['rmi', '-f', IMAGE])
    } catch {
      // already gone
    }
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('runs in the instance image at /testbed and stores the task test outcome', async () => {
    const db = join(dir, 'fixed.duckdb')
    const fixed = await cli(['run-benchmark', '--catalog', catalog, '--agent', 'command', '--agent-command', "sed -i 's/a - b/a + b/' {workdir}/calc.py", '--runtime', 'podman', '--sampler', 'cgroupfs', '--db', db, '--json'])
    expect(fixed.code, fixed.stderr).toBe(0)
    const [run] = JSON.parse(fixed.stdout).runs
    expect(run).toMatchObject({agent: 'command', runtime: 'podman', status: 'done', task_id: INSTANCE, tests_passed: true})
    const stored = await cli(['sql', "SELECT image, task_id, tests_passed FROM runs", '--db', db, '--json'])
    expect(JSON.parse(stored.stdout).rows).toEqual([{image: IMAGE, task_id: INSTANCE, tests_passed: true}])
    const phases = await cli(['sql', "SELECT phase FROM phases WHERE phase = 'tests'", '--db', db, '--json'])
    expect(JSON.parse(phases.stdout).rows).toHaveLength(1)

    const unfixed = await cli(['run-benchmark', '--catalog', catalog, '--agent', 'command', '--agent-command', 'true', '--runtime', 'podman', '--sampler', 'cgroupfs', '--db', join(dir, 'unfixed.duckdb'), '--json'])
    const [failedRun] = JSON.parse(unfixed.stdout).runs
    expect(failedRun).toMatchObject({task_id: INSTANCE, tests_passed: false})
    expect(leftovers(null)).toEqual([])
  })
})
