/**
 * The resource controller's view of a machine: a budget (parent cgroup) holding tenants, each
 * a cgroup with a priority. The real cgroup backends and the simulator both implement
 * `ControlPlane`, so one controller (controller.ts) drives replays, simulations and live runs.
 *
 * Flavors follow the kernel interface: 'v1' (limit_in_bytes, oom_kill_disable parking, usage
 * threshold eventfds that fire in both directions, freezer) and 'v2' (memory.max/high/low,
 * memory.events, PSI, cgroup.freeze). Sizes are bytes, times milliseconds.
 */

export type Flavor = 'v1' | 'v2'
export type Priority = 'high' | 'low'
export type PolicyName = 'none' | 'static' | 'high' | 'agentcgroup'
export const POLICIES: readonly PolicyName[] = ['none', 'static', 'high', 'agentcgroup']

export interface ControlledTenant {
  index: number
  name: string
  priority: Priority
  /** static policy: this tenant's memory.max (its share of the total unless the scenario says) */
  limitBytes: number
  /** high policy: this tenant's memory.high; null = max (unthrottled) */
  highBytes: number | null
}

export interface PolicyParams {
  /** agentcgroup: fraction of the total at which low-priority tenants are throttled */
  throttleAt: number
  /** agentcgroup: fraction at which throttled low-priority tenants are frozen */
  freezeAt: number
  /** agentcgroup: fraction below which pressure has passed (thaw, unthrottle) */
  resumeAt: number
  /** headroom a throttled tenant gets, and the step of the v1 memory.high emulation */
  stepBytes: number
  /** v2: while in pressure, re-check usage this often (v2 has no falling-edge notification) */
  recheckMs: number
  /**
   * agentcgroup on cgroup v1, at the throttle level: 'park' low tenants at their usage + a step
   * (limit with oom_kill_disable: only page faults wait there, so it suits the replayer's
   * tenants, which only fault), or 'freeze' them. Real commands also charge memory in system
   * calls (fork, page cache), which fail with ENOMEM at a v1 limit instead of waiting: live runs
   * freeze. (Undefined: park.)
   */
  v1Throttle?: 'park' | 'freeze'
  /**
   * agentcgroup: a low tenant frozen this long runs again while the node is below the freeze
   * level (the next crossing of it freezes it again), instead of waiting for pressure to pass:
   * a long high-priority call that holds its memory but no longer grows would otherwise hold
   * every later call until it ends. (Undefined: held until pressure passes.)
   */
  maxHoldMs?: number
}

export const DEFAULT_POLICY_PARAMS: PolicyParams = {
  freezeAt: 0.96,
  recheckMs: 5,
  resumeAt: 0.8,
  stepBytes: 8 * 1024 * 1024,
  throttleAt: 0.9,
}

/** A write the plane performs itself the moment a notification arrives (no round trip to JS). */
export type FastAction =
  | {kind: 'park'; tenant: number; slackBytes: number}
  | {kind: 'freeze'; tenant: number}

export type Signal =
  /** the parent's usage crossed a watched level (v1 threshold eventfd; v2 memory.events high of a sentinel) */
  | {kind: 'level'; level: number; direction: 'up' | 'down'; usageBytes: number; notifiedMs: number; fastDoneMs?: number}
  /** v1: a tenant with oom_kill_disable hit its limit and is parked (oom_control eventfd) */
  | {kind: 'parked'; tenant: number; count: number; notifiedMs: number}
  /** v2: a tenant's memory.events high counter rose */
  | {kind: 'high'; tenant: number; count: number; notifiedMs: number}
  /** a tenant process ended (done, OOM-killed, crashed) */
  | {kind: 'exit'; tenant: number; notifiedMs: number}

export interface ControlPlane {
  readonly flavor: Flavor
  readonly totalBytes: number
  nowMs(): number
  /** bytes charged to a tenant's cgroup, or to the budget (parent) */
  usage(target: number | 'parent'): number
  /** memory.max / limit_in_bytes; null = unlimited */
  setMax(tenant: number, bytes: number | null): void
  /** v2 memory.high (null = max); the v1 plane throws */
  setHigh(tenant: number, bytes: number | null): void
  /** v2 memory.low, v1 soft_limit_in_bytes */
  setLow(tenant: number, bytes: number): void
  /** v1: park instead of OOM-kill at the tenant's own limit */
  setOomKillDisable(tenant: number, disable: boolean): void
  /** the kernel's OOM victim choice among tenants (-1000..1000) */
  setOomScoreAdj(tenant: number, adj: number): void
  freeze(tenant: number): void
  thaw(tenant: number): void
  /** notifications on the parent's usage crossing each level (both directions on v1, upward on v2) */
  watchLevels(levelsBytes: number[]): void
  /** v1: parked notifications for a tenant (oom_control); v2: memory.events high for a tenant */
  watchThrottle(tenant: number): void
  /** actions performed on an upward crossing of a level, before the controller hears of it */
  armFast(levelBytes: number, actions: FastAction[]): void
  /** a one-shot timer (v2 re-check while in pressure; the v1 memory.high emulation's delays) */
  timer(ms: number, fn: () => void): void
  /** live tenants (not exited) */
  alive(tenant: number): boolean
}

/** What the controller did, for replay_events and the metrics. */
export interface ControlEvent {
  tMs: number
  tenant: number | null
  kind: 'throttle' | 'unthrottle' | 'freeze' | 'thaw' | 'limit_change' | 'parked' | 'high' | 'level_up' | 'level_down' | 'safety_lift'
  detail: string
  /** notification to action done, ms (null when the event is not a reaction) */
  reactionMs: number | null
}
