/** Step lag the machine causes, told apart from lateness the policy or a cgroup limit imposes; the warm pool's schedule. */
import {describe, expect, it} from 'vitest'

import type {ControllerSummary} from '../../collector/control/controller.js'
import {armMetrics, heldIntervals, machineLagsMs} from '../../replayer/metrics.js'
import {buildPlan, poolPlan} from '../../replayer/plan.js'
import type {ArmRun, StepRecord} from '../../replayer/results.js'
import {loadScenario} from '../../replayer/scenario.js'

const MiB = 2 ** 20
const step = (i: number, schedMs: number, startMs: number, endMs: number, limitHit = false): StepRecord => ({achievedBytes: MiB, endMs, limitHit, rssBytes: 0, schedMs, startMs, step: i, targetBytes: MiB})

function run(steps: StepRecord[], events: ControllerSummary['events']): ArmRun {
  const controller: ControllerSummary = {events, fastReactionsMs: [], freezeEvents: 0, highMode: null, mode: 'user-space', perTenant: [{freezeActions: 0, frozenMs: 0, kernelThrottles: 0, throttleActions: 0}], reactionsMs: [], throttleEvents: 0}
  return {
    backend: 'cgroup-v1', budgetOomKills: 0, budgetPeakBytes: null, controller, endedAtUs: 0, flavor: 'v1', notes: [], policy: 'agentcgroup', startedAtUs: 0,
    tenants: [{completionMs: 500, end: 'done', expectedMs: 100, freezeEvents: 0, frozenMs: 0, index: 0, kernel: {high: 0, limitHits: 0, oomKills: 0, peakBytes: null}, limitBytes: null, name: 'LOW', oomKills: 0, priority: 'low', steps, throttleEvents: 0, trace: 't'}],
  }
}

describe('machine lag', () => {
  it('does not count the time a tenant was frozen, parked or waiting at a limit, but counts what the machine adds after', () => {
    // parked inside step 1 (a limit hit) from 20 to 300 ms, frozen 250-400; the steps due
    // meanwhile start at 400 and later, each 2 ms after the one before
    const steps = [step(0, 0, 0, 1), step(1, 20, 20, 300, true), step(2, 40, 400, 402), step(3, 60, 402, 404), step(4, 420, 430, 431)]
    const r = run(steps, [
      {detail: '', kind: 'parked', reactionMs: null, tenant: 0, tMs: 21},
      {detail: '', kind: 'freeze', reactionMs: null, tenant: 0, tMs: 250},
      {detail: '', kind: 'limit_change', reactionMs: null, tenant: 0, tMs: 300},
      {detail: '', kind: 'thaw', reactionMs: null, tenant: 0, tMs: 400},
    ])
    const held = heldIntervals(r, 0)
    expect(machineLagsMs(steps, held)).toEqual([0, 0, 0, 2, 10])
    const m = armMetrics(r, 1000 * MiB)
    expect(m.lag_p99_ms).toBe(360)
    expect(m.machine_lag_p99_ms).toBe(10)
    // no controller events and no limit hit: every ms of lag is the machine's
    const plain = [step(0, 0, 0, 1), step(1, 20, 70, 71)]
    expect(machineLagsMs(plain, heldIntervals(run(plain, []), 0))).toEqual([0, 50])
  })
})

describe('the warm pool', () => {
  it('releases just before tenants grow and takes back what they free only 100 ms later', async () => {
    const plan = await buildPlan(loadScenario('paper'), null)
    const pool = poolPlan(plan, 4096 * MiB)
    const sumAt = (t: number): number => plan.tenants.reduce((a, x) => {
      let v = x.targets[0]
      for (let i = 0; i < x.offsetsMs.length && x.offsetsMs[i] <= t; i++) v = x.targets[i]
      return t > x.expectedMs ? a : a + v
    }, 0)
    const holdAt = (t: number): number => {
      let h = pool.targets[0]
      for (let i = 0; i < pool.offsetsMs.length && pool.offsetsMs[i] <= t; i++) h = pool.targets[i]
      return h
    }
    expect(pool.offsetsMs.every((t, i) => i === 0 || t >= pool.offsetsMs[i - 1])).toBe(true)
    // the pool and the tenants together never hold more than the warm size
    for (let t = 0; t < 2200; t += 0.5) expect(holdAt(t) + sumAt(t)).toBeLessThanOrEqual(pool.warmBytes + 4096)
    // HIGH ends at 1966.8 ms: its memory is taken back 100 ms later, not at once
    expect(holdAt(2000)).toBeLessThan(holdAt(2070) - 300 * MiB)
  })
})
