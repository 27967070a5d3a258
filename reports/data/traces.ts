/**
 * Figures computed from the raw sample series of the figure runs: the normalised memory
 * profile, change-rate distributions, memory-burst attribution to tool calls and the memory
 * spike of each Bash call, over the samples loaded by samples.ts.
 */
import {percentileOfSorted} from '../../analysis/stats.js'
import type {Store} from '../../datasets/store.js'
import {cleanText} from '../escape.js'
import type {RunSamples} from './samples.js'
import type {Scope} from './scope.js'

export interface Series {
  run_id: string
  dataset: string
  /** seconds (absolute, UTC) */
  t: number[]
  mem_mb: number[]
  cpu_pct: (number | null)[]
  flags: (string | null)[]
}

export interface CallSpan {
  start: number
  end: number
  category: string | null
  tool: string
}

export interface TraceSet {
  series: Series[]
  calls: Map<string, CallSpan[]>
}

/** The figure runs' series (a subset of the loaded samples) and their completed tool calls. */
export async function loadTraces(store: Store, scope: Scope, samples: Map<string, RunSamples>): Promise<TraceSet> {
  const runs = await store.query(`SELECT run_id, dataset FROM runs WHERE ${scope.figures()} ORDER BY run_id`, scope.params)
  const series: Series[] = []
  for (const r of runs) {
    const s = samples.get(String(r.run_id))
    if (!s) continue
    series.push({cpu_pct: s.cpu_pct, dataset: cleanText(String(r.dataset), 120), flags: s.flags, mem_mb: s.mem_mb.map((m) => m ?? 0), run_id: s.run_id, t: s.t})
  }
  const callRows = await store.query(
    `SELECT run_id, tool, bash_category, start_us::DOUBLE / 1e6 AS s, end_us::DOUBLE / 1e6 AS e
     FROM tool_calls WHERE end_us IS NOT NULL AND ${scope.figures()} ORDER BY run_id, start_us`,
    scope.params,
  )
  const calls = new Map<string, CallSpan[]>()
  for (const c of callRows) {
    const id = String(c.run_id)
    if (!calls.has(id)) calls.set(id, [])
    calls.get(id)!.push({category: c.bash_category === null ? null : cleanText(String(c.bash_category), 60), end: Number(c.e), start: Number(c.s), tool: cleanText(String(c.tool), 60)})
  }
  return {calls, series}
}

// ---- normalised memory profile ---------------------------------------------------------

export interface ProfilePoint {
  dataset: string
  /** percent of the run, 0..100 */
  pos: number
  mean_mb: number
  p10_mb: number
  p90_mb: number
  runs: number
}


/** Each run's memory (exit 0B samples dropped) interpolated to `points` positions of its span. */
export function memoryProfile(set: TraceSet, points = 100): ProfilePoint[] {
  const byDataset = new Map<string, number[][]>()
  for (const s of set.series) {
    const idx = s.t.map((_, i) => i).filter((i) => !s.flags[i]?.includes('exit_0b') && s.mem_mb[i] > 0)
    if (idx.length < 2) continue
    const t0 = s.t[idx[0]]
    const span = s.t[idx.at(-1)!] - t0
    if (span <= 0) continue
    const curve: number[] = []
    let j = 0
    for (let k = 0; k < points; k++) {
      const tt = t0 + (span * k) / (points - 1)
      while (j < idx.length - 2 && s.t[idx[j + 1]] < tt) j++
      const a = idx[j]
      const b = idx[j + 1]
      const f = s.t[b] === s.t[a] ? 0 : Math.min(1, Math.max(0, (tt - s.t[a]) / (s.t[b] - s.t[a])))
      curve.push(s.mem_mb[a] + (s.mem_mb[b] - s.mem_mb[a]) * f)
    }
    if (!byDataset.has(s.dataset)) byDataset.set(s.dataset, [])
    byDataset.get(s.dataset)!.push(curve)
  }
  const out: ProfilePoint[] = []
  for (const [dataset, curves] of byDataset) {
    for (let k = 0; k < points; k++) {
      const col = curves.map((c) => c[k]).sort((a, b) => a - b)
      out.push({
        dataset,
        mean_mb: col.reduce((a, b) => a + b, 0) / col.length,
        p10_mb: percentileOfSorted(col, 10),
        p90_mb: percentileOfSorted(col, 90),
        pos: (100 * k) / (points - 1),
        runs: col.length,
      })
    }
  }
  return out
}

// ---- change rates ------------------------------------------------------------------------

export interface RateQuantile {
  dataset: string
  resource: 'memory (MB/s)' | 'CPU (%/s)'
  rate: number
  /** fraction of sample pairs at or below rate, 0..1 */
  cdf: number
}

