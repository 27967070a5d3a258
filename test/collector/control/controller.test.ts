/**
 * The controller against a scripted plane: which writes each policy makes, and how it reacts to
 * each notification, on the v1 and v2 interfaces. The simulator and real-cgroup tests run the
 * same controller end to end.
 */
import {describe, expect, it} from 'vitest'

import {Controller} from '../../../collector/control/controller.js'
import {highPenaltyMs} from '../../../collector/control/penalty.js'
import {type ControlledTenant, type ControlPlane, DEFAULT_POLICY_PARAMS, type FastAction, type Flavor, type PolicyName} from '../../../collector/control/types.js'

const MiB = 2 ** 20

class FakePlane implements ControlPlane {
  readonly calls: string[] = []
  readonly fast = new Map<number, FastAction[]>()
  levels: number[] = []
  usages: Record<string, number> = {}
  timers: (() => void)[] = []
  now = 0
  dead = new Set<number>()
  constructor(readonly flavor: Flavor, readonly totalBytes = 1000 * MiB) {}
  nowMs(): number {
    return this.now
  }
  usage(t: number | 'parent'): number {
    return this.usages[String(t)] ?? 0
  }
  setMax(i: number, b: number | null): void {
    this.calls.push(`max ${i} ${b === null ? 'null' : b / MiB}`)
  }
  setHigh(i: number, b: number | null): void {
    if (this.flavor === 'v1') throw new Error('no memory.high on v1')
    this.calls.push(`high ${i} ${b === null ? 'null' : b / MiB}`)
  }
  setLow(i: number, b: number): void {
    this.calls.push(`low ${i} ${b / MiB}`)
  }
  setOomKillDisable(i: number, d: boolean): void {
    this.calls.push(`okd ${i} ${d}`)
  }
  setOomScoreAdj(i: number, adj: number): void {
    this.calls.push(`adj ${i} ${adj}`)
  }
  freeze(i: number): void {
    this.calls.push(`freeze ${i}`)
  }
  thaw(i: number): void {
    this.calls.push(`thaw ${i}`)
  }
  watchLevels(l: number[]): void {
    this.levels = l
  }
  watchThrottle(i: number): void {
    this.calls.push(`watch ${i}`)
  }
  armFast(level: number, a: FastAction[]): void {
    this.fast.set(level, a)
  }
  timer(_ms: number, fn: () => void): void {
    this.timers.push(fn)
  }
  alive(i: number): boolean {
    return !this.dead.has(i)
  }
}

const tenants: ControlledTenant[] = [
  {highBytes: null, index: 0, limitBytes: 300 * MiB, name: 'HIGH', priority: 'high'},
  {highBytes: 400 * MiB, index: 1, limitBytes: 300 * MiB, name: 'LOW1', priority: 'low'},
  {highBytes: 400 * MiB, index: 2, limitBytes: 300 * MiB, name: 'LOW2', priority: 'low'},
]

function make(flavor: Flavor, policy: PolicyName): {p: FakePlane; c: Controller} {
  const p = new FakePlane(flavor)
  const c = new Controller(p, tenants, policy, {...DEFAULT_POLICY_PARAMS, stepBytes: 8 * MiB})
  c.setup()
  return {c, p}
}

