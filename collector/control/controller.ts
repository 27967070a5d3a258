/**
 * The resource controller: the four policies, as reactions to kernel notifications (never a
 * polling loop). One implementation for replays, simulations and live runs; it acts through a
 * ControlPlane (types.ts).
 *
 * - none: one shared limit (the backend sets the budget); the kernel picks OOM victims.
 * - static: each tenant's memory.max is its share.
 * - high: per-tenant memory.high. cgroup v1 has none; it is emulated, and reported as such, by
 *   parking the tenant at a limit (oom_kill_disable) and raising the limit step by step after
 *   the delay the v2 kernel would have imposed for that overage (penalty.ts).
 * - agentcgroup: priority-aware. When the budget nears its limit, low-priority tenants are
 *   throttled (v2 memory.high at their usage plus a step; v1 parked at that limit), then frozen
 *   until pressure passes; high priority is protected (memory.low, OOM score); a kill happens
 *   only at the hard safety limit (the budget's memory.max), where the kernel's victim choice is
 *   steered to low priority by oom_score_adj.
 */
import {highPenaltyMs} from './penalty.js'
import type {ControlEvent, ControlledTenant, ControlPlane, PolicyName, PolicyParams, Priority, Signal} from './types.js'

interface TenantState {
  throttled: boolean
  frozen: boolean
  frozenSinceMs: number
  frozenMs: number
  throttledSinceMs: number
  /** time spent throttled (parked or over memory.high), ms */
  throttledMs: number
  /** the limit we set (v1 park / high emulation, or v2 high), null = none */
  limit: number | null
  waiting: boolean
  /** kernel-reported throttle occurrences: v1 parks (oom_control eventfd count), v2 memory.events high */
  kernelThrottles: number
  throttleActions: number
  freezeActions: number
  exited: boolean
}

export interface ControllerSummary {
  throttleEvents: number
  freezeEvents: number
  reactionsMs: number[]
  fastReactionsMs: number[]
  perTenant: {kernelThrottles: number; throttleActions: number; freezeActions: number; frozenMs: number; throttledMs: number}[]
  events: ControlEvent[]
  /** 'emulated' when cgroup v1 stands in for memory.high */
  highMode: 'native' | 'emulated' | null
  mode: 'user-space'
}

export class Controller {
  readonly events: ControlEvent[] = []
  readonly reactionsMs: number[] = []
  /** the subset acted on by the notifier itself (the C fast path) */
  readonly fastReactionsMs: number[] = []
  private readonly st: TenantState[]
  private pressure = false
  private readonly levels: {throttle: number; freeze: number; resume: number}
  private recheckArmed = false

  private readonly tenants: ControlledTenant[]

  constructor(
    private readonly plane: ControlPlane,
    tenants: ControlledTenant[],
    readonly policy: PolicyName,
    private readonly params: PolicyParams,
  ) {
    this.tenants = [...tenants]
    this.st = tenants.map(() => newState())
    const total = plane.totalBytes
    this.liveCount = tenants.length
    this.levels = {freeze: Math.round(params.freezeAt * total), resume: Math.round(params.resumeAt * total), throttle: Math.round(params.throttleAt * total)}
  }

  private heldBack = 0
  private liveCount: number
  private started = false
  /** tenants join and leave (a live run): the fast path is re-armed as they do */
  private dynamic = false

  /** Low-priority tenants that have not exited: the ones pressure holds back. */
  private get lows(): ControlledTenant[] {
    return this.tenants.filter((t) => t.priority === 'low' && !this.st[t.index].exited)
  }

  /** The policy's initial settings and watches; call before the tenants allocate. */
  setup(): void {
    this.started = true
    for (const t of this.tenants) this.setupTenant(t)
    if (this.policy !== 'agentcgroup') return
    const p = this.plane
    const {throttle, freeze, resume} = this.levels
    const mid = Math.round((resume + throttle) / 2)
    p.watchLevels(p.flavor === 'v1' ? [resume, mid, throttle, freeze] : [throttle])
    this.armFastPath()
  }

