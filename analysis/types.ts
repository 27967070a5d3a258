/**
 * The shapes every analysis family returns, and the one way to build a metric.
 *
 * A metric carries one value per rule set: `paper_rules` (the paper's definitions as its
 * code applies them, with correct unit parsing) and `corrected` (merged intervals,
 * instantaneous CPU, start/exit samples dropped, time-weighted, absolute clock). A value a
 * run or group cannot support is null with a reason, never 0. Values are numbers or
 * (nested) objects of numbers; shares and ratios are percent (0-100).
 */

export type RuleSet = 'paper' | 'corrected' | 'both'

export type MetricData = number | {[key: string]: MetricData | null}

export interface Metric {
  /** what the paper prints, where it prints one (signs and rounding as printed) */
  paper_published?: MetricData
  paper_rules: MetricData | null
  corrected: MetricData | null
  unit: string
  /** why a value is null, per rule */
  null_reason?: {paper_rules?: string; corrected?: string}
}

export type MetricSet = Record<string, Metric>

/** A value that could not be computed, and why. */
export class Missing {
  constructor(readonly reason: string) {}
}

export type Val = MetricData | Missing

export function metric(unit: string, paper: Val, corrected: Val): Metric {
  const m: Metric = {
    corrected: corrected instanceof Missing ? null : corrected,
    paper_rules: paper instanceof Missing ? null : paper,
    unit,
  }
  if (paper instanceof Missing || corrected instanceof Missing) {
    m.null_reason = {}
    if (paper instanceof Missing) m.null_reason.paper_rules = paper.reason
    if (corrected instanceof Missing) m.null_reason.corrected = corrected.reason
  }
  return m
}

/** A number from SQL, or Missing with the reason when it is null or not finite. */
export function orMissing(v: unknown, reason: string): number | Missing {
  if (v === null || v === undefined) return new Missing(reason)
  const n = Number(v)
  return Number.isFinite(n) ? n : new Missing(reason)
}

/** One selected run, with the facts that decide which metrics it can support. */
export interface RunInfo {
  run_id: string
  /** the run's key in the analysis temp tables */
  rk: number
  grp: string
  dataset: string
  task_id: string
  valid: boolean
  n_samples: number
  n_clean: number
  n_calls: number
  has_transcript: boolean
  has_claude_time: boolean
  has_phases: boolean
  has_cpu: boolean
  has_turns: boolean
}

/** What one family computed: metrics per group (dataset, or 'all' when pooled) and per run. */
export interface FamilyResult {
  groups: Record<string, MetricSet>
  runs: Record<string, MetricSet>
}

export interface AnalysisContext {
  /** parameterised query over the store and the analysis temp tables (see prepare.ts) */
  query(sql: string, params?: Record<string, string | number | boolean | null>): Promise<Record<string, unknown>[]>
  groups: string[]
  runs: RunInfo[]
}

export interface Family {
  /** the metric family, as the benchmark prints it */
  name: string
  compute(ctx: AnalysisContext): Promise<FamilyResult>
}