describe('the controller', () => {
  it('none sets nothing; static sets each share as memory.max', () => {
    expect(make('v1', 'none').p.calls).toEqual([])
    expect(make('v1', 'static').p.calls).toEqual(['max 0 300', 'max 1 300', 'max 2 300'])
  })

  it('high: native memory.high on v2; on v1 parks at the value and raises a step after the v2 throttle delay', () => {
    expect(make('v2', 'high').p.calls).toEqual(['high 1 400', 'watch 1', 'high 2 400', 'watch 2'])
    const {c, p} = make('v1', 'high')
    expect(p.calls).toEqual(['okd 1 true', 'max 1 400', 'watch 1', 'okd 2 true', 'max 2 400', 'watch 2'])
    p.calls.length = 0
    c.onSignal({count: 1, kind: 'parked', notifiedMs: 0, tenant: 1})
    // 408 MiB over a 400 MiB high, 8 MiB charged: the kernel would sleep 0.8 s first
    expect(p.calls).toEqual([])
    expect(p.timers).toHaveLength(1)
    p.timers[0]()
    expect(p.calls).toEqual(['max 1 408'])
    expect(c.finish().highMode).toBe('emulated')
    expect(c.finish().perTenant[1].kernelThrottles).toBe(1)
  })

  it('agentcgroup on v1: watches levels, arms the fast path, records its reaction, thaws when pressure passes', () => {
    const {c, p} = make('v1', 'agentcgroup')
    expect(p.calls).toEqual(['adj 1 500', 'okd 1 true', 'watch 1', 'adj 2 500', 'okd 2 true', 'watch 2', 'low 0 1000'].sort((a, b) => p.calls.indexOf(a) - p.calls.indexOf(b)))
    const [resume, , throttle, freeze] = p.levels
    expect([resume, throttle, freeze].map((l) => Math.round(l / MiB))).toEqual([800, 900, 960])
    expect(p.fast.get(throttle)).toEqual([{kind: 'park', slackBytes: 8 * MiB, tenant: 1}, {kind: 'park', slackBytes: 8 * MiB, tenant: 2}])
    expect(p.fast.get(freeze)).toEqual([{kind: 'freeze', tenant: 1}, {kind: 'freeze', tenant: 2}])
    p.calls.length = 0
    c.onSignal({direction: 'up', fastDoneMs: 10.4, kind: 'level', level: throttle, notifiedMs: 10, usageBytes: throttle})
    c.onSignal({direction: 'up', fastDoneMs: 12.1, kind: 'level', level: freeze, notifiedMs: 12, usageBytes: freeze})
    // v1: the helper wrote; the controller only records
    expect(p.calls).toEqual([])
    p.now = 50
    p.usages.parent = 700 * MiB
    c.onSignal({direction: 'down', kind: 'level', level: resume, notifiedMs: 49.5, usageBytes: 700 * MiB})
    expect(p.calls).toEqual(['thaw 1', 'max 1 null', 'thaw 2', 'max 2 null'])
    const s = c.finish()
    expect(s.freezeEvents).toBe(2)
    expect(s.perTenant[1].frozenMs).toBeCloseTo(50 - 12.1)
    expect(s.reactionsMs.slice(0, 4).map((r) => Math.round(r * 10) / 10)).toEqual([0.4, 0.4, 0.1, 0.1])
  })

  it('agentcgroup on v1: a parked tenant gets a step only while the budget has room', () => {
    const {c, p} = make('v1', 'agentcgroup')
    c.onSignal({direction: 'up', kind: 'level', level: p.levels[2], notifiedMs: 0, usageBytes: p.levels[2]})
    p.calls.length = 0
    p.usages.parent = 895 * MiB
    p.usages['1'] = 300 * MiB
    c.onSignal({count: 1, kind: 'parked', notifiedMs: 1, tenant: 1})
    expect(p.calls).toEqual([])
    p.usages.parent = 850 * MiB
    c.onSignal({direction: 'down', kind: 'level', level: p.levels[1], notifiedMs: 2, usageBytes: 850 * MiB})
    expect(p.calls).toEqual(['max 1 308'])
  })

  it('agentcgroup on v2: memory.high at usage + step, freeze, and a re-check timer that ends the pressure', () => {
    const {c, p} = make('v2', 'agentcgroup')
    expect(p.levels.map((l) => l / MiB)).toEqual([900])
    p.calls.length = 0
    p.usages = {'1': 350 * MiB, '2': 340 * MiB, parent: 980 * MiB}
    c.onSignal({direction: 'up', kind: 'level', level: p.levels[0], notifiedMs: 0, usageBytes: 980 * MiB})
    expect(p.calls).toEqual(['high 1 358', 'high 2 348', 'freeze 1', 'freeze 2'])
    p.calls.length = 0
    p.usages.parent = 600 * MiB
    p.timers.shift()!()
    expect(p.calls).toEqual(['thaw 2', 'high 2 null', 'thaw 1', 'high 1 null'])
  })

  it('releases everything when every live tenant is held back (no one could end the pressure)', () => {
    const {c, p} = make('v1', 'agentcgroup')
    c.onSignal({direction: 'up', kind: 'level', level: p.levels[3], notifiedMs: 0, usageBytes: p.levels[3]})
    p.calls.length = 0
    p.dead.add(0)
    c.onSignal({kind: 'exit', notifiedMs: 5, tenant: 0})
    expect(p.calls).toEqual(['thaw 1', 'max 1 null', 'thaw 2', 'max 2 null'])
    expect(c.events.some((e) => e.kind === 'safety_lift')).toBe(true)
  })

  it('live tenants: a call that joins under pressure starts throttled; promotion releases it and disarms its fast path', () => {
    const p = new FakePlane('v1')
    const c = new Controller(p, [], 'agentcgroup', {...DEFAULT_POLICY_PARAMS, stepBytes: 8 * MiB})
    c.setup()
    const [, , throttle, freeze] = p.levels
    expect(p.fast.get(throttle)).toEqual([])
    const first = c.addTenant({highBytes: null, limitBytes: 0, name: 'a/tool-0', priority: 'high'})
    const second = c.addTenant({highBytes: null, limitBytes: 0, name: 'b/tool-0', priority: 'low'})
    expect([first, second]).toEqual([0, 1])
    expect(p.calls).toEqual(['low 0 1000', 'adj 1 500', 'okd 1 true', 'watch 1'])
    expect(p.fast.get(throttle)).toEqual([{kind: 'park', slackBytes: 8 * MiB, tenant: 1}])
    expect(p.fast.get(freeze)).toEqual([{kind: 'freeze', tenant: 1}])
    c.onSignal({direction: 'up', fastDoneMs: 1.5, kind: 'level', level: throttle, notifiedMs: 1, usageBytes: throttle})
    // a third call joins while the pressure lasts: parked at once, in JS
    p.calls.length = 0
    p.usages['2'] = 4 * MiB
    const third = c.addTenant({highBytes: null, limitBytes: 0, name: 'b/tool-1', priority: 'low'})
    expect(p.calls).toEqual(['adj 2 500', 'okd 2 true', 'watch 2', 'max 2 12'])
    expect(c.tenantState(third).throttled).toBe(true)
    // the first call ends: the second is promoted (released, no longer parked or armed)
    p.calls.length = 0
    p.now = 40
    p.usages.parent = throttle
    c.setPriority(second, 'high')
    p.dead.add(first)
    c.onSignal({kind: 'exit', notifiedMs: 40, tenant: first})
    expect(p.calls).toEqual(['max 1 null', 'okd 1 false', 'low 1 1000'])
    expect(p.fast.get(throttle)).toEqual([{kind: 'park', slackBytes: 8 * MiB, tenant: 2}])
    expect(c.tenantState(second).throttledMs).toBeCloseTo(40 - 1.5)
    expect(c.events.some((e) => e.kind === 'safety_lift')).toBe(false)
  })

  it("live runs on v1 freeze instead of parking (a real command's system calls would fail with ENOMEM at a limit)", () => {
    const p = new FakePlane('v1')
    const c = new Controller(p, [], 'agentcgroup', {...DEFAULT_POLICY_PARAMS, v1Throttle: 'freeze'})
    c.setup()
    const [, , throttle] = p.levels
    c.addTenant({highBytes: null, limitBytes: 0, name: 'a/tool-0', priority: 'high'})
    const low = c.addTenant({highBytes: null, limitBytes: 0, name: 'b/tool-0', priority: 'low'})
    expect(p.calls).toEqual(['low 0 1000', 'adj 1 500'])
    expect(p.fast.get(throttle)).toEqual([{kind: 'freeze', tenant: 1}])
    c.onSignal({direction: 'up', fastDoneMs: 2, kind: 'level', level: throttle, notifiedMs: 1.9, usageBytes: throttle})
    expect(c.tenantState(low)).toMatchObject({frozen: true, throttled: false})
    p.calls.length = 0
    const late = c.addTenant({highBytes: null, limitBytes: 0, name: 'c/tool-0', priority: 'low'})
    expect(p.calls).toEqual(['adj 2 500', `freeze ${late}`])
    p.calls.length = 0
    p.now = 30
    c.setPriority(low, 'high')
    expect(p.calls).toEqual([`thaw ${low}`, `low ${low} 1000`])
    expect(c.tenantState(low).frozenMs).toBeCloseTo(28)
    // below the mid level (still above resume): the frozen low runs until the next crossing
    const [resume, mid] = p.levels
    p.calls.length = 0
    p.usages.parent = mid - MiB
    c.onSignal({direction: 'down', kind: 'level', level: mid, notifiedMs: 40, usageBytes: mid - MiB})
    expect(p.calls).toEqual([`thaw ${late}`])
    expect(resume).toBeLessThan(mid)
    c.onSignal({direction: 'up', fastDoneMs: 50.1, kind: 'level', level: throttle, notifiedMs: 50, usageBytes: throttle})
    expect(c.tenantState(late).frozen).toBe(true)
  })

  it('a call frozen longer than the maximum hold runs again while the node is below the freeze level', () => {
    const p = new FakePlane('v1')
    const c = new Controller(p, [], 'agentcgroup', {...DEFAULT_POLICY_PARAMS, maxHoldMs: 15_000, v1Throttle: 'freeze'})
    c.setup()
    const [, , throttle, freeze] = p.levels
    c.addTenant({highBytes: null, limitBytes: 0, name: 'a/tool-0', priority: 'high'})
    const low = c.addTenant({highBytes: null, limitBytes: 0, name: 'b/tool-0', priority: 'low'})
    p.usages.parent = throttle + MiB
    c.onSignal({direction: 'up', fastDoneMs: 1, kind: 'level', level: throttle, notifiedMs: 1, usageBytes: throttle})
    expect(c.tenantState(low).frozen).toBe(true)
    expect(p.timers).toHaveLength(1)
    // the deadline passes while the node is above the freeze level: held, checked again later
    p.usages.parent = freeze + MiB
    p.timers.shift()!()
    expect(c.tenantState(low).frozen).toBe(true)
    expect(p.timers).toHaveLength(1)
    // below it: the call runs, until the next crossing of the freeze level freezes it again
    p.calls.length = 0
    p.usages.parent = freeze - MiB
    p.now = 15_001
    p.timers.shift()!()
    expect(p.calls).toEqual([`thaw ${low}`])
    expect(c.events.at(-1)).toMatchObject({detail: 'held 15 s: runs until the freeze level', kind: 'thaw', tenant: low})
    c.onSignal({direction: 'up', fastDoneMs: 20_000.1, kind: 'level', level: freeze, notifiedMs: 20_000, usageBytes: freeze})
    expect(c.tenantState(low).frozen).toBe(true)
    // that freeze has its own deadline; a deadline of an earlier freeze does nothing
    expect(p.timers).toHaveLength(1)
    p.calls.length = 0
    c.setPriority(low, 'high')
    p.timers.shift()!()
    expect(p.calls.filter((x) => x.startsWith('thaw'))).toEqual([`thaw ${low}`])
  })

  it('uses the kernel memory.high penalty formula', () => {
    expect(highPenaltyMs(400 * MiB, 400 * MiB, MiB)).toBe(0)
    // 2 % over: 0.02^2 * 64 s = 25.6 ms per 256 KiB batch; 8 MiB = 32 batches
    expect(highPenaltyMs(408 * MiB, 400 * MiB, 8 * MiB)).toBeCloseTo(819.2, 1)
    expect(highPenaltyMs(800 * MiB, 400 * MiB, 8 * MiB)).toBe(2000)
    // below 10 ms the kernel does not sleep
    expect(highPenaltyMs(401 * MiB, 400 * MiB, 4096)).toBe(0)
  })
})
