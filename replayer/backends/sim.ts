/**
 * The simulator: a deterministic discrete-event model of the same kernel and tenants, driven
 * by the same controller. No root, any scale (10,000 tenants in seconds).
 *
 * Modelled: tenants follow their schedules (a late step starts when the previous one ends,
 * none is skipped); growth faults in at the machine's rate, shared when more tenants than
 * cores allocate, in chunks charged one after another; limits per tenant and on the budget;
 * at a limit, v1 oom_kill_disable parks the tenant, otherwise the OOM killer picks the live
 * task of the limited group with the most memory plus oom_score_adj * limit / 1000 (ties: the
 * later group, as the kernel's scan does); v2 memory.high sleeps the allocator by the kernel's
 * penalty formula; freezing stops a tenant where it is. Notifications arrive after the
 * latencies measured on real kernels (kernel-facts.md), the fast path acts at delivery, and
 * every controller action costs its measured write time.
 */
import {Controller} from '../../collector/control/controller.js'
import {highPenaltyMs} from '../../collector/control/penalty.js'
import type {ControlledTenant, ControlPlane, FastAction, Flavor, PolicyName, Signal} from '../../collector/control/types.js'
import type {ReplayPlan, TenantPlan} from '../plan.js'
import type {ArmRun, StepRecord, TenantEnd, TenantRun} from '../results.js'
import {EventHeap, MaxTree} from './heap.js'

const MiB = 2 ** 20

export interface SimOptions {
  flavor: Flavor
  /** MiB/s one tenant faults in (the machine's measured rate for the replay's page kind) */
  allocMiBs: number
  /** MiB/s of MADV_DONTNEED */
  freeMiBs: number
  ncpu: number
  /** charged per tenant besides its trace (binary, page tables) */
  overheadBytes: number
  /** bytes charged per simulated allocation step at most */
  chunkBytes: number
  latencyMs: {threshold: number; oomControl: number; events: number; limitWrite: number; freeze: number}
}

/** Latencies measured on this kind of machine (kernel-facts.md, p50). */
export const DEFAULT_SIM_OPTIONS: SimOptions = {
  allocMiBs: 14_000,
  chunkBytes: 16 * MiB,
  flavor: 'v1',
  freeMiBs: 350_000,
  latencyMs: {events: 0.76, freeze: 0.05, limitWrite: 0.25, oomControl: 0.5, threshold: 0.76},
  ncpu: 2,
  overheadBytes: 1 * MiB,
}

type Ev =
  | {kind: 'due'; i: number}
  | {kind: 'chunk'; i: number}
  | {kind: 'done'; i: number}
  | {kind: 'notify'; sig: Signal; fast: FastAction[]}
  | {kind: 'timer'; fn: () => void}

interface SimTenant {
  plan: TenantPlan
  held: number
  alive: boolean
  end: TenantEnd | null
  max: number | null
  high: number | null
  oomKillDisable: boolean
  adj: number
  frozen: boolean
  frozenAtMs: number
  deferred: Ev[]
  next: number
  op: {step: number; target: number; startMs: number} | null
  growing: boolean
  parked: boolean
  steps: StepRecord[]
  completionMs: number | null
  oomKills: number
  limitHits: number
  highCount: number
  peak: number
}

export function simulate(plan: ReplayPlan, policy: PolicyName, opts: Partial<SimOptions> = {}): ArmRun {
  return new Sim(plan, policy, {...DEFAULT_SIM_OPTIONS, ...opts, latencyMs: {...DEFAULT_SIM_OPTIONS.latencyMs, ...opts.latencyMs}}).run()
}

class Sim implements ControlPlane {
  readonly flavor: Flavor
  readonly totalBytes: number
  private now = 0
  private clock = 0
  private readonly heap = new EventHeap<Ev>()
  private readonly t: SimTenant[]
  private usageSum = 0
  private budgetPeak = 0
  private budgetOomKills = 0
  private levels: number[] = []
  private readonly fast = new Map<number, FastAction[]>()
  private readonly throttleWatched = new Set<number>()
  private growingCount = 0
  private readonly controller: Controller
  private readonly bytesPerMs: number
  private readonly freePerMs: number
  /** OOM badness per tenant: memory + oom_score_adj * limit / 1000 (-Infinity once gone) */
  private readonly badness: MaxTree

