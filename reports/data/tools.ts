/**
 * Tool-call aggregates behind the tool figures, under the paper's rules: a call lasts from
 * its tool_use record to its tool_result record (never negative), all calls count (main and
 * sub-agent, overlaps summed), Bash categories are the stored first-match categories.
 */
import type {Store} from '../../datasets/store.js'
import {cleanText} from '../escape.js'
import type {Scope} from './scope.js'

export interface ToolShareRow {
  dataset: string
  tool: string
  calls: number
  total_s: number
  mean_s: number
  share_pct: number
}

export interface BashCategoryRow {
  dataset: string
  category: string
  calls: number
  total_s: number
  share_pct: number
}

export interface TimelineRow {
  dataset: string
  tool: string
  /** 0..9: tenth of the run (first to last tool start) */
  bin: number
  share_pct: number
}

const TIMELINE_TOOLS = ['Read', 'Grep', 'Glob', 'Bash', 'Edit', 'Write', 'TodoWrite']

function withShares<T extends {dataset: string; total_s: number}>(rows: T[]): (T & {share_pct: number})[] {
  const totals = new Map<string, number>()
  for (const r of rows) totals.set(r.dataset, (totals.get(r.dataset) ?? 0) + r.total_s)
  return rows.map((r) => ({...r, share_pct: (100 * r.total_s) / (totals.get(r.dataset) || 1)}))
}

export async function loadToolShares(store: Store, scope: Scope): Promise<ToolShareRow[]> {
  const rows = await store.query(
    `SELECT r.dataset, c.tool, count(*)::DOUBLE AS calls, sum(greatest(c.end_us - c.start_us, 0))::DOUBLE / 1e6 AS total_s
     FROM tool_calls c JOIN runs r USING (run_id)
     WHERE c.end_us IS NOT NULL AND ${scope.figures('c.run_id')}
     GROUP BY ALL ORDER BY r.dataset, total_s DESC`,
    scope.params,
  )
  return withShares(rows.map((r) => ({
    calls: Number(r.calls),
    dataset: cleanText(String(r.dataset), 120),
    mean_s: Number(r.total_s) / Math.max(1, Number(r.calls)),
    tool: cleanText(String(r.tool), 60),
    total_s: Number(r.total_s),
  })))
}

export async function loadBashCategories(store: Store, scope: Scope): Promise<BashCategoryRow[]> {
  const rows = await store.query(
    `SELECT r.dataset, coalesce(c.bash_category, 'Other') AS category, count(*)::DOUBLE AS calls,
            sum(greatest(c.end_us - c.start_us, 0))::DOUBLE / 1e6 AS total_s
     FROM tool_calls c JOIN runs r USING (run_id)
     WHERE c.tool = 'Bash' AND c.end_us IS NOT NULL AND ${scope.figures('c.run_id')}
     GROUP BY ALL ORDER BY r.dataset, total_s DESC`,
    scope.params,
  )
  return withShares(rows.map((r) => ({
    calls: Number(r.calls),
    category: cleanText(String(r.category), 60),
    dataset: cleanText(String(r.dataset), 120),
    total_s: Number(r.total_s),
  })))
}

export async function loadToolTimeline(store: Store, scope: Scope): Promise<TimelineRow[]> {
  const params = {...scope.params}
  const tools = TIMELINE_TOOLS.map((t, i) => {
    params[`tl_tool${i}`] = t
    return `$tl_tool${i}`
  })
  const rows = await store.query(
    `WITH pos AS (
       SELECT run_id, tool,
              (start_us - min(start_us) OVER w)::DOUBLE / nullif(max(start_us) OVER w - min(start_us) OVER w, 0) AS p
       FROM tool_calls WHERE ${scope.figures()}
       WINDOW w AS (PARTITION BY run_id))
     SELECT r.dataset, pos.tool, least(floor(pos.p * 10), 9)::DOUBLE AS bin, count(*)::DOUBLE AS n
     FROM pos JOIN runs r USING (run_id)
     WHERE pos.p IS NOT NULL AND pos.tool IN (${tools.join(', ')})
     GROUP BY ALL`,
    params,
  )
  const totals = new Map<string, number>()
  for (const r of rows) totals.set(`${String(r.dataset)}\u0000${String(r.tool)}`, (totals.get(`${String(r.dataset)}\u0000${String(r.tool)}`) ?? 0) + Number(r.n))
  return rows
    .map((r) => ({
      bin: Number(r.bin),
      dataset: cleanText(String(r.dataset), 120),
      share_pct: (100 * Number(r.n)) / (totals.get(`${String(r.dataset)}\u0000${String(r.tool)}`) || 1),
      tool: String(r.tool),
    }))
    .sort((a, b) => a.dataset.localeCompare(b.dataset) || a.tool.localeCompare(b.tool) || a.bin - b.bin)
}