  /** One tenant's settings under the policy (at setup, or when it joins later). */
  private setupTenant(t: ControlledTenant): void {
    const p = this.plane
    const s = this.st[t.index]
    switch (this.policy) {
      case 'none':
        return
      case 'static':
        p.setMax(t.index, t.limitBytes)
        s.limit = t.limitBytes
        return
      case 'high':
        if (t.highBytes === null) return
        if (p.flavor === 'v2') p.setHigh(t.index, t.highBytes)
        else {
          p.setOomKillDisable(t.index, true)
          p.setMax(t.index, t.highBytes)
        }
        s.limit = t.highBytes
        p.watchThrottle(t.index)
        return
      case 'agentcgroup':
        // raise low priority only: lowering needs CAP_SYS_RESOURCE, which root lacks in some containers
        if (t.priority === 'low') p.setOomScoreAdj(t.index, 500)
        if (t.priority === 'high') p.setLow(t.index, p.totalBytes)
        else if (!this.freezesToThrottle()) {
          if (p.flavor === 'v1') p.setOomKillDisable(t.index, true)
          p.watchThrottle(t.index)
        }
    }
  }

  /** v1 fast path: parked and frozen by the notifier itself, before JS hears of it. */
  private armFastPath(): void {
    if (this.policy !== 'agentcgroup' || this.plane.flavor !== 'v1') return
    const {throttle, freeze} = this.levels
    const lows = this.lows
    this.plane.armFast(throttle, lows.map((t) => (this.freezesToThrottle() ? {kind: 'freeze' as const, tenant: t.index} : {kind: 'park' as const, slackBytes: this.params.stepBytes, tenant: t.index})))
    this.plane.armFast(freeze, lows.map((t) => ({kind: 'freeze' as const, tenant: t.index})))
  }

  /** v1 with v1Throttle 'freeze': the throttle level freezes low tenants (see PolicyParams). */
  private freezesToThrottle(): boolean {
    return this.plane.flavor === 'v1' && this.params.v1Throttle === 'freeze'
  }

  /**
   * A tenant that joins a running controller (a live run's tool call). Its group must exist
   * and hold nothing yet that matters. Returns its index. Under pressure a low-priority
   * tenant is throttled at once: it starts held back.
   */
  addTenant(t: Omit<ControlledTenant, 'index'>): number {
    this.dynamic = true
    const index = this.tenants.length
    const tenant = {...t, index}
    this.tenants.push(tenant)
    this.st.push(newState())
    this.liveCount++
    if (!this.started) return index
    this.setupTenant(tenant)
    if (tenant.priority === 'low') {
      this.armFastPath()
      if (this.pressure && this.policy === 'agentcgroup') this.throttleNow(tenant, this.plane.nowMs())
    }
    return index
  }

  /**
   * Changes a live tenant's priority (a live run promotes the oldest running tool call).
   * Promotion releases what the tenant was held back by; demotion under pressure throttles it.
   */
  setPriority(i: number, priority: Priority): void {
    const t = this.tenants[i]
    if (t.priority === priority || this.st[i].exited) return
    t.priority = priority
    if (this.policy !== 'agentcgroup') return
    const p = this.plane
    if (priority === 'high') {
      this.release(i, p.nowMs(), 'promoted to high priority')
      if (p.flavor === 'v1' && !this.freezesToThrottle()) p.setOomKillDisable(i, false)
      p.setLow(i, p.totalBytes)
    } else {
      this.setupTenant(t)
      if (this.pressure) this.throttleNow(t, p.nowMs())
    }
    this.armFastPath()
  }

  /** Throttles one low tenant in JS (the fast path only covers tenants armed before a crossing). */
  private throttleNow(t: ControlledTenant, notifiedMs: number): void {
    const s = this.st[t.index]
    if (this.freezesToThrottle()) {
      if (!s.frozen && this.plane.alive(t.index)) this.freezeOne(t.index, true, 'frozen (joined under pressure)', notifiedMs, null)
      return
    }
    if (s.throttled || !this.plane.alive(t.index)) return
    const limit = this.plane.usage(t.index) + this.params.stepBytes
    if (this.plane.flavor === 'v2') this.plane.setHigh(t.index, limit)
    else this.plane.setMax(t.index, limit)
    s.throttled = true
    s.throttledSinceMs = this.plane.nowMs()
    s.limit = limit
    s.throttleActions++
    this.react(t.index, 'throttle', `${this.plane.flavor === 'v2' ? 'memory.high' : 'parked at'} ${mib(limit)} MiB (joined under pressure)`, notifiedMs, null)
  }

