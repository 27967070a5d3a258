/**
 * From a scenario to what the backends run: each tenant's schedule (due times already divided
 * by speed, memory targets with the base added, page-rounded), the warm pool's schedule, and
 * the demand analysis that says before a run whether the machine can fault memory in fast
 * enough, and by how much the schedule will slip if not.
 */
import {cpus} from 'node:os'

import {UserError} from '../datasets/errors.js'
import type {Store} from '../datasets/store.js'
import type {Priority} from '../collector/control/types.js'
import type {AllocRate} from './results.js'
import type {Scenario} from './scenario.js'
import {readTraceFile, shippedTrace, storeTrace, type Trace} from './trace.js'

const PAGE = 4096

export interface TenantPlan {
  index: number
  name: string
  priority: Priority
  trace: string
  runId: string | null
  source: string
  /** wall ms after the replay clock starts */
  offsetsMs: number[]
  /** bytes, multiples of 4 KiB */
  targets: number[]
  cpuPct: number[]
  peakBytes: number
  /** when the last step is due (the completion time with no lateness) */
  expectedMs: number
  limitBytes: number
  highBytes: number | null
}

export interface ReplayPlan {
  scenario: Scenario
  tenants: TenantPlan[]
}

/** Resolves every tenant's trace (shipped, store, or file) and builds the schedules. */
export async function buildPlan(sc: Scenario, store: Store | null): Promise<ReplayPlan> {
  const cache = new Map<string, Trace>()
  const tenants: TenantPlan[] = []
  const n = sc.tenants.reduce((a, t) => a + t.count, 0)
  const share = Math.floor(sc.totalBytes / n / PAGE) * PAGE
  for (const spec of sc.tenants) {
    const key = spec.run ?? `file:${spec.trace}`
    let trace = cache.get(key)
    if (!trace) {
      trace = await resolveTrace(spec.run, spec.trace, store)
      cache.set(key, trace)
    }
    for (let c = 0; c < spec.count; c++) {
      const index = tenants.length
      const name = spec.count > 1 ? `${spec.name}${c + 1}` : spec.name
      const sched = schedule(trace, sc.speed, spec.startS, spec.repeat, spec.baseBytes, spec.memScale, spec.dropFlagged)
      if (sched.offsetsMs.length === 0) throw new UserError(`${sc.origin}: tenant ${name}: no samples left in ${trace.source}`)
      tenants.push({
        ...sched,
        highBytes: spec.highBytes === undefined ? share : spec.highBytes,
        index,
        limitBytes: spec.limitBytes ?? share,
        name,
        priority: spec.priority,
        runId: trace.runId,
        source: trace.source,
        trace: trace.name,
      })
    }
  }
  const names = new Set<string>()
  for (const t of tenants) {
    if (names.has(t.name)) throw new UserError(`${sc.origin}: two tenants are named ${t.name}; give each a name`)
    names.add(t.name)
  }
  return {scenario: sc, tenants}
}

async function resolveTrace(run: string | null, file: string | null, store: Store | null): Promise<Trace> {
  if (file) return readTraceFile(file)
  const id = run!
  if (store) {
    const t = await storeTrace(store, id)
    if (t) return t
  }
  const shipped = shippedTrace(id)
  if (shipped) return shipped
  throw new UserError(`unknown run ${id}: not in the store${store ? ` (${store.path})` : ''} and not a shipped trace (import it, or give a trace file)`)
}

function schedule(trace: Trace, speed: number, startS: number, repeat: number, base: number, scale: number, dropFlagged: boolean) {
  const keep = trace.tMs.map((_, i) => !dropFlagged || trace.flags[i] === null)
  const idx = trace.tMs.map((_, i) => i).filter((i) => keep[i])
  const offsetsMs: number[] = []
  const targets: number[] = []
  const cpuPct: number[] = []
  if (idx.length === 0) return {cpuPct, expectedMs: 0, offsetsMs, peakBytes: 0, targets}
  const t0 = trace.tMs[idx[0]]
  const span = trace.tMs[idx[idx.length - 1]] - t0
  // one sample interval between plays, so repeat k starts where the trace would go on
  const gap = idx.length > 1 ? span / (idx.length - 1) : 1000
  for (let r = 0; r < repeat; r++) {
    for (const i of idx) {
      offsetsMs.push((startS * 1000 + r * (span + gap) + trace.tMs[i] - t0) / speed)
      targets.push(Math.round((base + trace.memBytes[i] * scale) / PAGE) * PAGE)
      cpuPct.push(trace.cpuPct[i] ?? 0)
    }
  }
  return {cpuPct, expectedMs: offsetsMs[offsetsMs.length - 1], offsetsMs, peakBytes: Math.max(...targets), targets}
}