/** Distribution of |Δ|/Δt over consecutive samples 0 < Δt ≤ 2 s (the paper's rule), as quantiles. */
export function changeRates(set: TraceSet, steps = 120): RateQuantile[] {
  const acc = new Map<string, {mem: number[]; cpu: number[]}>()
  for (const s of set.series) {
    if (!acc.has(s.dataset)) acc.set(s.dataset, {cpu: [], mem: []})
    const a = acc.get(s.dataset)!
    for (let i = 1; i < s.t.length; i++) {
      const dt = s.t[i] - s.t[i - 1]
      if (!(dt > 0 && dt <= 2)) continue
      a.mem.push(Math.abs(s.mem_mb[i] - s.mem_mb[i - 1]) / dt)
      const c0 = s.cpu_pct[i - 1]
      const c1 = s.cpu_pct[i]
      if (c0 !== null && c1 !== null) a.cpu.push(Math.abs(c1 - c0) / dt)
    }
  }
  const out: RateQuantile[] = []
  for (const [dataset, a] of acc) {
    for (const [resource, values] of [['memory (MB/s)', a.mem], ['CPU (%/s)', a.cpu]] as const) {
      const sorted = [...values].sort((x, y) => x - y)
      if (sorted.length === 0) continue
      // denser steps in the tail, where the bursts are
      for (let k = 0; k <= steps; k++) {
        const q = 1 - Math.pow(1 - k / steps, 3)
        // past the last pair, quantiles would only interpolate: stop the tail at 1/n
        if (1 - q < 1 / sorted.length && q < 1) continue
        out.push({cdf: q, dataset, rate: percentileOfSorted(sorted, q * 100), resource})
      }
    }
  }
  return out
}

// ---- bursts ------------------------------------------------------------------------------

export interface BurstAttribution {
  dataset: string
  /** share of samples inside a tool call */
  tool_time_pct: number
  /** share of samples above the memory-burst level that fall inside a tool call */
  mem_burst_in_tool_pct: number | null
  mem_burst_samples: number
  samples: number
}

export interface SpikeRow {
  dataset: string
  category: string
  spike_mb: number
}

function inAnyCall(calls: CallSpan[], t: number): boolean {
  for (const c of calls) if (c.start <= t && t <= c.end) return true
  return false
}

/** The paper's rule (§3.11): memory-burst samples are samples above levelMb; in-tool = inside any call. */
export function burstAttribution(set: TraceSet, levelMb = 300): BurstAttribution[] {
  const acc = new Map<string, {n: number; inTool: number; burst: number; burstIn: number}>()
  for (const s of set.series) {
    if (!acc.has(s.dataset)) acc.set(s.dataset, {burst: 0, burstIn: 0, inTool: 0, n: 0})
    const a = acc.get(s.dataset)!
    const calls = set.calls.get(s.run_id) ?? []
    for (let i = 0; i < s.t.length; i++) {
      const inside = inAnyCall(calls, s.t[i])
      a.n++
      if (inside) a.inTool++
      if (s.mem_mb[i] > levelMb) {
        a.burst++
        if (inside) a.burstIn++
      }
    }
  }
  return [...acc].map(([dataset, a]) => ({
    dataset,
    mem_burst_in_tool_pct: a.burst > 0 ? (100 * a.burstIn) / a.burst : null,
    mem_burst_samples: a.burst,
    samples: a.n,
    tool_time_pct: a.n > 0 ? (100 * a.inTool) / a.n : 0,
  }))
}

/**
 * Memory spike of each Bash call (§3.11): max memory during the call minus the last sample
 * before it (else the first during it); calls under 0.1 s or with no sample inside skipped.
 */
export function bashSpikes(set: TraceSet): SpikeRow[] {
  const out: SpikeRow[] = []
  for (const s of set.series) {
    for (const c of set.calls.get(s.run_id) ?? []) {
      if (c.tool !== 'Bash' || c.end - c.start < 0.1) continue
      let before: number | null = null
      let first: number | null = null
      let max = -Infinity
      for (let i = 0; i < s.t.length && s.t[i] <= c.end; i++) {
        if (s.t[i] < c.start) before = s.mem_mb[i]
        else {
          first ??= s.mem_mb[i]
          max = Math.max(max, s.mem_mb[i])
        }
      }
      const base = before ?? first
      if (base === null || max === -Infinity) continue
      out.push({category: c.category ?? 'Other', dataset: s.dataset, spike_mb: Math.round((max - base) * 10) / 10})
    }
  }
  return out
}
