/** The simulator: deterministic, fast at scale, and the paper's outcomes under each policy. */
import {describe, expect, it} from 'vitest'

import {simulate} from '../../replayer/backends/sim.js'
import {armMetrics} from '../../replayer/metrics.js'
import {buildPlan} from '../../replayer/plan.js'
import type {ArmRun} from '../../replayer/results.js'
import {loadScenario, validateScenario} from '../../replayer/scenario.js'

const strip = (r: ArmRun) => ({...r, endedAtUs: 0, startedAtUs: 0})

describe('the simulator', () => {
  it('is deterministic: the same scenario gives the same run, event for event', async () => {
    const plan = await buildPlan(loadScenario('paper'), null)
    for (const policy of ['none', 'agentcgroup'] as const) {
      expect(strip(simulate(plan, policy))).toEqual(strip(simulate(plan, policy)))
    }
  })

  it('reproduces the paper at 1100 MiB: none loses a LOW tenant, agentcgroup loses none and HIGH finishes on time', async () => {
    const sc = loadScenario('paper')
    const plan = await buildPlan(sc, null)
    const none = armMetrics(simulate(plan, 'none'), sc.totalBytes)
    expect(none.survivors).toBe(2)
    expect(none.tenants.filter((t) => !t.survived).map((t) => t.priority)).toEqual(['low'])
    const ac = armMetrics(simulate(plan, 'agentcgroup'), sc.totalBytes)
    expect(ac.survivors).toBe(3)
    expect(ac.oom_kills).toBe(0)
    expect(ac.freeze_events).toBeGreaterThan(0)
    expect(ac.tenants[0].completion_s! / ac.tenants[0].expected_s).toBeLessThan(1.01)
    // at 1300 MiB everyone fits under every policy but static (its shares are below the peaks)
    const sc13 = loadScenario('paper-1300')
    const plan13 = await buildPlan(sc13, null)
    for (const p of ['none', 'high', 'agentcgroup'] as const) expect(armMetrics(simulate(plan13, p), sc13.totalBytes).survivors).toBe(3)
  })

  it('models cgroup v2 too: memory.high throttles, the controller throttles and freezes through it', async () => {
    const sc = loadScenario('paper')
    const plan = await buildPlan(sc, null)
    const high = simulate(plan, 'high', {flavor: 'v2'})
    expect(high.controller.highMode).toBe('native')
    expect(high.tenants.slice(1).some((t) => t.kernel.high > 0)).toBe(true)
    const ac = armMetrics(simulate(plan, 'agentcgroup', {flavor: 'v2'}), sc.totalBytes)
    expect(ac.survivors).toBe(3)
    expect(ac.throttle_events).toBeGreaterThan(0)
  })

  it('runs 10,000 tenants in under 10 s', async () => {
    const sc = validateScenario({
      policy: 'agentcgroup', speed: 50, tenants: [
        {base: '100M', count: 3333, priority: 'high', run: 'dask__dask-11628'},
        {base: '100M', count: 6667, priority: 'low', run: 'sigmavirus24__github3.py-673', start_s: 7},
      ], total: '2000G',
    }, 'scale')
    sc.totalBytes = Math.round(10_000 * 0.2 * 2 ** 30)
    const plan = await buildPlan(sc, null)
    const t0 = performance.now()
    const run = simulate(plan, 'agentcgroup')
    const s = (performance.now() - t0) / 1000
    expect(run.tenants).toHaveLength(10_000)
    expect(run.tenants.filter((t) => t.end === 'done').length).toBeGreaterThan(5000)
    expect(s).toBeLessThan(10)
  })
})