  /** A tenant's held-back times so far (frozen and throttled overlap: a frozen tenant stays throttled). */
  tenantState(i: number): {frozenMs: number; throttledMs: number; throttled: boolean; frozen: boolean; throttleActions: number; freezeActions: number} {
    const s = this.st[i]
    const now = this.plane.nowMs()
    const frozenMs = s.frozenMs + (s.frozen ? now - s.frozenSinceMs : 0)
    const throttledMs = s.throttledMs + (s.throttled ? now - s.throttledSinceMs : 0)
    return {freezeActions: s.freezeActions, frozen: s.frozen, frozenMs, throttleActions: s.throttleActions, throttled: s.throttled, throttledMs}
  }

  onSignal(sig: Signal): void {
    switch (sig.kind) {
      case 'level':
        this.onLevel(sig)
        break
      case 'parked':
        this.onParked(sig.tenant, sig.count, sig.notifiedMs)
        break
      case 'high':
        this.st[sig.tenant].kernelThrottles += sig.count
        this.log(sig.tenant, 'high', `memory.events high +${sig.count}`, null)
        break
      case 'exit':
        this.onExit(sig.tenant)
    }
  }

  private onLevel(sig: Extract<Signal, {kind: 'level'}>): void {
    if (this.policy !== 'agentcgroup') return
    this.log(null, sig.direction === 'up' ? 'level_up' : 'level_down', `${mib(sig.level)} MiB (usage ${mib(sig.usageBytes)} MiB)`, null)
    const {throttle, freeze, resume} = this.levels
    const fast = sig.fastDoneMs !== undefined ? sig.fastDoneMs - sig.notifiedMs : null
    if (sig.direction === 'up' && sig.level >= throttle) {
      if (!this.pressure) this.enterPressure(sig.notifiedMs, fast)
      // freeze mode: the notifier froze the lows again at this crossing (lows let run below)
      else if (this.freezesToThrottle() && sig.level === throttle) this.freezeLows(sig.notifiedMs, fast)
      if (sig.level >= freeze || (this.plane.flavor === 'v2' && this.plane.usage('parent') >= freeze)) this.freezeLows(sig.notifiedMs, fast)
      if (this.plane.flavor === 'v2') this.armRecheck()
      return
    }
    if (sig.direction === 'down') {
      if (sig.level <= resume) this.resume(sig.notifiedMs)
      else if (this.freezesToThrottle() && sig.level < throttle) this.letLowsRun(sig.notifiedMs)
      else this.retryWaiting(sig.notifiedMs)
    }
  }

  /**
   * Freeze mode, below the throttle level again (the mid level: hysteresis) while the agents'
   * own memory keeps the node above the resume level: frozen lows run until the next upward
   * crossing of the throttle level freezes them again, instead of waiting for every earlier
   * call to end.
   */
  private letLowsRun(notifiedMs: number): void {
    for (const t of this.lows) if (this.st[t.index].frozen && this.plane.alive(t.index)) this.thawOne(t.index, 'below the throttle level again', notifiedMs)
  }

  private enterPressure(notifiedMs: number, fastMs: number | null): void {
    this.pressure = true
    // the notifier froze them at this level already (fast path): record it
    if (this.freezesToThrottle()) return this.freezeLows(notifiedMs, fastMs)
    for (const t of this.lows) {
      const s = this.st[t.index]
      if (!this.plane.alive(t.index) || s.throttled) continue
      const limit = this.plane.usage(t.index) + this.params.stepBytes
      if (this.plane.flavor === 'v2') this.plane.setHigh(t.index, limit)
      // v1: the notifier parked it already (fast path); we record what it set
      s.throttled = true
      s.throttledSinceMs = fastMs !== null ? notifiedMs + fastMs : this.plane.nowMs()
      s.limit = this.plane.flavor === 'v1' ? null : limit
      s.throttleActions++
      this.react(t.index, 'throttle', this.plane.flavor === 'v1' ? 'parked at usage + step (fast path)' : `memory.high ${mib(limit)} MiB`, notifiedMs, fastMs)
    }
  }

  private freezeLows(notifiedMs: number, fastMs: number | null): void {
    for (const t of this.lows) {
      if (!this.plane.alive(t.index) || this.st[t.index].frozen) continue
      // v1: the notifier froze it already (fast path)
      const v2 = this.plane.flavor === 'v2'
      this.freezeOne(t.index, v2, v2 ? 'cgroup.freeze 1' : 'frozen (fast path)', notifiedMs, fastMs)
    }
  }

