/**
 * What one run of one policy produces, on any backend: per tenant every step (target,
 * achieved, due, start, end), how it ended, the kernel's own counters, and the controller's
 * actions. metrics.ts turns this into the figures; store.ts writes it.
 * Times are milliseconds from the replay clock's start (t0), sizes bytes.
 */
import type {ControllerSummary} from '../collector/control/controller.js'
import type {Flavor, PolicyName, Priority} from '../collector/control/types.js'

export interface StepRecord {
  step: number
  targetBytes: number
  achievedBytes: number
  schedMs: number
  startMs: number
  endMs: number
  /** anonymous RSS the tenant read after the step (0: not read) */
  rssBytes: number
  /** the growth ran into a cgroup limit, the tenant's or the budget's (the kernel's limit-hit
   * counter rose, or the limit refused it): it waited in the kernel (reclaim, parking under
   * oom_kill_disable, the OOM killer), not on the machine; absent: no */
  limitHit?: boolean
}

export type TenantEnd = 'done' | 'oom_killed' | 'killed' | 'crashed' | 'timeout'

export interface KernelCounters {
  /** the tenant cgroup's oom_kill counter (v1 oom_control, v2 memory.events) */
  oomKills: number
  /** v1 memory.failcnt, v2 memory.events max */
  limitHits: number
  /** v2 memory.events high (0 on v1) */
  high: number
  /** v1 max_usage_in_bytes, v2 memory.peak (null if absent) */
  peakBytes: number | null
}

export interface TenantRun {
  index: number
  name: string
  priority: Priority
  trace: string
  end: TenantEnd
  /** OOM kills of this tenant's processes as we saw them (a SIGKILL the kernel counted) */
  oomKills: number
  /** last step's end (the replay loop), null if it did not finish */
  completionMs: number | null
  /** the trace's length at this speed (the completion time with no lateness) */
  expectedMs: number
  steps: StepRecord[]
  kernel: KernelCounters
  frozenMs: number
  throttleEvents: number
  freezeEvents: number
  /** static policy: the limit it was given (for waste) */
  limitBytes: number | null
}

export interface AllocRate {
  /** MiB/s: plain memset on a fresh mmap, 4 KiB pages */
  memsetFreshMiBs: number
  /** MiB/s: the tenant's own path (populate), 4 KiB pages, fresh */
  fresh4kMiBs: number
  /** MiB/s: huge pages, first pass over fresh memory */
  hugeFirstMiBs: number
  /** MiB/s: huge pages, a second pass right after (memory the VM still backs) */
  hugeWarmMiBs: number
}

export interface ArmRun {
  policy: PolicyName
  backend: 'cgroup-v1' | 'cgroup-v2' | 'sim'
  flavor: Flavor
  startedAtUs: number
  endedAtUs: number
  tenants: TenantRun[]
  controller: ControllerSummary
  /** the budget's own counters (hierarchical) */
  budgetOomKills: number
  budgetPeakBytes: number | null
  notes: string[]
}