export interface Demand {
  /** sum of the tenants' peaks */
  peakSumBytes: number
  /** the most memory the tenants hold at once if they follow their traces */
  concurrentPeakBytes: number
  /** the fastest step: MiB/s one tenant must fault in to be on time */
  maxStepMiBs: number
  /** predicted lateness of the last step, worst tenant, seconds, at the given rate */
  predictedSlipS: number
  /** the rate the prediction assumed, MiB/s */
  rateMiBs: number
  warnings: string[]
}

/**
 * Can this machine fault the scenario's memory in on time? Each tenant is replayed on paper:
 * a step starts when due or when the previous one ends, and takes its growth / rate, with the
 * rate shared when more tenants than cores run.
 */
export function analyseDemand(plan: ReplayPlan, rate: AllocRate | null, warm: boolean): Demand {
  const MiB = 2 ** 20
  const ncpu = Math.max(1, cpus().length)
  const peakSumBytes = plan.tenants.reduce((a, t) => a + t.peakBytes, 0)
  let maxStepMiBs = 0
  for (const t of plan.tenants) {
    for (let i = 1; i < t.targets.length; i++) {
      const dt = (t.offsetsMs[i] - t.offsetsMs[i - 1]) / 1000
      const grow = (t.targets[i] - t.targets[i - 1]) / MiB
      if (grow > 0 && dt > 0) maxStepMiBs = Math.max(maxStepMiBs, grow / dt)
    }
  }
  const rateMiBs = rate ? (warm ? rate.hugeWarmMiBs : plan.scenario.hugepages ? rate.hugeFirstMiBs : rate.fresh4kMiBs) : 0
  const perTenant = (rateMiBs * MiB * Math.min(1, ncpu / plan.tenants.length)) / 1000 // bytes per ms
  let predictedSlipS = 0
  if (perTenant > 0) {
    for (const t of plan.tenants) {
      let end = 0
      for (let i = 0; i < t.targets.length; i++) {
        const start = Math.max(t.offsetsMs[i], end)
        end = start + Math.max(0, t.targets[i] - (t.targets[i - 1] ?? t.targets[0])) / perTenant
      }
      predictedSlipS = Math.max(predictedSlipS, (end - t.expectedMs) / 1000)
    }
  }
  const warnings: string[] = []
  if (rate && maxStepMiBs > rateMiBs * Math.min(1, ncpu / plan.tenants.length)) {
    warnings.push(
      `demand outruns this machine: the fastest step needs ${maxStepMiBs.toFixed(0)} MiB/s, the machine faults in ${rateMiBs.toFixed(0)} MiB/s` +
        `${plan.tenants.length > ncpu ? ` shared by ${plan.tenants.length} tenants on ${ncpu} cores` : ''}; steps will be late, the last by about ${predictedSlipS.toFixed(3)} s`,
    )
  }
  return {concurrentPeakBytes: concurrentPeak(plan), maxStepMiBs, peakSumBytes, predictedSlipS, rateMiBs, warnings}
}

/** Σ targets over time, at every step of every tenant. */
export function concurrentPeak(plan: ReplayPlan): number {
  return Math.max(0, ...poolTimeline(plan).map((e) => e.sum))
}

interface SumEvent {
  tMs: number
  grow: number
  shrink: number
  sum: number
}

