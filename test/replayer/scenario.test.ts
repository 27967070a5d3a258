/** Scenarios as data: builtins, JSON and YAML files, and one clear error per problem. */
import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {buildPlan, poolPlan} from '../../replayer/plan.js'
import {loadScenario, validateScenario} from '../../replayer/scenario.js'
import {readTraceFile, shippedTrace} from '../../replayer/trace.js'
import {tempDir, writeFile} from '../fixtures/recordings.js'

const MiB = 2 ** 20
const dir = tempDir()
afterAll(() => rmSync(dir, {force: true, recursive: true}))

const ok = {tenants: [{run: 'dask__dask-11628'}], total: '1100M'}

describe('scenarios', () => {
  it('builds the paper scenario from the shipped traces: 421 + 2 x 406 MiB for 1100 MiB, 50x', async () => {
    const sc = loadScenario('paper')
    expect(sc.totalBytes).toBe(1100 * MiB)
    expect(sc.policies).toEqual(['none', 'static', 'high', 'agentcgroup'])
    const plan = await buildPlan(sc, null)
    expect(plan.tenants.map((t) => [t.name, t.priority, Math.round(t.peakBytes / MiB)])).toEqual([['HIGH', 'high', 421], ['LOW1', 'low', 406], ['LOW2', 'low', 406]])
    // the paper's replay loop: 98.3 s / 50
    expect(plan.tenants[0].expectedMs).toBeCloseTo(1966.8, 0)
    expect(plan.tenants.every((t) => t.targets.every((b) => b % 4096 === 0))).toBe(true)
    expect(loadScenario('paper-1300').totalBytes).toBe(1300 * MiB)
    // the pool holds what the tenants do not, so the sum stays at its warm size
    const pool = poolPlan(plan, 4096 * MiB)
    expect(pool.warmBytes).toBeGreaterThan(1000 * MiB)
    expect(pool.targets[0] + plan.tenants.reduce((a, t) => a + t.targets[0], 0)).toBeCloseTo(pool.warmBytes, -6)
  })

  it('reads YAML and JSON files, with counts, repeats, start offsets and a trace file', async () => {
    writeFile(join(dir, 'tiny.json'), {format: 'agentcgroup-trace/1', mem_bytes: [10 * MiB, 30 * MiB, 20 * MiB], t_ms: [0, 1000, 2000]})
    writeFile(join(dir, 's.yaml'), [
      'name: mine', 'total: 512M', 'speed: 10', 'policy: agentcgroup', 'repeat: 3', 'params: {throttle_at: 0.8, freeze_at: 0.9, resume_at: 0.5, step: 4M}', 'tenants:',
      `  - {name: A, trace: ${join(dir, 'tiny.json')}, priority: high, base: 1M}`,
      `  - {name: B, trace: ${join(dir, 'tiny.json')}, count: 2, start_s: 5, repeat: 2}`,
    ].join('\n'))
    const sc = loadScenario(join(dir, 's.yaml'))
    expect([sc.name, sc.speed, sc.repeat, sc.policies, sc.params.stepBytes]).toEqual(['mine', 10, 3, ['agentcgroup'], 4 * MiB])
    const plan = await buildPlan(sc, null)
    expect(plan.tenants.map((t) => t.name)).toEqual(['A', 'B1', 'B2'])
    expect(plan.tenants[0].targets).toEqual([11 * MiB, 31 * MiB, 21 * MiB])
    // B: starts 5 trace-seconds in (0.5 s at 10x), plays twice with one sample gap
    expect(plan.tenants[1].offsetsMs).toEqual([500, 600, 700, 800, 900, 1000])
  })

  it('gives one clear error per bad scenario', async () => {
    const bad = (doc: object) => () => validateScenario(doc, 'bad.yaml')
    expect(bad({...ok, total: '-100M'})).toThrow('bad.yaml: total: must not be negative (got "-100M")')
    expect(bad({...ok, total: 0})).toThrow('bad.yaml: total: must be a positive size such as 1100M (got 0)')
    expect(bad({...ok, total: 'lots'})).toThrow(/bad.yaml: total: not a size: "lots"/)
    expect(bad({...ok, tenants: [{run: 'x', priority: 'mid'}]})).toThrow('bad.yaml: tenants[0].priority: must be "high" or "low" (got "mid")')
    expect(bad({...ok, tenants: [{run: 'x', base: '-5M'}]})).toThrow('bad.yaml: tenants[0].base: must not be negative (got "-5M")')
    expect(bad({...ok, tenants: [{}]})).toThrow('bad.yaml: tenants[0]: give exactly one of run (a run id) or trace (a file)')
    expect(bad({...ok, policy: 'kill-all'})).toThrow('bad.yaml: policy: unknown policy "kill-all" (one of none, static, high, agentcgroup)')
    expect(bad({...ok, speed: -2})).toThrow('bad.yaml: speed: must be between 0.01 and 100000 (got -2)')
    expect(bad({...ok, colour: 'red'})).toThrow(/bad.yaml: colour: unknown key/)
    expect(bad({...ok, params: {throttle_at: 0.5, resume_at: 0.9}})).toThrow(/need resume_at < throttle_at <= freeze_at/)
    expect(bad({total: '1G', tenants: []})).toThrow('bad.yaml: tenants: must be a non-empty list')
    expect(() => loadScenario(join(dir, 'nope.yaml'))).toThrow(/nope.yaml: no such scenario \(builtin: paper, paper-1300/)
    writeFile(join(dir, 'broken.yaml'), 'total: [1100M\n')
    expect(() => loadScenario(join(dir, 'broken.yaml'))).toThrow(/broken.yaml: cannot parse/)
    const unknownRun = validateScenario({...ok, tenants: [{run: 'all_images_haiku/no-such-task/attempt_1'}]}, 'x.json')
    await expect(buildPlan(unknownRun, null)).rejects.toThrow('unknown run all_images_haiku/no-such-task/attempt_1: not in the store and not a shipped trace (import it, or give a trace file)')
    writeFile(join(dir, 'bad-trace.json'), {format: 'agentcgroup-trace/1', mem_bytes: [1, -5], t_ms: [0, 1]})
    expect(() => readTraceFile(join(dir, 'bad-trace.json'))).toThrow(/bad-trace.json: mem_bytes\[1\]: must be a number >= 0/)
  })

  it('ships the three traces with their source, and recovers instantaneous CPU from lifetime averages', () => {
    for (const name of ['dask__dask-11628', 'sigmavirus24__github3.py-673', 'tobymao__sqlglot-4014']) {
      const t = shippedTrace(name)!
      expect(t.source).toMatch(/^eunomia-bpf\/agentcgroup@5af9e7b experiments\/all_images_haiku\//)
      expect(t.cpuPct.every((c) => c >= 0)).toBe(true)
    }
    const dask = shippedTrace('all_images_haiku/dask__dask-11628/attempt_1')!
    expect(dask.memBytes).toHaveLength(95)
    expect(Math.max(...dask.memBytes)).toBe(320_900_000)
    expect(dask.flags[0]).toBe('start_transient')
  })
})
