/**
 * One row per leaf of a metric set, for tables: an object-valued metric such as
 * latency_breakdown becomes rows `latency_breakdown.view2.init`, with the paper's printed
 * value, the paper-rules value and the corrected one side by side.
 */
import type {MetricData, MetricSet} from './types.js'

export interface MetricRow {
  name: string
  unit: string
  paper_published: number | null
  paper_rules: number | null
  corrected: number | null
  /** why a value is null, per rule */
  null_reason: {paper_rules?: string; corrected?: string}
}

function leaf(v: MetricData | null | undefined, path: string[]): number | null {
  let cur: MetricData | null | undefined = v
  for (const key of path) cur = cur !== null && typeof cur === 'object' ? cur[key] : undefined
  return typeof cur === 'number' ? cur : null
}

/** Key paths of every leaf found in any of the values, in first-seen order. */
function paths(values: (MetricData | null | undefined)[]): string[][] {
  const out: string[][] = []
  const seen = new Set<string>()
  const walk = (v: MetricData | null | undefined, prefix: string[]) => {
    if (v === null || v === undefined) return
    if (typeof v === 'number') {
      const key = prefix.join('.')
      if (!seen.has(key)) {
        seen.add(key)
        out.push(prefix)
      }
      return
    }
    for (const [k, sub] of Object.entries(v)) walk(sub, [...prefix, k])
  }
  for (const v of values) walk(v, [])
  return out.length > 0 ? out : [[]]
}

export function flattenMetrics(metrics: MetricSet): MetricRow[] {
  const rows: MetricRow[] = []
  for (const [name, m] of Object.entries(metrics)) {
    for (const path of paths([m.paper_rules, m.corrected, m.paper_published])) {
      rows.push({
        corrected: leaf(m.corrected, path),
        name: [name, ...path].join('.'),
        null_reason: m.null_reason ?? {},
        paper_published: leaf(m.paper_published, path),
        paper_rules: leaf(m.paper_rules, path),
        unit: m.unit,
      })
    }
  }
  return rows
}