  constructor(
    private readonly plan: ReplayPlan,
    readonly policy: PolicyName,
    private readonly o: SimOptions,
  ) {
    this.flavor = o.flavor
    this.totalBytes = plan.scenario.totalBytes
    this.bytesPerMs = (o.allocMiBs * MiB) / 1000
    this.freePerMs = (o.freeMiBs * MiB) / 1000
    this.t = plan.tenants.map((p) => ({
      adj: 0, alive: true, completionMs: null, deferred: [], end: null, frozen: false, frozenAtMs: 0, growing: false, held: 0, high: null,
      highCount: 0, limitHits: 0, max: null, next: 0, oomKillDisable: false, oomKills: 0, op: null, parked: false, peak: 0, plan: p, steps: [],
    }))
    this.badness = new MaxTree(plan.tenants.length)
    const tenants: ControlledTenant[] = plan.tenants.map((p) => ({highBytes: p.highBytes, index: p.index, limitBytes: p.limitBytes, name: p.name, priority: p.priority}))
    this.controller = new Controller(this, tenants, policy, plan.scenario.params)
  }

  run(): ArmRun {
    const startedAtUs = Date.now() * 1000
    this.controller.setup()
    // the runner's warm-up: each tenant touches its first target before the clock starts
    for (const s of this.t) {
      this.usageSum += this.o.overheadBytes
      s.op = {startMs: 0, step: 0, target: s.plan.targets[0]}
      this.setGrowing(s, true)
      this.charge(s, s.plan.targets[0])
      if (!s.alive) continue
      if (!s.parked) {
        this.setGrowing(s, false)
        s.op = null
      }
      this.heap.push(s.plan.offsetsMs[0], {i: s.plan.index, kind: 'due'})
    }
    let guard = 0
    for (let e = this.heap.pop(); e; e = this.heap.pop()) {
      this.now = e.t
      this.clock = e.t
      this.handle(e.v)
      if (++guard > 50_000_000) throw new Error('simulation did not converge (50M events)')
    }
    const summary = this.controller.finish()
    const tenants: TenantRun[] = this.t.map((s, i) => ({
      completionMs: s.completionMs,
      end: s.end ?? 'timeout',
      expectedMs: s.plan.expectedMs,
      freezeEvents: summary.perTenant[i].freezeActions,
      frozenMs: summary.perTenant[i].frozenMs,
      index: i,
      kernel: {high: s.highCount, limitHits: s.limitHits, oomKills: s.oomKills, peakBytes: s.peak},
      limitBytes: this.policy === 'static' ? s.plan.limitBytes : null,
      name: s.plan.name,
      oomKills: s.oomKills,
      priority: s.plan.priority,
      steps: s.steps,
      throttleEvents: summary.perTenant[i].kernelThrottles + summary.perTenant[i].throttleActions,
      trace: s.plan.trace,
    }))
    return {
      backend: 'sim', budgetOomKills: this.budgetOomKills, budgetPeakBytes: this.budgetPeak, controller: summary, endedAtUs: Date.now() * 1000,
      flavor: this.flavor, notes: [`simulated ${this.flavor} kernel at ${this.o.allocMiBs.toFixed(0)} MiB/s per tenant`], policy: this.policy, startedAtUs, tenants,
    }
  }

  private handle(ev: Ev): void {
    if (ev.kind === 'notify') return this.deliver(ev.sig, ev.fast)
    if (ev.kind === 'timer') return ev.fn()
    const s = this.t[ev.i]
    if (!s.alive) return
    if (s.frozen) {
      s.deferred.push(ev)
      return
    }
    if (ev.kind === 'due') {
      // busy (parked, or still on the previous step): the step starts when that one ends
      if (s.op === null) this.startStep(s)
    }
    else if (ev.kind === 'chunk') this.chunk(s)
    else this.finishStep(s)
  }

  private startStep(s: SimTenant): void {
    const k = s.next
    const target = s.plan.targets[k]
    s.op = {startMs: this.now, step: k, target}
    if (target <= s.held) {
      const freed = s.held - target
      this.setHeld(s, target)
      this.heap.push(this.now + freed / this.freePerMs, {i: s.plan.index, kind: 'done'})
      return
    }
    this.setGrowing(s, true)
    this.chunk(s)
  }

