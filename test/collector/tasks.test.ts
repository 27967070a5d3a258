import {describe, expect, it} from 'vitest'

import {planAttempts} from '../../collector/benchmark.js'
import {demoCatalog, loadCatalog, selectTasks, sweRebenchImage, validateTaskId} from '../../collector/tasks.js'
import {demoTasks} from '../../datasets/catalog/demo.js'
import {loadSessionFile} from '../../collector/session.js'

describe('task catalogs', () => {
  it('ships 3 to 5 demo tasks, each with a repository, a failing test command and a recorded session', () => {
    const tasks = demoTasks()
    expect(tasks.length).toBeGreaterThanOrEqual(3)
    expect(tasks.length).toBeLessThanOrEqual(5)
    const shows = tasks.flatMap((t) => t.shows).join(' | ')
    for (const want of ['memory burst', 'dependency install from a local package', 'compile', 'many short Bash calls']) expect(shows).toContain(want)
    for (const t of tasks) {
      expect(t.problemStatement.length).toBeGreaterThan(50)
      expect(t.testCommand).not.toBe('')
      const s = loadSessionFile(t.sessionFile!)
      expect(s.version).toBe('2.1.112')
      expect(s.cwd).toBe('/testbed')
      expect(s.main.turns.length).toBeGreaterThanOrEqual(7)
      expect(s.main.turns.at(-1)!.stopReason).toBe('end_turn')
    }
  })

  it('rejects task ids that are paths or names of nothing', () => {
    expect(() => validateTaskId('../../etc')).toThrow(`task id "../../etc": not a task id (letters, digits, '.', '_' and '-' only; never a path)`)
    expect(() => validateTaskId('a/b')).toThrow(/never a path/)
    expect(() => validateTaskId('..')).toThrow(/never a path/)
    expect(() => validateTaskId('')).toThrow(/not a task id/)
    expect(validateTaskId('dask__dask-11628')).toBe('dask__dask-11628')
    expect(() => selectTasks(demoCatalog(), ['nope'], 'demo')).toThrow('unknown task id nope in catalog demo (known: blobsum, cstats, durations, memory-burst)')
  })

  it('names SWE-rebench images as the paper runner pulled them', () => {
    expect(sweRebenchImage('dask__dask-11628')).toBe('swerebench/sweb.eval.x86_64.dask_1776_dask-11628')
    expect(sweRebenchImage('AzureAD__microsoft-authentication-library-for-python-723')).toBe('swerebench/sweb.eval.x86_64.azuread_1776_microsoft-authentication-library-for-python-723')
    const swe = loadCatalog('swe-rebench')
    expect(swe.tasks.length).toBeGreaterThan(100)
    expect(swe.tasks.every((t) => t.workdir === '/testbed' && t.image?.startsWith('swerebench/sweb.eval.x86_64.') && t.repoDir === null)).toBe(true)
  })

  it('plans attempts: a task listed twice is two attempts; shards split the list exactly', () => {
    const p = planAttempts({attempts: 1, catalog: 'demo', shard: null, tasks: ['cstats', 'blobsum', 'cstats']})
    expect(p.map((x) => x.runId)).toEqual(['demo/cstats/attempt_1', 'demo/blobsum/attempt_1', 'demo/cstats/attempt_2'])
    const all = planAttempts({attempts: 2, catalog: 'swe-rebench', shard: null, tasks: null}).map((x) => x.runId)
    const shards = [0, 1, 2].flatMap((i) => planAttempts({attempts: 2, catalog: 'swe-rebench', shard: {count: 3, index: i}, tasks: null}).map((x) => x.runId))
    expect(shards.sort()).toEqual([...all].sort())
    expect(new Set(shards).size).toBe(all.length)
  })
})
