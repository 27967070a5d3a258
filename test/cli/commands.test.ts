/**
 * The commands as users run them: in-process through oclif's runCommand (--json contracts)
 * and as a real process through bin/run.js (exit codes, one-line errors, locks).
 * oclif loads commands from dist/: `npm test` builds first.
 */
import {execFile, spawn} from 'node:child_process'
import {mkdirSync, rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ImportCommandResult} from '../../cli/commands/import.js'
import type {RunsResult} from '../../cli/commands/runs.js'
import type {SqlResult} from '../../cli/commands/sql.js'
import {emptyRunRecord} from '../../datasets/model.js'
import {Store} from '../../datasets/store.js'
import {tempDir, writeAttempt, writeFile, writeNotStarted} from '../fixtures/recordings.js'

const run = promisify(execFile)
const BIN = join(process.cwd(), 'bin', 'run.js')

async function cli(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stderr, stdout} = await run(process.execPath, [BIN, ...args], {cwd: process.cwd()})
    return {code: 0, stderr, stdout}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stderr: e.stderr, stdout: e.stdout}
  }
}

describe('agentcgroup import / runs / sql', () => {
  let dir: string
  let db: string
  let data: string

  beforeAll(() => {
    dir = tempDir()
    db = join(dir, 'cli.duckdb')
    data = join(dir, 'my_runs')
    writeAttempt(join(data, 'dask__dask-11628', 'attempt_1'))
    writeNotStarted(join(data, 'pydicom__pydicom-1000', 'attempt_1'))
    mkdirSync(join(data, 'notes'))
  })

  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  it('import --json returns the typed result and nothing else', async () => {
    const {error, stdout} = await runCommand(['import', data, '--db', db, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as ImportCommandResult
    expect(result.imported.map((r) => [r.run_id, r.status, r.valid])).toEqual([
      ['my_runs/dask__dask-11628/attempt_1', 'done', true],
      ['my_runs/pydicom__pydicom-1000/attempt_1', 'not_started', false],
    ])
    expect(result.task_folders).toBe(2)
    expect(result.skipped).toEqual([{path: join(data, 'notes'), reason: expect.stringMatching(/^no recording inside/)}])
    expect(result.failed).toEqual([])
  })

  it('runs --json gives the documented fields, recomputed from samples', async () => {
    const {error, stdout} = await runCommand(['runs', '--db', db, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const rows = JSON.parse(stdout) as RunsResult
    expect(rows).toHaveLength(2)
    const keys = ['run_id', 'dataset', 'source_path', 'task_id', 'attempt', 'agent', 'model', 'model_actual', 'status', 'valid', 'samples', 'span_s', 'mem_peak_mb', 'mem_avg_mb', 'tool_calls', 'control', 'node_memory_bytes']
    for (const r of rows) for (const k of keys) expect(r, k).toHaveProperty(k)
    const done = rows.find((r) => r.status === 'done')!
    // rampSamples(70, exitZero 1): 12.5 MB then 181..249 MB, then a 0B sample
    expect(done).toMatchObject({attempt: 1, control: null, dataset: 'my_runs', model: 'haiku', model_actual: 'claude-3-5-haiku-20241022', node_memory_bytes: null, samples: 71, task_id: 'dask__dask-11628', tool_calls: 5, valid: true})
    expect(done.mem_peak_mb).toBeCloseTo(249, 9)
    expect(done.mem_avg_mb).toBeCloseTo((12.5 + (181 + 249) / 2 * 69) / 70, 9)
    expect(done.span_s).toBeCloseTo(70 * 1.04, 6)
    const valid = await runCommand(['runs', '--db', db, '--valid', '--json'], {root: process.cwd()})
    expect((JSON.parse(valid.stdout) as RunsResult).map((r) => r.run_id)).toEqual(['my_runs/dask__dask-11628/attempt_1'])
  })

  it('runs shows the control policy and node budget of a run-benchmark --control run', async () => {
    const other = join(dir, 'controlled.duckdb')
    const store = await Store.open(other)
    const rec = emptyRunRecord({attempt: 1, control: 'agentcgroup', dataset: 'live', kind: 'agent', layout: 'attempt', node_memory_bytes: 2048e6, run_id: 'live/t/attempt_1', source_path: '/x', status: 'done', task_id: 't', valid: false})
    await store.replaceRun(rec)
    await store.replaceRun(emptyRunRecord({...rec.run, control: null, node_memory_bytes: null, run_id: 'live/t/attempt_2', attempt: 2}))
    store.close()
    const json = await runCommand(['runs', '--db', other, '--json'], {root: process.cwd()})
    expect((JSON.parse(json.stdout) as RunsResult).map((r) => [r.run_id, r.control, r.node_memory_bytes])).toEqual([
      ['live/t/attempt_1', 'agentcgroup', 2048e6],
      ['live/t/attempt_2', null, null],
    ])
    const table = await runCommand(['runs', '--db', other], {root: process.cwd()})
    expect(table.stdout.split('\n')[0]).toMatch(/tool_calls\s+control\s+node_mem_mb$/)
    expect(table.stdout).toMatch(/live\/t\/attempt_1 .* agentcgroup\s+2048$/m)
  })

  it('sql runs read-only queries and refuses writes', async () => {
    // a real process: runCommand re-splits its arguments and mangles SQL punctuation
    const {code, stdout} = await cli(['sql', 'SELECT tool, count(*)::INTEGER AS n FROM tool_calls GROUP BY tool ORDER BY tool', '--db', db, '--json'])
    expect(code).toBe(0)
    const result = JSON.parse(stdout) as SqlResult
    expect(result.columns).toEqual(['tool', 'n'])
    expect(result.rows).toEqual([{n: 2, tool: 'Bash'}, {n: 1, tool: 'Grep'}, {n: 1, tool: 'Read'}, {n: 1, tool: 'Task'}])
    const write = await runCommand(['sql', 'DELETE FROM runs', '--db', db], {root: process.cwd()})
    expect(write.error?.oclif?.exit).toBe(1)
    expect(write.stderr).toMatch(/^Error: the store is opened read-only: .*read-only/)
    const after = await cli(['sql', 'SELECT count(*)::INTEGER AS n FROM runs', '--db', db, '--json'])
    expect((JSON.parse(after.stdout) as SqlResult).rows).toEqual([{n: 2}])
  })

  it('exits 3 after a partial import, listing the unreadable recording in one line', async () => {
    const partial = join(dir, 'partial')
    writeAttempt(join(partial, 'good', 'attempt_1'))
    writeAttempt(join(partial, 'bad', 'attempt_1'))
    writeFile(join(partial, 'bad', 'attempt_1', 'resources.json'), '{"samples": [')
    const r = await cli(['import', partial, '--db', join(dir, 'partial.duckdb')])
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/Imported 1 runs/)
    expect(r.stdout).toMatch(new RegExp(`error: ${join(partial, 'bad', 'attempt_1', 'resources.json').replace(/[/.]/g, '\\$&')}(:\\d+)?: malformed JSON`))
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/)
    const strict = await cli(['import', partial, '--db', join(dir, 'strict.duckdb'), '--strict'])
    expect(strict.code).toBe(1)
    expect(strict.stderr).toMatch(/stopped at the first unreadable recording \(--strict\)/)
  })

  it('gives one line and exit 1 for a missing path, a missing store and a symlink loop alone', async () => {
    const missing = await cli(['import', join(dir, 'nope'), '--db', join(dir, 'x.duckdb')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/no recordings found in .*nope/)
    expect(missing.stderr).toMatch(/no such file or folder/)
    expect(missing.stderr).not.toMatch(/\n\s+at /)
    const nostore = await cli(['runs', '--db', join(dir, 'absent.duckdb')])
    expect(nostore.code).toBe(1)
    expect(nostore.stderr.trim().split('\n')).toHaveLength(1)
    expect(nostore.stderr).toMatch(/absent\.duckdb: no store here/)
    const loop = join(dir, 'loop')
    mkdirSync(join(loop, 'a'), {recursive: true})
    symlinkSync(loop, join(loop, 'a', 'back'))
    const looped = await cli(['import', loop, '--db', join(dir, 'y.duckdb')])
    expect(looped.code).toBe(1)
    expect(looped.stderr).toMatch(/symlink loop/)
  })

  it('exits 2 on bad flags and shows a stack only with --debug', async () => {
    expect((await cli(['runs', '--no-such-flag'])).code).toBe(2)
    const plain = await cli(['sql', 'SELEC nonsense', '--db', db])
    expect(plain.code).toBe(1)
    expect(plain.stderr).toMatch(/query failed: Parser Error/)
    expect(plain.stderr).not.toMatch(/\n\s+at /)
    const debug = await cli(['sql', 'SELEC nonsense', '--db', db, '--debug'])
    expect(debug.stderr).toMatch(/\n\s+at /)
  })

  it('reports a store locked by another writer clearly', async () => {
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `
      import {DuckDBInstance} from '@duckdb/node-api'
      const i = await DuckDBInstance.create(${JSON.stringify(db)}); await i.connect()
      console.log('locked'); setTimeout(() => {}, 30000)`], {cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit']})
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()))
      const r = await cli(['runs', '--db', db])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/in use by another process/)
    } finally {
      holder.kill()
    }
  })
})
