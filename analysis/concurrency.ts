/**
 * §3.3 "memory, not CPU, is the concurrency bottleneck": how many agents fit one node
 * (128 GiB, the paper's machine) when each is given its peak, versus the memory that N = 64
 * overlaid agents really need at once (analyze_concurrency_simulation, 200 draws).
 * paper: each run's memory trace stretched to 100 points (by sample index); 64 traces
 *   drawn with replacement, each shifted by 0-99 points, summed; static = sum of the
 *   drawn peaks; MB / 1024 reported as GB; agents_by_max_peak = node / the largest peak.
 * corrected: a node in steady state: 64 slots, each running drawn runs back to back on the
 *   clock (clean samples on a 5 s grid, each cell its highest sample), starting at a random
 *   point of its first run, over the longest run's length; static = the highest sum of the
 *   running runs' real peaks, dynamic = the highest sum of their memory; GB = 10^9 bytes.
 * The draws come from a seeded generator over runs in run_id order (rk): the same runs give the
 * same numbers.
 */
import {Collector} from './collect.js'
import {mean, percentile, seededRandom} from './stats.js'
import {AnalysisContext, Family, MetricData, metric, Missing, Val} from './types.js'

const NODE_MIB = 128 * 1024
const AGENTS = 64
const DRAWS = 200
const SEED = 42
const PAPER_POINTS = 100
const GRID_S = 5

/** numpy.interp of a trace onto `points` evenly spaced sample indexes. */
function byIndex(mem: number[], points: number): Float64Array {
  const out = new Float64Array(points)
  for (let k = 0; k < points; k++) {
    const pos = (k * (mem.length - 1)) / (points - 1)
    const lo = Math.floor(pos)
    const hi = Math.min(lo + 1, mem.length - 1)
    out[k] = mem[lo] + (mem[hi] - mem[lo]) * (pos - lo)
  }
  return out
}

/**
 * A trace on a grid of GRID_S seconds: each cell holds the highest sample inside it (so
 * fine sampling keeps its short peaks), cells without a sample the linear interpolation.
 */
function byClock(tS: number[], mem: number[]): Float64Array {
  const n = Math.floor(tS[tS.length - 1] / GRID_S) + 1
  const out = new Float64Array(n)
  let j = 0
  for (let k = 0; k < n; k++) {
    const t = k * GRID_S
    while (j < tS.length - 2 && tS[j + 1] < t) j++
    const span = tS[j + 1] - tS[j]
    out[k] = span > 0 ? mem[j] + ((mem[j + 1] - mem[j]) * (t - tS[j])) / span : mem[j]
  }
  for (let i = 0; i < tS.length; i++) {
    const k = Math.floor(tS[i] / GRID_S)
    if (mem[i] > out[k]) out[k] = mem[i]
  }
  return out
}

function peakOf(trace: Float64Array): number {
  let m = -Infinity
  for (const v of trace) if (v > m) m = v
  return m
}

interface Demand {
  staticMb: number[]
  dynamicMb: number[]
}

/**
 * The paper's overlay: per draw, 64 stretched traces shifted by 0-99 points and summed;
 * static = the sum of the drawn traces' peaks.
 */
function overlay(traces: Float64Array[], rand: () => number): Demand {
  const peaks = traces.map(peakOf)
  const total = new Float64Array(2 * PAPER_POINTS)
  const out: Demand = {dynamicMb: [], staticMb: []}
  for (let d = 0; d < DRAWS; d++) {
    total.fill(0)
    let stat = 0
    for (let a = 0; a < AGENTS; a++) {
      const idx = Math.floor(rand() * traces.length)
      const shift = Math.floor(rand() * PAPER_POINTS)
      const trace = traces[idx]
      for (let k = 0; k < trace.length; k++) total[shift + k] += trace[k]
      stat += peaks[idx]
    }
    out.staticMb.push(stat)
    out.dynamicMb.push(peakOf(total))
  }
  return out
}