function poolTimeline(plan: ReplayPlan): SumEvent[] {
  const deltas: {t: number; d: number}[] = []
  for (const t of plan.tenants) {
    deltas.push({d: t.targets[0], t: -1})
    for (let i = 1; i < t.targets.length; i++) deltas.push({d: t.targets[i] - t.targets[i - 1], t: t.offsetsMs[i]})
    deltas.push({d: -t.targets[t.targets.length - 1], t: t.expectedMs + 0.001})
  }
  deltas.sort((a, b) => a.t - b.t)
  const out: SumEvent[] = []
  let sum = 0
  for (const {t, d} of deltas) {
    const last = out[out.length - 1]
    if (last && t - last.tMs < 3) {
      if (d > 0) last.grow += d
      else last.shrink -= d
      sum += d
      last.sum = Math.max(last.sum, sum)
      continue
    }
    sum += d
    out.push({grow: Math.max(0, d), shrink: Math.max(0, -d), sum, tMs: t})
  }
  return out
}

export interface PoolPlan {
  /** bytes warmed before the clock starts */
  warmBytes: number
  offsetsMs: number[]
  targets: number[]
}

/**
 * The warm pool (mirror mode): a tenant outside the budget holding what the replay's tenants will need but
 * do not hold yet (warmBytes minus their sum). It releases memory just before tenants grow and
 * takes back what they free, so the pages the tenants fault stay backed by the VM's host (on
 * this kind of VM, free memory is handed back within about a second and then faults in at
 * 0.3-0.6 GiB/s instead of 13-20 GiB/s). It changes nothing inside the budget.
 */
export function poolPlan(plan: ReplayPlan, capBytes: number, mirror = true, leadMs = 1, lagMs = 100): PoolPlan {
  const timeline = poolTimeline(plan)
  const warmBytes = Math.floor(Math.min(capBytes, Math.max(0, ...timeline.map((e) => e.sum))) / PAGE) * PAGE
  if (!mirror) {
    // warm-up only: everything is released when the clock starts; with many tenants, memory
    // one frees is soon faulted by another, and following them all costs more CPU than it saves
    const initial = Math.max(0, warmBytes - plan.tenants.reduce((a, t) => a + t.targets[0], 0))
    return {offsetsMs: [0, 0], targets: [Math.floor(initial / PAGE) * PAGE, 0], warmBytes}
  }
  // what the pool would hold if it followed the tenants exactly: warm - Σ targets, a step
  // function changing at each event; it holds the least of that over [t - lagMs, t + leadMs]:
  // it releases leadMs before tenants grow and takes back what they free only lagMs later, so
  // a tenant that grows meanwhile (one released late by the controller, catching up) finds the
  // freed pages still warm instead of competing with the pool for them
  const changes: {t: number; hold: number}[] = []
  let sum = 0
  for (const e of timeline) {
    const before = sum
    sum += e.grow - e.shrink
    if (e.tMs < 0) continue
    // a merged event may grow before it shrinks: first room for all its growth, then the rest
    changes.push({hold: Math.max(0, warmBytes - before - e.grow), t: e.tMs}, {hold: Math.max(0, warmBytes - sum), t: e.tMs + 0.001})
  }
  // step 0 is what the pool holds when the clock starts (after the tenants' first targets)
  const initial = Math.max(0, warmBytes - plan.tenants.reduce((a, t) => a + t.targets[0], 0))
  const holdAt = (t: number): number => {
    let h = initial
    for (const c of changes) {
      if (c.t > t) break
      h = c.hold
    }
    return h
  }
  const windowMin = (t: number): number => {
    let m = holdAt(Math.max(0, t - lagMs))
    for (const c of changes) if (c.t > t - lagMs && c.t <= t + leadMs) m = Math.min(m, c.hold)
    return m
  }
  const times = [...new Set(changes.flatMap((c) => [Math.max(0, c.t - leadMs), c.t + lagMs]))].sort((x, y) => x - y)
  const offsetsMs: number[] = [0]
  const targets: number[] = [initial]
  for (const t of times) {
    const h = windowMin(t)
    if (h === targets[targets.length - 1]) continue
    offsetsMs.push(t)
    targets.push(h)
  }
  return {offsetsMs, targets: targets.map((b) => Math.floor(b / PAGE) * PAGE), warmBytes}
}
