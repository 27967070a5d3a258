/**
 * A long run sampled every 100 ms with cumulative CPU (as the BPF and cgroupfs samplers
 * record it): the drill-down keeps it within its point budget through min/max envelopes,
 * keeps the one-sample spike, and turns cpu_usec into % of a core.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {buildReport} from '../../reports/build.js'
import {loadDrilldown} from '../../reports/data/drilldown.js'
import {loadSamples} from '../../reports/data/samples.js'
import {makeScope} from '../../reports/data/scope.js'
import {tempDir, writeAttempt} from '../fixtures/recordings.js'

const RUN = 'mini/long_task/attempt_1'

describe('a 25-minute run at 100 ms in the report', () => {
  let dir: string
  let store: Store

  beforeAll(async () => {
    dir = tempDir('agentcgroup-long-')
    writeAttempt(join(dir, 'rec', 'mini', 'long_task', 'attempt_1'))
    store = await Store.open(join(dir, 'l.duckdb'))
    await importRecordings(store, {paths: [join(dir, 'rec')]})
    // replace its samples: 15,000 at 100 ms, 200 MB with one 3 GB sample, half a core busy
    await store.query('DELETE FROM samples WHERE run_id = $r', {r: RUN})
    await store.query(
      `INSERT INTO samples (run_id, t_us, mem_bytes, cpu_usec, source)
       SELECT $r, 1770428831000000 + i * 100000, CASE WHEN i = 7777 THEN 3000000000 ELSE 200000000 + (i % 50) * 100000 END, i * 50000, 'cgroupfs'
       FROM range(15000) t(i)`,
      {r: RUN},
    )
  })

  afterAll(() => {
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('keeps the spike within the point budget and computes CPU from cpu_usec', async () => {
    const scope = makeScope({})
    const [run] = await loadDrilldown(store, scope, await loadSamples(store, scope))
    expect(run.meta).toMatchObject({downsampled: true, samples: 15_000})
    expect(run.mem.length).toBeLessThanOrEqual(800)
    expect(Math.max(...run.mem.map((p) => p[1]))).toBe(3000)
    expect(run.mem.find((p) => p[1] === 3000)![0]).toBeCloseTo(777.7, 1)
    // 50 ms of CPU per 100 ms = 50 % of a core
    expect(new Set(run.cpu.map((p) => p[1]))).toEqual(new Set([50]))
  })

  it('builds the whole report for it', async () => {
    const {stats} = await buildReport(store)
    expect(stats).toMatchObject({downsampled_runs: 1, drill_runs: 1})
  })
})