/** Steady state: 64 slots always running runs back to back (see the header). */
function steadyState(traces: Float64Array[], peaks: number[], rand: () => number): Demand {
  const horizon = Math.max(...traces.map((t) => t.length))
  const total = new Float64Array(horizon)
  // reserved memory changes only when a slot switches runs: a difference array
  const reserved = new Float64Array(horizon + 1)
  const out: Demand = {dynamicMb: [], staticMb: []}
  for (let d = 0; d < DRAWS; d++) {
    total.fill(0)
    reserved.fill(0)
    for (let a = 0; a < AGENTS; a++) {
      let idx = Math.floor(rand() * traces.length)
      let offset = Math.floor(rand() * traces[idx].length)
      for (let pos = 0; pos < horizon; ) {
        const trace = traces[idx]
        const n = Math.min(trace.length - offset, horizon - pos)
        for (let k = 0; k < n; k++) total[pos + k] += trace[offset + k]
        reserved[pos] += peaks[idx]
        reserved[pos + n] -= peaks[idx]
        pos += n
        idx = Math.floor(rand() * traces.length)
        offset = 0
      }
    }
    let level = 0
    let stat = 0
    for (let k = 0; k < horizon; k++) stat = Math.max(stat, (level += reserved[k]))
    out.staticMb.push(stat)
    out.dynamicMb.push(peakOf(total))
  }
  return out
}

/** The estimate from simulated demand; runPeaks are each run's highest sample. */
function estimate(demand: Demand, runPeaks: number[], mbPerGb: number, nodeMb: number): MetricData {
  const staticMean = mean(demand.staticMb)!
  const dynP95 = percentile(demand.dynamicMb, 95)!
  return {
    agents: AGENTS,
    agents_by_dynamic_p95: (nodeMb * AGENTS) / dynP95,
    agents_by_max_peak: nodeMb / Math.max(...runPeaks),
    agents_by_mean_peak: (nodeMb * AGENTS) / staticMean,
    dynamic_gb: mean(demand.dynamicMb)! / mbPerGb,
    dynamic_p95_gb: dynP95 / mbPerGb,
    node_gb: nodeMb / mbPerGb,
    static_gb: staticMean / mbPerGb,
  }
}

export const concurrency: Family = {
  name: 'concurrency',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const paper = await ctx.query(`SELECT grp, list(mem_mb ORDER BY i) AS mem, max(mem_mb) AS peak FROM an_samples WHERE n >= 10 GROUP BY grp, rk ORDER BY grp, rk`)
    const clean = await ctx.query(
      `SELECT grp, list((t_us - t0) / 1e6 ORDER BY t_us) AS t, list(mem_mb ORDER BY t_us) AS mem, max(mem_mb) AS peak
       FROM (SELECT *, min(t_us) OVER (PARTITION BY rk) AS t0, count(*) OVER (PARTITION BY rk) AS nc FROM an_clean)
       WHERE nc >= 2 GROUP BY grp, rk ORDER BY grp, rk`,
    )
    const none = new Missing('no run of this group has enough memory samples')
    const nodeMbDecimal = (NODE_MIB * 2 ** 20) / 1e6
    for (const grp of ctx.groups) {
      const p = paper.filter((r) => r.grp === grp)
      const k = clean.filter((r) => r.grp === grp)
      const paperVal = (): Val => {
        const traces = p.map((r) => byIndex(r.mem as number[], PAPER_POINTS))
        // the paper's code reserves each stretched trace's peak, and divides the node by the largest raw one
        return estimate(overlay(traces, seededRandom(SEED)), p.map((r) => Number(r.peak)), 1024, NODE_MIB)
      }
      const cleanVal = (): Val => {
        const peaks = k.map((r) => Number(r.peak))
        const traces = k.map((r) => byClock(r.t as number[], r.mem as number[]))
        return estimate(steadyState(traces, peaks, seededRandom(SEED)), peaks, 1000, nodeMbDecimal)
      }
      c.group(grp, 'concurrency_estimate', metric('agents, GB', p.length === 0 ? none : paperVal(), k.length === 0 ? none : cleanVal()))
    }
    return c.result()
  },
}
