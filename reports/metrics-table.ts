/**
 * The table of every metric of an analysis result: per metric, for each dataset side by side,
 * the paper's printed value, ours under the paper's rules and the corrected value, and one
 * line on why they differ. Nested metrics (latency views, category shares) are flattened to
 * one row per key. Headline rows (scalar metrics and every key the paper prints) come first;
 * the remaining breakdowns sit in a collapsed <details> below.
 */
import {AnalysisResult, metricNumber} from './analysis-contract.js'
import {cleanText, escapeHtml} from './escape.js'
import {METRIC_NOTES} from './metric-notes.js'

type Triple = {paper_published: number | null; paper_rules: number | null; corrected: number | null}

export interface MetricRow {
  /** metric name, with .key paths for nested values */
  metric: string
  base: string
  unit: string
  /** dataset -> values */
  values: Map<string, Triple>
  why: string
  headline: boolean
}

function flatten(prefix: string, value: unknown, out: Map<string, number | null>): void {
  if (value === undefined) return
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(prefix ? `${prefix}.${k}` : k, v, out)
  } else {
    out.set(prefix, metricNumber(value))
  }
}

export function metricRows(result: AnalysisResult): {datasets: string[]; rows: MetricRow[]} {
  const datasets = result.datasets.map((d) => cleanText(d.dataset, 120))
  const rows = new Map<string, MetricRow>()
  result.datasets.forEach((d, di) => {
    for (const [name, m] of Object.entries(d.metrics)) {
      const cols = {corrected: new Map<string, number | null>(), paper_published: new Map<string, number | null>(), paper_rules: new Map<string, number | null>()}
      flatten('', m.paper_published, cols.paper_published)
      flatten('', m.paper_rules, cols.paper_rules)
      flatten('', m.corrected, cols.corrected)
      let keys = [...new Set([...cols.paper_rules.keys(), ...cols.corrected.keys(), ...cols.paper_published.keys()])]
      // a null rule beside an object under the other rule is not a row of its own
      if (keys.length > 1) keys = keys.filter((k) => k !== '')
      const reasons = [m.null_reason?.paper_rules && `paper rules: ${m.null_reason.paper_rules}.`, m.null_reason?.corrected && `corrected: ${m.null_reason.corrected}.`].filter(Boolean)
      for (const k of keys) {
        const metric = cleanText(k ? `${name}.${k}` : name, 120)
        let row = rows.get(metric)
        if (!row) {
          row = {base: cleanText(name, 80), headline: k === '', metric, unit: cleanText(m.unit ?? '', 20), values: new Map(), why: cleanText(METRIC_NOTES[name] ?? '', 400)}
          rows.set(metric, row)
        }
        const published = cols.paper_published.get(k) ?? null
        if (published !== null) row.headline = true
        if (reasons.length > 0 && !row.why.includes(String(reasons[0]))) row.why = cleanText(`${row.why} ${datasets[di]}: ${reasons.join(' ')}`.trim(), 600)
        row.values.set(datasets[di], {corrected: cols.corrected.get(k) ?? null, paper_published: published, paper_rules: cols.paper_rules.get(k) ?? null})
      }
    }
  })
  return {datasets, rows: [...rows.values()]}
}

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–'
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2
  return v.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits})
}

function table(datasets: string[], rows: MetricRow[]): string {
  const head1 = `<tr><th rowspan="2">metric</th><th rowspan="2">unit</th>${datasets.map((d) => `<th colspan="3" class="ds">${escapeHtml(d)}</th>`).join('')}<th rowspan="2">why they differ</th></tr>`
  const head2 = `<tr>${datasets.map(() => '<th class="sub">paper</th><th class="sub">paper rules</th><th class="sub">corrected</th>').join('')}</tr>`
  let lastBase = ''
  const body = rows.map((r) => {
    // the note once per metric, on its first row
    const why = r.base !== lastBase ? r.why : ''
    lastBase = r.base
    const cells = datasets
      .map((d) => {
        const v = r.values.get(d)
        const differs = v && v.paper_rules !== null && v.corrected !== null && Math.abs(v.corrected - v.paper_rules) > 0.05 * Math.max(Math.abs(v.paper_rules), 1e-9)
        return `<td class="num pub">${escapeHtml(fmt(v?.paper_published))}</td><td class="num">${escapeHtml(fmt(v?.paper_rules))}</td><td class="num${differs ? ' changed' : ''}">${escapeHtml(fmt(v?.corrected))}</td>`
      })
      .join('')
    return `<tr><td><code>${escapeHtml(r.metric)}</code></td><td class="unit">${escapeHtml(r.unit)}</td>${cells}<td class="why">${escapeHtml(why)}</td></tr>`
  })
  return `<table class="data metrics"><thead>${head1}${head2}</thead><tbody>${body.join('')}</tbody></table>`
}

export function metricsTableHtml(m: {datasets: string[]; rows: MetricRow[]}): string {
  const headline = m.rows.filter((r) => r.headline)
  const rest = m.rows.filter((r) => !r.headline)
  return `${table(m.datasets, headline)}<p class="delta">Bold: a corrected value more than 5 % away from the paper-rules value. “paper”: the value the paper prints, where it prints one.</p>${
    rest.length > 0 ? `<details><summary>All ${rest.length} other values (breakdowns per tool, category, percentile)</summary>${table(m.datasets, rest)}</details>` : ''
  }`
}
