/**
 * Helpers the families share: SQL rows keyed by run or group, the reason a run cannot
 * support a metric, and per-group aggregates of per-run metrics (mean over runs unless a
 * family names another aggregate), keeping the reason when nothing is left.
 */
import {AnalysisContext, FamilyResult, Metric, MetricData, MetricSet, Missing, RunInfo, Val, metric} from './types.js'

/** What a metric needs from a run; the first need it lacks is the reason it is null. */
export type Need = 'samples' | 'paper_samples' | 'clean' | 'transcript' | 'active' | 'claude_time' | 'phases' | 'calls' | 'cpu' | 'turns'

const NEED_REASON: Record<Need, (r: RunInfo) => string | null> = {
  active: (r) => (r.has_transcript || r.n_clean >= 2 ? null : 'no transcript and too few samples: active window unknown'),
  calls: (r) => (r.n_calls > 0 ? null : 'no tool calls with a result'),
  claude_time: (r) => (r.has_claude_time ? null : "no runner claude_time (results.json)"),
  clean: (r) => (r.n_clean >= 2 ? null : 'fewer than 2 samples once the start transient and exit 0B are dropped'),
  cpu: (r) => (r.has_cpu ? null : 'no CPU measurements'),
  paper_samples: (r) => (r.n_samples >= 10 ? null : `${r.n_samples} samples: the paper's code needs at least 10`),
  phases: (r) => (r.has_phases ? null : 'no container start phases (init time unknown)'),
  samples: (r) => (r.n_samples > 0 ? null : 'no resource samples'),
  transcript: (r) => (r.has_transcript ? null : 'no transcript'),
  turns: (r) => (r.has_turns ? null : 'no LLM turns (no transcript)'),
}

export function why(run: RunInfo, needs: Need[], fallback: string): string {
  for (const n of needs) {
    const reason = NEED_REASON[n](run)
    if (reason) return reason
  }
  return fallback
}

/** A per-run value: the number, or Missing with the run's reason. */
export function runVal(run: RunInfo, v: unknown, needs: Need[], fallback = 'not computable for this run'): number | Missing {
  if (v === null || v === undefined) return new Missing(why(run, needs, fallback))
  const n = Number(v)
  return Number.isFinite(n) ? n : new Missing(why(run, needs, fallback))
}

/** Rows of a query, keyed by one column (rk, or a key the query builds). */
export async function keyed(ctx: AnalysisContext, key: string, sql: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await ctx.query(sql)
  return new Map(rows.map((r) => [String(r[key]), r]))
}

export class Collector {
  readonly groups: Record<string, MetricSet> = {}
  readonly runs: Record<string, MetricSet> = {}

  constructor(private readonly ctx: AnalysisContext) {
    for (const g of ctx.groups) this.groups[g] = {}
    for (const r of ctx.runs) this.runs[r.run_id] = {}
  }

  run(runId: string, name: string, m: Metric): void {
    this.runs[runId][name] = m
  }

  group(grp: string, name: string, m: Metric): void {
    this.groups[grp][name] = m
  }

  /** Sets `name` on every group from the per-run numbers of metric `from`, via fn. */
  aggregate(name: string, from: string, unit: string, fn: (values: number[]) => number | null): void {
    for (const grp of this.ctx.groups) {
      const runs = this.ctx.runs.filter((r) => r.grp === grp).map((r) => this.runs[r.run_id][from])
      this.group(grp, name, metric(unit, aggregateRule(runs, 'paper_rules', fn), aggregateRule(runs, 'corrected', fn)))
    }
  }

  /** Like aggregate, leaf by leaf, for per-run values that are objects of numbers. */
  aggregateLeaves(name: string, from: string, unit: string, fn: (values: number[]) => number | null): void {
    for (const grp of this.ctx.groups) {
      const runs = this.ctx.runs.filter((r) => r.grp === grp).map((r) => this.runs[r.run_id][from])
      const rule = (k: 'paper_rules' | 'corrected'): Val => {
        const objs = runs.map((m) => m?.[k]).filter((v): v is MetricData => v !== null && v !== undefined)
        const out = objs.length > 0 ? leafwise(objs, fn) : null
        return out ?? new Missing(`no run of this group has it (${commonReason(runs, k)})`)
      }
      this.group(grp, name, metric(unit, rule('paper_rules'), rule('corrected')))
    }
  }

  result(): FamilyResult {
    return {groups: this.groups, runs: this.runs}
  }
}

function leafwise(objs: MetricData[], fn: (values: number[]) => number | null): MetricData | null {
  if (typeof objs[0] === 'number') return fn(objs.filter((o): o is number => typeof o === 'number'))
  const out: Record<string, MetricData | null> = {}
  for (const key of Object.keys(objs[0])) {
    const sub = objs.map((o) => (typeof o === 'object' ? o[key] : null)).filter((v): v is MetricData => v !== null && v !== undefined)
    out[key] = sub.length > 0 ? leafwise(sub, fn) : null
  }
  return out
}

function aggregateRule(metrics: (Metric | undefined)[], rule: 'paper_rules' | 'corrected', fn: (values: number[]) => number | null): Val {
  const values = metrics.map((m) => m?.[rule]).filter((v): v is number => typeof v === 'number')
  const out = values.length > 0 ? fn(values) : null
  if (out !== null && Number.isFinite(out)) return out
  return new Missing(values.length > 0 ? 'not computable from the runs of this group' : `no run of this group has it (${commonReason(metrics, rule)})`)
}

/** The most frequent per-run reason, so a group's null explains itself. */
function commonReason(metrics: (Metric | undefined)[], rule: 'paper_rules' | 'corrected'): string {
  const counts = new Map<string, number>()
  for (const m of metrics) {
    const r = m?.null_reason?.[rule] ?? (m ? null : 'no runs')
    if (r) counts.set(r, (counts.get(r) ?? 0) + 1)
  }
  let best = 'no runs selected'
  let n = 0
  for (const [r, c] of counts) if (c > n) [best, n] = [r, c]
  return best
}
