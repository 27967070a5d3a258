/**
 * The analysis results the report reads: the shape of `agentcgroup analyze --json` (issue 3),
 * taken from analysis/ itself so the two cannot drift. Helpers here only read it.
 */
import type {AnalyzeResult, DatasetAnalysis} from '../analysis/analyze.js'
import type {Metric} from '../analysis/types.js'

export type AnalysisResult = AnalyzeResult
export type {DatasetAnalysis}
export type MetricEntry = Metric

/** The shares of `latency_breakdown` under one rule (percent, 0-100). */
export interface LatencyViews {
  view1?: Partial<Record<'permission_fix' | 'init' | 'tool' | 'llm' | 'os', number | null>>
  view2?: Partial<Record<'init' | 'tool' | 'llm' | 'os', number | null>>
}

export function isAnalysisResult(value: unknown): value is AnalysisResult {
  const v = value as AnalysisResult | null
  return typeof v === 'object' && v !== null && Array.isArray(v.datasets) && Array.isArray(v.runs) && v.datasets.every((d) => typeof d?.dataset === 'string' && typeof d.metrics === 'object')
}

/** A plain finite number, else null. */
export function metricNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

export type Rule = 'paper_rules' | 'corrected'
export const RULE_LABEL: Record<Rule, string> = {corrected: 'corrected', paper_rules: 'paper rules'}

export interface RunMetricRow {
  dataset: string
  task: string
  rule: string
  value: number
}

/** One row per (run, rule) of a per-run numeric metric. */
export function runMetricRows(result: AnalysisResult, name: string): RunMetricRow[] {
  const rows: RunMetricRow[] = []
  for (const r of result.runs) {
    const m = r[name] as Metric | undefined
    if (!m || typeof m !== 'object') continue
    for (const rule of ['paper_rules', 'corrected'] as const) {
      const v = metricNumber(m[rule])
      if (v !== null) rows.push({dataset: r.dataset, rule: RULE_LABEL[rule], task: r.task_id, value: v})
    }
  }
  return rows
}