  private chunk(s: SimTenant): void {
    const op = s.op!
    const need = op.target - s.held
    if (need <= 0) {
      this.setGrowing(s, false)
      this.heap.push(this.now, {i: s.plan.index, kind: 'done'})
      return
    }
    const c = Math.min(need, this.o.chunkBytes)
    const got = this.charge(s, c)
    if (!s.alive || s.parked) return
    const rate = this.bytesPerMs * Math.min(1, this.o.ncpu / Math.max(1, this.growingCount))
    let dur = got / rate
    if (this.flavor === 'v2' && s.high !== null && s.held > s.high) {
      s.highCount++
      dur += highPenaltyMs(s.held, s.high, got)
      if (this.throttleWatched.has(s.plan.index)) this.notifyAfter(this.o.latencyMs.events, {count: 1, kind: 'high', notifiedMs: 0, tenant: s.plan.index}, [])
    }
    this.heap.push(this.now + dur, {i: s.plan.index, kind: 'chunk'})
  }

  /** Charges c bytes to s, through its own limit and the budget's; returns what was charged. */
  private charge(s: SimTenant, c: number): number {
    for (;;) {
      const own = this.usage(s.plan.index)
      if (s.max !== null && own + c > s.max) {
        s.limitHits++
        const room = Math.max(0, s.max - own)
        if (this.flavor === 'v1' && s.oomKillDisable) {
          if (room > 0) this.setHeld(s, s.held + room)
          this.park(s)
          return room
        }
        this.kill(s)
        return 0
      }
      if (this.usageSum + c > this.totalBytes) {
        const victim = this.victim()
        if (!victim) return 0
        this.budgetOomKills++
        this.kill(victim)
        if (victim === s) return 0
        continue
      }
      this.setHeld(s, s.held + c)
      return c
    }
  }

  private park(s: SimTenant): void {
    if (s.parked) return
    s.parked = true
    this.setGrowing(s, false)
    if (this.throttleWatched.has(s.plan.index)) this.notifyAfter(this.o.latencyMs.oomControl, {count: 1, kind: 'parked', notifiedMs: 0, tenant: s.plan.index}, [])
  }

  private victim(): SimTenant | null {
    const i = this.badness.argmax()
    return i < 0 ? null : this.t[i]
  }

  private rescore(s: SimTenant): void {
    this.badness.set(s.plan.index, s.alive ? this.usage(s.plan.index) + (s.adj * this.totalBytes) / 1000 : -Infinity)
  }

  private kill(s: SimTenant): void {
    s.alive = false
    s.end = 'oom_killed'
    s.oomKills++
    this.setGrowing(s, false)
    s.parked = false
    this.usageSum -= this.o.overheadBytes
    this.setHeld(s, 0)
    this.notifyAfter(0, {kind: 'exit', notifiedMs: 0, tenant: s.plan.index}, [])
  }

  private finishStep(s: SimTenant): void {
    const op = s.op!
    this.setGrowing(s, false)
    s.steps.push({achievedBytes: s.held, endMs: this.now, rssBytes: 0, schedMs: s.plan.offsetsMs[op.step], startMs: op.startMs, step: op.step, targetBytes: op.target})
    s.op = null
    s.next++
    if (s.next >= s.plan.targets.length) {
      s.alive = false
      s.end = 'done'
      s.completionMs = this.now
      this.usageSum -= this.o.overheadBytes
      this.setHeld(s, 0)
      this.notifyAfter(0, {kind: 'exit', notifiedMs: 0, tenant: s.plan.index}, [])
      return
    }
    this.heap.push(Math.max(this.now, s.plan.offsetsMs[s.next]), {i: s.plan.index, kind: 'due'})
  }

  private setGrowing(s: SimTenant, on: boolean): void {
    if (s.growing === on) return
    s.growing = on
    this.growingCount += on ? 1 : -1
  }

  private setHeld(s: SimTenant, bytes: number): void {
    const prev = this.usageSum
    this.usageSum += bytes - s.held
    s.held = bytes
    this.rescore(s)
    s.peak = Math.max(s.peak, this.usage(s.plan.index))
    this.budgetPeak = Math.max(this.budgetPeak, this.usageSum)
    this.crossings(prev, this.usageSum)
  }

