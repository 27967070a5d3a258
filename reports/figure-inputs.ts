/**
 * Figure inputs that prefer analysis results (both rule sets, and the paper's printed values)
 * and fall back to the report's own paper-rule computations when there are none.
 */
import {AnalysisResult, LatencyViews, metricNumber, RULE_LABEL, runMetricRows} from './analysis-contract.js'
import {latencyFromRuns} from './data/latency.js'
import type {RunFigureRow} from './data/per-run.js'
import {burstAttribution, TraceSet} from './data/traces.js'
import {AttributionRow, attributionRows, CorrelationRow} from './specs/bursts.js'
import {LatencyRow, latencyRows} from './specs/time.js'

/** Latency rows from analysis (paper printed, paper rules, corrected) or computed here. */
export function latencyFigureRows(runs: RunFigureRow[], analysis: AnalysisResult | null): {rows: LatencyRow[]; note?: string} {
  const rows: LatencyRow[] = []
  const fromAnalysis = analysis?.datasets.filter((d) => d.metrics.latency_breakdown) ?? []
  if (fromAnalysis.length > 0) {
    for (const d of fromAnalysis) {
      const m = d.metrics.latency_breakdown
      if (m.paper_published) rows.push(...latencyRows(`${d.dataset} · paper`, m.paper_published as LatencyViews))
      rows.push(...latencyRows(`${d.dataset} · paper rules`, (m.paper_rules ?? {}) as LatencyViews))
      rows.push(...latencyRows(`${d.dataset} · corrected`, (m.corrected ?? {}) as LatencyViews))
    }
    return {rows}
  }
  for (const [dataset, views] of latencyFromRuns(runs)) rows.push(...latencyRows(`${dataset} · paper rules`, views))
  return {note: "Latency shares computed by the report under the paper's rules: there are no analysis results (see the metrics section), so no corrected view.", rows}
}

/** Burst attribution per dataset and rule from analysis, else the report's paper-rule computation. */
export function attributionFigureRows(traces: TraceSet, analysis: AnalysisResult | null): AttributionRow[] {
  const rows: AttributionRow[] = []
  for (const d of analysis?.datasets ?? []) {
    const share = d.metrics.tool_sample_share
    const burst = d.metrics.burst_tool_attribution
    if (!share || !burst) continue
    for (const rule of ['paper_rules', 'corrected'] as const) {
      const label = `${d.dataset} · ${RULE_LABEL[rule]}`
      const s = metricNumber(share[rule])
      const b = metricNumber(burst[rule])
      if (s !== null) rows.push({label, measure: 'samples inside a tool call', pct: s})
      if (b !== null) rows.push({label, measure: 'memory-burst samples inside a tool call', pct: b})
    }
  }
  return rows.length > 0 ? rows : attributionRows(burstAttribution(traces))
}

/** Per-run CPU-memory correlation under both rules from analysis, else paper rules computed here. */
export function correlationFigureRows(runs: RunFigureRow[], analysis: AnalysisResult | null): CorrelationRow[] {
  const rows = analysis ? runMetricRows(analysis, 'cpu_mem_correlation') : []
  if (rows.length > 0) return rows
  return runs.filter((r) => r.cpu_mem_r !== null).map((r) => ({dataset: r.dataset, rule: 'paper rules', task: r.task, value: r.cpu_mem_r!}))
}
