/**
 * Where the report gets analysis results (issue 3's contract): computed in-process with
 * analysis/ over the report's runs (both rule sets), or read from a file written by
 * `agentcgroup analyze --json` (--analysis FILE). A failing analysis does not stop the report:
 * its figures fall back to the report's own paper-rule computations and it says why.
 */
import {readFileSync} from 'node:fs'

import {analyze} from '../analysis/analyze.js'
import {UserError} from '../datasets/errors.js'
import type {Store} from '../datasets/store.js'
import {AnalysisResult, isAnalysisResult} from './analysis-contract.js'
import type {ReportFilter} from './data/scope.js'

export interface AnalysisOutcome {
  result: AnalysisResult | null
  /** why there is no result */
  error?: string
  seconds: number
}

export async function computeAnalysis(store: Store, filter: ReportFilter): Promise<AnalysisOutcome> {
  const t0 = performance.now()
  try {
    // explicit --run ids are kept even when not valid, as everywhere in the report
    const {result} = await analyze(store, {datasets: filter.datasets, rules: 'both', runIds: filter.runIds, runs: filter.runIds?.length ? 'all' : 'valid'})
    return {result, seconds: (performance.now() - t0) / 1000}
  } catch (error) {
    return {error: (error as Error).message.split('\n')[0], result: null, seconds: (performance.now() - t0) / 1000}
  }
}

export function readAnalysisFile(path: string): AnalysisResult {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new UserError(`${path}: cannot read analysis JSON: ${(error as Error).message.split('\n')[0]}`)
  }
  if (!isAnalysisResult(parsed)) throw new UserError(`${path}: not the output of 'agentcgroup analyze --json' (no datasets[] with metrics)`)
  return parsed
}