  private crossings(prev: number, cur: number): void {
    for (const l of this.levels) {
      if (prev < l && cur >= l) {
        const delay = this.flavor === 'v1' ? this.o.latencyMs.threshold : this.o.latencyMs.events
        this.notifyAfter(delay, {direction: 'up', kind: 'level', level: l, notifiedMs: 0, usageBytes: cur}, this.fast.get(l) ?? [])
      } else if (this.flavor === 'v1' && prev >= l && cur < l) {
        this.notifyAfter(this.o.latencyMs.threshold, {direction: 'down', kind: 'level', level: l, notifiedMs: 0, usageBytes: cur}, [])
      }
    }
  }

  private notifyAfter(ms: number, sig: Signal, fast: FastAction[]): void {
    this.heap.push(this.now + ms, {fast, kind: 'notify', sig})
  }

  private deliver(sig: Signal, fast: FastAction[]): void {
    const notifiedMs = this.now
    let fastDoneMs: number | undefined
    if (fast.length > 0) {
      for (const a of fast) {
        const s = this.t[a.tenant]
        if (!s.alive) continue
        if (a.kind === 'park') this.setMax(a.tenant, this.usage(a.tenant) + a.slackBytes)
        else this.freeze(a.tenant)
      }
      fastDoneMs = this.clock
    }
    const withTime = {...sig, notifiedMs} as Signal
    if (withTime.kind === 'level') withTime.fastDoneMs = fastDoneMs
    if (withTime.kind === 'level') withTime.usageBytes = this.usageSum
    this.controller.onSignal(withTime)
  }

  // ---- ControlPlane ------------------------------------------------------------------

  nowMs(): number {
    return this.clock
  }

  usage(target: number | 'parent'): number {
    if (target === 'parent') return this.usageSum
    const s = this.t[target]
    return s.alive ? s.held + this.o.overheadBytes : 0
  }

  setMax(i: number, bytes: number | null): void {
    this.clock += this.o.latencyMs.limitWrite
    const s = this.t[i]
    s.max = bytes
    if (s.parked && s.alive && (bytes === null || bytes > this.usage(i))) {
      s.parked = false
      this.setGrowing(s, true)
      this.heap.push(this.clock, {i, kind: 'chunk'})
    }
  }

  setHigh(i: number, bytes: number | null): void {
    if (this.flavor !== 'v2') throw new Error('memory.high needs cgroup v2')
    this.clock += this.o.latencyMs.limitWrite
    this.t[i].high = bytes
  }

  setLow(): void {
    this.clock += this.o.latencyMs.limitWrite
  }

  setOomKillDisable(i: number, disable: boolean): void {
    if (this.flavor !== 'v1') throw new Error('oom_kill_disable is cgroup v1 only')
    this.t[i].oomKillDisable = disable
  }

  setOomScoreAdj(i: number, adj: number): void {
    this.t[i].adj = adj
    this.rescore(this.t[i])
  }

  freeze(i: number): void {
    this.clock += this.o.latencyMs.freeze
    const s = this.t[i]
    if (s.frozen || !s.alive) return
    s.frozen = true
    s.frozenAtMs = this.clock
    if (s.growing) this.setGrowing(s, false)
  }

  thaw(i: number): void {
    this.clock += this.o.latencyMs.freeze
    const s = this.t[i]
    if (!s.frozen) return
    s.frozen = false
    if (s.op && !s.parked && s.op.target > s.held) this.setGrowing(s, true)
    // what was due while frozen happens now, shifted by the frozen time
    for (const ev of s.deferred.splice(0)) this.heap.push(this.clock, ev)
  }

  watchLevels(levels: number[]): void {
    this.levels = [...levels].sort((a, b) => a - b)
  }

  watchThrottle(i: number): void {
    this.throttleWatched.add(i)
  }

  armFast(level: number, actions: FastAction[]): void {
    this.fast.set(level, actions)
  }

  timer(ms: number, fn: () => void): void {
    this.heap.push(this.clock + ms, {fn, kind: 'timer'})
  }

  alive(i: number): boolean {
    return this.t[i].alive
  }
}
