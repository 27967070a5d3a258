/**
 * Fig. 3(b): where in a run each tool is called ("understand-modify-verify"), as the share
 * of a tool's calls in the early (0-30 %), mid (30-70 %) and late (70-100 %) part, pooled
 * over a group (10 bins, as the paper's code).
 * paper: position = (start - first call start) / (last call start - first call start),
 *   every call (sub-agent ones too), runs with two calls or more.
 * corrected: main-thread calls only (sub-agent calls run inside their Task), positioned in
 *   the run's active window.
 */
import {Collector} from './collect.js'
import {AnalysisContext, Family, MetricData, metric, Missing, Val} from './types.js'

const TOOLS = ['Bash', 'Read', 'Edit', 'Grep', 'Task', 'Write', 'TodoWrite']

export const toolTimeline: Family = {
  name: 'tool timeline',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const named = TOOLS.map((t) => `'${t}'`).join(', ')
    const rows = await ctx.query(
      `WITH p AS (
         SELECT grp, tool, least(floor((s_us - min(s_us) OVER w) / (max(s_us) OVER w - min(s_us) OVER w) * 10), 9) AS bin,
                max(s_us) OVER w - min(s_us) OVER w AS span
         FROM an_calls WINDOW w AS (PARTITION BY rk)),
       k AS (
         SELECT c.grp, c.tool, least(greatest(floor((c.s_us - r.win_start_us) / (r.win_end_us - r.win_start_us) * 10), 0), 9) AS bin
         FROM an_calls c JOIN an_runs r USING (rk) WHERE NOT c.side AND r.win_end_us > r.win_start_us),
       b AS (SELECT 'paper' AS rule, grp, tool, bin FROM p WHERE span > 0 UNION ALL SELECT 'corrected', grp, tool, bin FROM k)
       SELECT rule, grp, CASE WHEN tool IN (${named}) THEN tool ELSE 'Other' END AS tool,
              (count(*) FILTER (bin < 3))::INTEGER AS early, (count(*) FILTER (bin >= 3 AND bin < 7))::INTEGER AS mid,
              (count(*) FILTER (bin >= 7))::INTEGER AS late
       FROM b GROUP BY ALL`,
    )
    for (const grp of ctx.groups) {
      const timeline = (rule: string): Val => {
        const out: Record<string, MetricData> = {}
        for (const tool of [...TOOLS, 'Other']) {
          const r = rows.find((x) => x.rule === rule && x.grp === grp && x.tool === tool)
          if (!r) continue
          const n = Number(r.early) + Number(r.mid) + Number(r.late)
          out[tool] = {early: (Number(r.early) / n) * 100, late: (Number(r.late) / n) * 100, mid: (Number(r.mid) / n) * 100}
        }
        return Object.keys(out).length > 0 ? out : new Missing('no run of this group has two or more tool calls')
      }
      c.group(grp, 'tool_timeline', metric('%', timeline('paper'), timeline('corrected')))
    }
    return c.result()
  },
}
