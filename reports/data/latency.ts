/**
 * The latency breakdown (Fig. 2) computed from per-run rows under the paper's rules, for when
 * no analysis result is at hand: init = claude_time - active time, tool = summed tool time,
 * LLM = active - tool (may be negative, as in the paper's code), OS = init + tool. View 1
 * divides by permission fix + claude_time, View 2 by claude_time; the figure is the mean of
 * per-run percentages.
 */
import type {LatencyViews} from '../analysis-contract.js'
import type {RunFigureRow} from './per-run.js'

export function latencyFromRuns(rows: RunFigureRow[]): Map<string, LatencyViews> {
  const acc = new Map<string, {n: number; v1: Record<string, number>; v2: Record<string, number>}>()
  for (const r of rows) {
    if (r.exec_s === null || r.active_s === null || r.exec_s <= 0) continue
    const tool = r.tool_s ?? 0
    const init = r.exec_s - r.active_s
    const llm = r.active_s - tool
    const fix = r.permission_fix_s ?? 0
    const d1 = fix + r.exec_s
    if (!acc.has(r.dataset)) acc.set(r.dataset, {n: 0, v1: {}, v2: {}})
    const a = acc.get(r.dataset)!
    a.n++
    const add = (o: Record<string, number>, k: string, v: number) => (o[k] = (o[k] ?? 0) + v)
    add(a.v1, 'permission_fix', (100 * fix) / d1)
    add(a.v1, 'init', (100 * init) / d1)
    add(a.v1, 'tool', (100 * tool) / d1)
    add(a.v1, 'llm', (100 * llm) / d1)
    add(a.v1, 'os', (100 * (fix + init + tool)) / d1)
    add(a.v2, 'init', (100 * init) / r.exec_s)
    add(a.v2, 'tool', (100 * tool) / r.exec_s)
    add(a.v2, 'llm', (100 * llm) / r.exec_s)
    add(a.v2, 'os', (100 * (init + tool)) / r.exec_s)
  }
  const out = new Map<string, LatencyViews>()
  for (const [dataset, a] of acc) {
    const mean = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v / a.n]))
    out.set(dataset, {view1: mean(a.v1), view2: mean(a.v2)})
  }
  return out
}
