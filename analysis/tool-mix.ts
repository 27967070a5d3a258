/**
 * Fig. 2(a): tool-type time shares and per-tool durations, pooled over a group's runs.
 * paper: share = sum of a tool's call durations / sum over all calls (sub-agent calls
 *   counted again inside their Task); mean duration = sum / calls.
 * corrected: shares of exclusive time (an_excl: concurrent calls split each instant, a
 *   Task yields to its own sub-agent calls), so shares add up to the union of tool time.
 *   A call's duration is measured exactly either way, so mean durations are the same.
 * tool_total_time_s: the time behind the shares (summed, or exclusive).
 * sidechain_tool_time_s: time of sub-agent calls (paper: summed; corrected: exclusive).
 */
import {Collector} from './collect.js'
import {AnalysisContext, Family, MetricData, metric, Missing, Val} from './types.js'

interface ToolRow {
  grp: string
  tool: string
  n: number
  dur_p: number
  dur_c: number
  side_p: number
  side_c: number
}

export const toolMix: Family = {
  name: 'tool mix',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = (await ctx.query(
      `SELECT c.grp, c.tool, count(*)::INTEGER AS n, sum(c.dur_s) AS dur_p, coalesce(sum(e.excl_s), 0) AS dur_c,
              coalesce(sum(c.dur_s) FILTER (c.side), 0) AS side_p, coalesce(sum(e.excl_s) FILTER (c.side), 0) AS side_c
       FROM an_calls c LEFT JOIN an_excl e USING (rk, call_id)
       GROUP BY c.grp, c.tool ORDER BY dur_p DESC, c.tool`,
    )) as unknown as ToolRow[]
    for (const grp of ctx.groups) {
      const tools = rows.filter((r) => r.grp === grp)
      const none = new Missing('no tool calls with a result in this group')
      const byTool = (f: (r: ToolRow) => number | null): Val => {
        if (tools.length === 0) return none
        const out: Record<string, MetricData | null> = {}
        for (const r of tools) out[r.tool] = f(r)
        return out
      }
      const totalP = tools.reduce((a, r) => a + r.dur_p, 0)
      const totalC = tools.reduce((a, r) => a + r.dur_c, 0)
      const share = (x: number, total: number) => (total > 0 ? (x / total) * 100 : null)
      c.group(grp, 'tool_time_shares', metric('%', byTool((r) => share(r.dur_p, totalP)), byTool((r) => share(r.dur_c, totalC))))
      c.group(grp, 'tool_total_time_s', metric('s', byTool((r) => r.dur_p), byTool((r) => r.dur_c)))
      const meanDur = byTool((r) => r.dur_p / r.n)
      c.group(grp, 'tool_mean_duration_s', metric('s', meanDur, meanDur))
      const counts = byTool((r) => r.n)
      c.group(grp, 'tool_call_counts', metric('count', counts, counts))
      const side = (f: (r: ToolRow) => number): Val => {
        if (tools.length === 0) return none
        const out: Record<string, number> = {total: tools.reduce((a, r) => a + f(r), 0)}
        for (const r of tools) if (f(r) > 0) out[r.tool] = f(r)
        return out
      }
      c.group(grp, 'sidechain_tool_time_s', metric('s', side((r) => r.side_p), side((r) => r.side_c)))
    }
    return c.result()
  },
}