  /** Freezes one tenant (`write`: we freeze it; else the notifier did) and records it. */
  private freezeOne(i: number, write: boolean, detail: string, notifiedMs: number, fastMs: number | null): void {
    const s = this.st[i]
    if (write) this.plane.freeze(i)
    this.mark(i, {frozen: true})
    // on the fast path the helper froze it when it was notified, not when we heard of it
    s.frozenSinceMs = fastMs !== null ? notifiedMs + fastMs : this.plane.nowMs()
    s.freezeActions++
    this.react(i, 'freeze', detail, notifiedMs, fastMs)
    this.armMaxHold(i, s.freezeActions)
  }

  /**
   * The longest a low tenant stays frozen while the node is below the freeze level (see
   * PolicyParams.maxHoldMs): a deadline per freeze, checked again while the node is above it.
   */
  private armMaxHold(i: number, freeze: number): void {
    const hold = this.params.maxHoldMs
    if (hold === undefined) return
    const s = this.st[i]
    this.plane.timer(hold, () => {
      // thawed, promoted, gone or frozen again since: this deadline is over
      if (!s.frozen || s.exited || s.freezeActions !== freeze || this.tenants[i].priority !== 'low' || !this.plane.alive(i)) return
      if (this.plane.usage('parent') >= this.levels.freeze) return this.armMaxHold(i, freeze)
      this.thawOne(i, `held ${(hold / 1000).toFixed(0)} s: runs until the freeze level`, null)
    })
  }

  /** Thaws one frozen tenant and records it. */
  private thawOne(i: number, why: string, notifiedMs: number | null): void {
    const s = this.st[i]
    this.plane.thaw(i)
    this.mark(i, {frozen: false})
    s.frozenMs += this.plane.nowMs() - s.frozenSinceMs
    this.react(i, 'thaw', why, notifiedMs, null)
  }

  /** Pressure passed: thaw, then lift throttles, highest priority and smallest first. */
  private resume(notifiedMs: number): void {
    if (!this.pressure) return
    this.pressure = false
    const order = [...this.lows].sort((a, b) => this.plane.usage(a.index) - this.plane.usage(b.index))
    for (const t of order) this.release(t.index, notifiedMs, 'pressure passed')
  }

  private release(i: number, notifiedMs: number | null, why: string): void {
    const s = this.st[i]
    if (s.frozen) this.thawOne(i, why, notifiedMs)
    if (s.throttled) {
      if (this.plane.flavor === 'v2') this.plane.setHigh(i, null)
      else this.plane.setMax(i, null)
      s.throttled = false
      s.throttledMs += this.plane.nowMs() - s.throttledSinceMs
      this.mark(i, {waiting: false})
      s.limit = null
      this.react(i, 'unthrottle', why, notifiedMs, null)
    }
  }

  /** v1 parked tenants get another step when the budget has room below the throttle level. */
  private retryWaiting(notifiedMs: number): void {
    for (const t of this.lows) {
      const s = this.st[t.index]
      if (s.waiting && !s.frozen && this.plane.alive(t.index)) this.grantStep(t.index, notifiedMs)
    }
  }

  private grantStep(i: number, notifiedMs: number): void {
    const s = this.st[i]
    const usage = this.plane.usage(i)
    if (this.plane.usage('parent') + this.params.stepBytes > this.levels.throttle) {
      this.mark(i, {waiting: true})
      return
    }
    this.mark(i, {waiting: false})
    s.limit = usage + this.params.stepBytes
    this.plane.setMax(i, s.limit)
    this.react(i, 'limit_change', `step to ${mib(s.limit)} MiB`, notifiedMs, null)
  }

  private onParked(i: number, count: number, notifiedMs: number): void {
    const s = this.st[i]
    s.kernelThrottles += count
    this.log(i, 'parked', `oom_control +${count}`, null)
    if (this.policy === 'high') {
      const t = this.tenants[i]
      const high = t.highBytes ?? Infinity
      const current = s.limit ?? this.plane.usage(i)
      const next = current + this.params.stepBytes
      // the delay the v2 kernel would impose for this overage, then one more step
      const delay = highPenaltyMs(next, high, this.params.stepBytes)
      const raise = (): void => {
        if (!this.plane.alive(i)) return
        s.limit = next
        this.plane.setMax(i, next)
        // the delay is the emulated throttle, not reaction time: only an immediate raise is a reaction
        this.react(i, 'limit_change', `emulated memory.high: +${mib(this.params.stepBytes)} MiB after ${delay.toFixed(1)} ms`, delay > 0 ? null : notifiedMs, null)
      }
      if (delay > 0) this.plane.timer(delay, raise)
      else raise()
      return
    }
    if (this.policy !== 'agentcgroup') return
    if (!s.throttled) {
      // parked without pressure (a race with resume): lift it
      this.plane.setMax(i, null)
      return
    }
    if (!s.frozen) this.grantStep(i, notifiedMs)
  }

