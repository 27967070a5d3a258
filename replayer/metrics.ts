/**
 * Figures of one replayed policy: survival, OOM kills, completion time against the trace's
 * time / speed, allocation-step latency (grow steps, as the paper measured them), step lag
 * (start minus due), replay fidelity, controller reaction, memory utilisation and waste; and
 * for repeats, mean and 95 % confidence intervals (Student t).
 */
import type {ArmRun, StepRecord, TenantRun} from './results.js'

export interface TenantMetrics {
  name: string
  priority: 'high' | 'low'
  trace: string
  survived: boolean
  end: string
  oom_kills: number
  completion_s: number | null
  expected_s: number
  alloc_p50_ms: number | null
  alloc_p95_ms: number | null
  alloc_p99_ms: number | null
  alloc_steps: number
  lag_p50_ms: number | null
  lag_p99_ms: number | null
  /** step lag minus the time the tenant was held back by the policy or a cgroup limit
   * (frozen, parked, or waiting in the kernel at a limit): the machine's own lateness */
  machine_lag_p99_ms: number | null
  /** % of the replay's time the tenant held within 5 % of the trace's target */
  fidelity_pct: number | null
  /** % of steps that reached within 5 % of target before the next step was due */
  steps_on_target_pct: number | null
  frozen_ms: number
  throttle_events: number
  freeze_events: number
  peak_mib: number | null
  kernel_oom_kills: number
}

export interface ArmMetrics {
  policy: string
  tenants: TenantMetrics[]
  survivors: number
  oom_kills: number
  throttle_events: number
  freeze_events: number
  reaction_p50_ms: number | null
  reaction_p99_ms: number | null
  /** the throttles and freezes the notifier did itself (C fast path) */
  reaction_fast_p99_ms: number | null
  reactions: number
  /** mean over the run of Σ tenants' memory / total */
  utilisation_pct: number | null
  /** static: limits handed out but not used, % of the limits (time-averaged) */
  waste_pct: number | null
  fidelity_pct: number | null
  lag_p99_ms: number | null
  /** over every step of every tenant: lag not caused by the policy or a cgroup limit (what a
   * loaded or slow machine adds; a faithful replay keeps it < 50 ms) */
  machine_lag_p99_ms: number | null
  high_mode: 'native' | 'emulated' | null
}

/** Nearest-rank percentile (p in 0..100); null for no data. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)))
  return s[rank - 1]
}

export function growLatenciesMs(steps: StepRecord[]): number[] {
  const out: number[] = []
  for (let i = 1; i < steps.length; i++) if (steps[i].targetBytes > steps[i - 1].targetBytes) out.push(steps[i].endMs - steps[i].startMs)
  return out
}

/** Time-weighted share of [first due, last due] in which held memory is within tol of the target. */
export function fidelityPct(steps: StepRecord[], tol = 0.05, untilMs?: number): number | null {
  if (steps.length < 2) return null
  const t0 = steps[0].schedMs
  const t1 = untilMs ?? steps[steps.length - 1].schedMs
  if (t1 <= t0) return null
  // breakpoints: targets change at due times, held memory at step ends
  const marks: {t: number; target?: number; held?: number}[] = []
  for (const s of steps) {
    marks.push({t: s.schedMs, target: s.targetBytes})
    marks.push({held: s.achievedBytes, t: s.endMs})
  }
  marks.sort((a, b) => a.t - b.t || (a.held !== undefined ? -1 : 1))
  let target = steps[0].targetBytes
  let held = steps[0].achievedBytes
  let prev = t0
  let ok = 0
  for (const m of marks) {
    const t = Math.min(Math.max(m.t, t0), t1)
    if (t > prev && Math.abs(held - target) <= tol * Math.max(target, 1)) ok += t - prev
    prev = Math.max(prev, t)
    if (m.target !== undefined) target = m.target
    if (m.held !== undefined) held = m.held
  }
  if (t1 > prev && Math.abs(held - target) <= tol * Math.max(target, 1)) ok += t1 - prev
  return (100 * ok) / (t1 - t0)
}

