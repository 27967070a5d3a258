/**
 * `agentcgroup analyze`: the paper's §3 characterization over any set of runs. Builds the
 * working set (prepare.ts), runs each metric family (one module per figure), merges their
 * per-group and per-run metrics, attaches the paper's printed values, and keeps the rule
 * sets asked for. Groups are datasets, or one group 'all' with `pool`.
 */
import type {Store} from '../datasets/store.js'
import {bashCategories} from './bash-categories.js'
import {burstAttribution} from './burst-attribution.js'
import {changeRates} from './change-rates.js'
import {concurrency} from './concurrency.js'
import {cpuMemory} from './correlation.js'
import {executionTime} from './execution-time.js'
import {footprint} from './footprint.js'
import {latencyBreakdown} from './latency-breakdown.js'
import {publishedValue} from './paper-values.js'
import {peakRatio} from './peak-ratio.js'
import {prepare, Selection} from './prepare.js'
import {retries} from './retries.js'
import {toolMix} from './tool-mix.js'
import {toolTime} from './tool-time.js'
import {toolTimeline} from './tool-timeline.js'
import {AnalysisContext, Family, Metric, MetricSet, RuleSet} from './types.js'
import {variability} from './variability.js'

export const FAMILIES: Family[] = [
  executionTime, toolTime, latencyBreakdown, toolMix, bashCategories, toolTimeline, footprint,
  peakRatio, changeRates, burstAttribution, retries, cpuMemory, variability, concurrency,
]

export interface AnalyzeOptions extends Selection {
  rules: RuleSet
}

export interface DatasetAnalysis {
  dataset: string
  runs: number
  valid_runs: number
  metrics: MetricSet
}

export type RunAnalysis = {run_id: string; dataset: string; task_id: string; valid: boolean} & Record<string, Metric | string | boolean>

export interface AnalyzeResult {
  rules: RuleSet
  datasets: DatasetAnalysis[]
  runs: RunAnalysis[]
}

export interface AnalyzeRun {
  result: AnalyzeResult
  /** wall seconds per metric family (plus 'prepare'), for the benchmark */
  timings_s: Record<string, number>
}

const TEMP_TABLES = ['an_runs', 'an_samples', 'an_clean', 'an_burst_cat', 'an_calls', 'an_union', 'an_excl', 'an_rates']

export async function analyze(store: Store, opts: AnalyzeOptions): Promise<AnalyzeRun> {
  const timings: Record<string, number> = {}
  let t0 = performance.now()
  const runs = await prepare(store, opts)
  timings.prepare = (performance.now() - t0) / 1000
  const groups = [...new Set(runs.map((r) => r.grp))]
  const ctx: AnalysisContext = {groups, query: (sql, params) => store.query(sql, params), runs}
  const groupMetrics: Record<string, MetricSet> = Object.fromEntries(groups.map((g) => [g, {}]))
  const runMetrics: Record<string, MetricSet> = Object.fromEntries(runs.map((r) => [r.run_id, {}]))
  try {
    for (const family of FAMILIES) {
      t0 = performance.now()
      const out = await family.compute(ctx)
      for (const g of groups) Object.assign(groupMetrics[g], out.groups[g])
      for (const r of runs) Object.assign(runMetrics[r.run_id], out.runs[r.run_id])
      timings[family.name] = (performance.now() - t0) / 1000
    }
  } finally {
    for (const t of TEMP_TABLES) await store.query(`DROP TABLE IF EXISTS ${t}`)
  }
  const datasets = groups.map((g): DatasetAnalysis => {
    const members = runs.filter((r) => r.grp === g)
    const metrics: MetricSet = {}
    for (const [name, m] of Object.entries(groupMetrics[g])) {
      const published = publishedValue(g, name)
      metrics[name] = keepRules(published === undefined ? m : {paper_published: published, ...m}, opts.rules)
    }
    return {dataset: g, metrics, runs: members.length, valid_runs: members.filter((r) => r.valid).length}
  })
  const runRows = runs.map((r): RunAnalysis => {
    const row: RunAnalysis = {dataset: r.dataset, run_id: r.run_id, task_id: r.task_id, valid: Boolean(r.valid)}
    for (const [name, m] of Object.entries(runMetrics[r.run_id])) row[name] = keepRules(m, opts.rules)
    return row
  })
  return {result: {datasets, rules: opts.rules, runs: runRows}, timings_s: timings}
}

/** A rule set that was not asked for is null, saying so (the keys stay: the JSON contract). */
function keepRules(m: Metric, rules: RuleSet): Metric {
  if (rules === 'both') return m
  const drop = rules === 'paper' ? 'corrected' : 'paper_rules'
  return {...m, [drop]: null, null_reason: {...m.null_reason, [drop]: `not requested (--rules ${rules})`}}
}