  private onExit(i: number): void {
    const s = this.st[i]
    if (s.exited) return
    if (s.frozen) s.frozenMs += this.plane.nowMs() - s.frozenSinceMs
    if (s.throttled) s.throttledMs += this.plane.nowMs() - s.throttledSinceMs
    s.throttled = false
    this.mark(i, {frozen: false, waiting: false})
    s.exited = true
    this.liveCount--
    if (this.dynamic && this.tenants[i].priority === 'low') this.armFastPath()
    if (this.policy !== 'agentcgroup' || !this.pressure) return
    // nothing left that could end the pressure: every live tenant is held back by us
    if (this.liveCount > 0 && this.heldBack === this.liveCount) {
      this.pressure = false
      for (const t of this.tenants) if (this.plane.alive(t.index)) this.release(t.index, null, 'no running tenant left')
      this.log(null, 'safety_lift', 'every live tenant was held back: released', null)
    } else if (this.plane.usage('parent') < this.levels.resume) this.resume(this.plane.nowMs())
    else this.retryWaiting(this.plane.nowMs())
  }

  /** Sets frozen/waiting and keeps the count of live tenants we hold back (frozen or waiting). */
  private mark(i: number, change: {frozen?: boolean; waiting?: boolean}): void {
    const s = this.st[i]
    const before = !s.exited && (s.frozen || s.waiting)
    if (change.frozen !== undefined) s.frozen = change.frozen
    if (change.waiting !== undefined) s.waiting = change.waiting
    const after = !s.exited && (s.frozen || s.waiting)
    this.heldBack += Number(after) - Number(before)
  }

  /** v2 has no falling-edge notification: while in pressure, re-check on a short timer. */
  private armRecheck(): void {
    if (this.recheckArmed) return
    this.recheckArmed = true
    this.plane.timer(this.params.recheckMs, () => {
      this.recheckArmed = false
      if (!this.pressure) return
      const u = this.plane.usage('parent')
      if (u < this.levels.resume) this.resume(this.plane.nowMs())
      else {
        if (u >= this.levels.freeze) this.freezeLows(this.plane.nowMs(), null)
        this.armRecheck()
      }
    })
  }

  /** Thaws what is frozen (always, also on errors) and returns the summary. */
  finish(): ControllerSummary {
    for (const [i, s] of this.st.entries()) {
      if (!s.frozen) continue
      try {
        this.plane.thaw(i)
      } catch {
        // removal thaws too
      }
      s.frozen = false
      s.frozenMs += this.plane.nowMs() - s.frozenSinceMs
    }
    return {
      events: this.events,
      freezeEvents: this.st.reduce((a, s) => a + s.freezeActions, 0),
      highMode: this.policy === 'high' ? (this.plane.flavor === 'v2' ? 'native' : 'emulated') : null,
      mode: 'user-space',
      perTenant: this.st.map((s) => ({freezeActions: s.freezeActions, frozenMs: s.frozenMs, kernelThrottles: s.kernelThrottles, throttleActions: s.throttleActions, throttledMs: s.throttledMs})),
      reactionsMs: this.reactionsMs,
      fastReactionsMs: this.fastReactionsMs,
      throttleEvents: this.st.reduce((a, s) => a + s.kernelThrottles + s.throttleActions, 0),
    }
  }

  private react(tenant: number | null, kind: ControlEvent['kind'], detail: string, notifiedMs: number | null, fastMs: number | null): void {
    const reaction = fastMs ?? (notifiedMs === null ? null : this.plane.nowMs() - notifiedMs)
    if (reaction !== null) this.reactionsMs.push(reaction)
    if (fastMs !== null) this.fastReactionsMs.push(fastMs)
    this.log(tenant, kind, detail, reaction)
  }

  private log(tenant: number | null, kind: ControlEvent['kind'], detail: string, reactionMs: number | null): void {
    this.events.push({detail, kind, reactionMs, tMs: this.plane.nowMs(), tenant})
  }
}

function newState(): TenantState {
  return {exited: false, frozen: false, frozenMs: 0, frozenSinceMs: 0, freezeActions: 0, kernelThrottles: 0, limit: null, throttleActions: 0, throttled: false, throttledMs: 0, throttledSinceMs: 0, waiting: false}
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}