export function onTargetPct(steps: StepRecord[], tol = 0.05): number | null {
  if (steps.length === 0) return null
  let ok = 0
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]
    const nextDue = steps[i + 1]?.schedMs ?? Infinity
    if (Math.abs(s.achievedBytes - s.targetBytes) <= tol * Math.max(s.targetBytes, 1) && s.endMs <= nextDue) ok++
  }
  return (100 * ok) / steps.length
}

type Interval = [number, number]

/**
 * When the tenant was held back on purpose, ms from t0: frozen (freeze to thaw), parked at a
 * limit the controller set (the kernel's oom_control notice to the next limit change or
 * unthrottle), and the steps in which a cgroup limit refused its growth (it waited in the
 * kernel: reclaim, parking, the OOM killer). The controller logs when it heard of a freeze or
 * a park, a little after it happened, so these intervals err on the short side.
 */
export function heldIntervals(run: ArmRun, i: number): Interval[] {
  const out: Interval[] = []
  let frozen = false
  let parked = false
  let since = 0
  const set = (tMs: number, f: boolean, p: boolean): void => {
    const before = frozen || parked
    frozen = f
    parked = p
    const after = frozen || parked
    if (!before && after) since = tMs
    else if (before && !after) out.push([since, tMs])
  }
  const events = run.controller.events.filter((e) => e.tenant === i).sort((a, b) => a.tMs - b.tMs)
  for (const e of events) {
    if (e.kind === 'freeze') set(e.tMs, true, parked)
    else if (e.kind === 'thaw') set(e.tMs, false, parked)
    else if (e.kind === 'parked') set(e.tMs, frozen, true)
    else if (e.kind === 'limit_change' || e.kind === 'unthrottle') set(e.tMs, frozen, false)
  }
  if (frozen || parked) out.push([since, Infinity])
  for (const s of run.tenants[i]?.steps ?? []) if (s.limitHit) out.push([s.startMs, s.endMs])
  return out
}

function overlapMs(held: Interval[], a: number, b: number): number {
  // union of the intervals clipped to [a, b]
  const clipped = held.map(([x, y]): Interval => [Math.max(x, a), Math.min(y, b)]).filter(([x, y]) => y > x).sort((p, q) => p[0] - q[0])
  let total = 0
  let end = a
  for (const [x, y] of clipped) {
    if (y <= end) continue
    total += y - Math.max(x, end)
    end = y
  }
  return total
}

/** Per step: start minus due, less the time in [due, start] the tenant was held back. */
export function machineLagsMs(steps: StepRecord[], held: Interval[]): number[] {
  return steps.map((s) => Math.max(0, s.startMs - s.schedMs - overlapMs(held, s.schedMs, s.startMs)))
}

export function tenantMetrics(t: TenantRun, held: Interval[] = []): TenantMetrics {
  const grow = growLatenciesMs(t.steps)
  const lags = t.steps.map((s) => Math.max(0, s.startMs - s.schedMs))
  const machineLags = machineLagsMs(t.steps, held)
  const survived = t.end === 'done'
  return {
    alloc_p50_ms: round(percentile(grow, 50)),
    alloc_p95_ms: round(percentile(grow, 95)),
    alloc_p99_ms: round(percentile(grow, 99)),
    alloc_steps: grow.length,
    completion_s: t.completionMs === null ? null : round(t.completionMs / 1000, 4),
    end: t.end,
    expected_s: round(t.expectedMs / 1000, 4)!,
    fidelity_pct: survived ? round(fidelityPct(t.steps)) : null,
    freeze_events: t.freezeEvents,
    frozen_ms: round(t.frozenMs)!,
    kernel_oom_kills: t.kernel.oomKills,
    lag_p50_ms: round(percentile(lags, 50)),
    lag_p99_ms: round(percentile(lags, 99)),
    machine_lag_p99_ms: round(percentile(machineLags, 99)),
    name: t.name,
    oom_kills: t.oomKills,
    peak_mib: t.kernel.peakBytes === null ? null : round(t.kernel.peakBytes / 2 ** 20, 1),
    priority: t.priority,
    steps_on_target_pct: survived ? round(onTargetPct(t.steps)) : null,
    survived,
    throttle_events: t.throttleEvents,
    trace: t.trace,
  }
}

export function armMetrics(run: ArmRun, totalBytes: number): ArmMetrics {
  const held = run.tenants.map((_, i) => heldIntervals(run, i))
  const tenants = run.tenants.map((t, i) => tenantMetrics(t, held[i]))
  const r = run.controller.reactionsMs
  const survivorsFid = tenants.map((t) => t.fidelity_pct).filter((v): v is number => v !== null)
  const allLags = run.tenants.flatMap((t) => t.steps.map((s) => Math.max(0, s.startMs - s.schedMs)))
  const {utilisation, waste} = usage(run, totalBytes)
  return {
    fidelity_pct: survivorsFid.length ? round(survivorsFid.reduce((a, b) => a + b, 0) / survivorsFid.length) : null,
    freeze_events: run.controller.freezeEvents,
    high_mode: run.controller.highMode,
    lag_p99_ms: round(percentile(allLags, 99)),
    machine_lag_p99_ms: round(percentile(run.tenants.flatMap((t, i) => machineLagsMs(t.steps, held[i])), 99)),
    oom_kills: tenants.reduce((a, t) => a + t.oom_kills, 0),
    policy: run.policy,
    reaction_p50_ms: round(percentile(r, 50), 3),
    reaction_fast_p99_ms: round(percentile(run.controller.fastReactionsMs, 99), 3),
    reaction_p99_ms: round(percentile(r, 99), 3),
    reactions: r.length,
    survivors: tenants.filter((t) => t.survived).length,
    tenants,
    throttle_events: run.tenants.reduce((a, t) => a + t.throttleEvents, 0),
    utilisation_pct: utilisation,
    waste_pct: waste,
  }
}

/** Σ held memory over the run's span, from every tenant's step ends. */
function usage(run: ArmRun, totalBytes: number): {utilisation: number | null; waste: number | null} {
  const ends = run.tenants.map((t) => t.completionMs ?? t.steps.at(-1)?.endMs ?? 0)
  const span = Math.max(0, ...ends)
  if (span <= 0) return {utilisation: null, waste: null}
  let area = 0
  let limitArea = 0
  for (const [i, t] of run.tenants.entries()) {
    let held = t.steps[0]?.achievedBytes ?? 0
    let prev = 0
    let tenantArea = 0
    for (const s of t.steps) {
      tenantArea += held * (Math.max(prev, s.endMs) - prev)
      prev = Math.max(prev, s.endMs)
      held = s.achievedBytes
    }
    area += tenantArea
    if (t.limitBytes !== null) limitArea += t.limitBytes * Math.max(ends[i], prev)
  }
  return {
    utilisation: round((100 * area) / (totalBytes * span)),
    waste: limitArea > 0 ? round(100 * (1 - area / limitArea)) : null,
  }
}

export function round(v: number | null, digits = 2): number | null {
  if (v === null || !Number.isFinite(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

// ---- repeats: mean and 95 % CI -------------------------------------------------------

const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086]

export interface MeanCi {
  mean: number
  /** half-width of the 95 % confidence interval (0 for one run) */
  ci95: number
  n: number
}

export function meanCi(values: number[]): MeanCi | null {
  const v = values.filter((x) => Number.isFinite(x))
  if (v.length === 0) return null
  const mean = v.reduce((a, b) => a + b, 0) / v.length
  if (v.length === 1) return {ci95: 0, mean: round(mean, 4)!, n: 1}
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1))
  const t = T95[Math.min(v.length - 2, T95.length - 1)] ?? 1.96
  return {ci95: round((t * sd) / Math.sqrt(v.length), 4)!, mean: round(mean, 4)!, n: v.length}
}
