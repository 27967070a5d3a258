/**
 * Fig. 1(b), both views of the end-to-end latency breakdown (§3.2, paper-artifacts §3.4).
 * paper: init = claude_time - active; tool = summed call time; llm = active - tool (can be
 *   negative); View 1 divides by permission_fix + claude_time, View 2 by claude_time; os =
 *   init + tool (View 1 adds the permission fix). Mean of per-run percentages; the seconds
 *   are means too. The permission fix is the one the paper's code looked up by task name
 *   (another dataset's run of the task wins, see prepare.ts).
 * corrected: init = container create + agent start phases; tool = union of call intervals
 *   in the active window; llm = active - tool; View 2 divides by init + active (teardown
 *   excluded), View 1 adds the permission fix.
 */
import {Collector, keyed, why} from './collect.js'
import {mean} from './stats.js'
import {TOOL_TIME_SQL} from './tool-time.js'
import {AnalysisContext, Family, MetricData, metric, Missing, Val} from './types.js'

interface Parts {
  permfix: number
  init: number
  tool: number
  llm: number
}

function shares(p: Parts): MetricData {
  const v1 = p.permfix + p.init + p.tool + p.llm
  const v2 = p.init + p.tool + p.llm
  const pct = (x: number, d: number) => (d > 0 ? (x / d) * 100 : null)
  return {
    view1: {init: pct(p.init, v1), llm: pct(p.llm, v1), os: pct(p.permfix + p.init + p.tool, v1), permission_fix: pct(p.permfix, v1), tool: pct(p.tool, v1)},
    view2: {init: pct(p.init, v2), llm: pct(p.llm, v2), os: pct(p.init + p.tool, v2), tool: pct(p.tool, v2)},
  }
}

const seconds = (p: Parts): MetricData => ({init: p.init, llm: p.llm, permission_fix: p.permfix, tool: p.tool})

export const latencyBreakdown: Family = {
  name: 'latency breakdown',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', TOOL_TIME_SQL)
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      let paper: Parts | Missing
      if (!r || r.claude_s === null || Number(r.claude_s) <= 0) paper = new Missing(why(run, ['claude_time'], 'no claude_time'))
      else {
        const active = Number(r.act_p_s)
        const tool = Number(r.tool_p_s)
        paper = {init: Number(r.claude_s) - active, llm: active - tool, permfix: Number(r.permfix_p_s ?? 0), tool}
      }
      let corrected: Parts | Missing
      if (!r || r.init_c_s === null || r.win_s === null) corrected = new Missing(why(run, ['phases', 'active'], 'init or active time unknown'))
      else {
        const tool = Number(r.tool_c_s)
        corrected = {init: Number(r.init_c_s), llm: Number(r.win_s) - tool, permfix: Number(r.permfix_c_s ?? 0), tool}
      }
      const view = (p: Parts | Missing, f: (x: Parts) => MetricData): Val => (p instanceof Missing ? p : f(p))
      c.run(run.run_id, 'latency_breakdown', metric('%', view(paper, shares), view(corrected, shares)))
      c.run(run.run_id, 'latency_breakdown_s', metric('s', view(paper, seconds), view(corrected, seconds)))
    }
    c.aggregateLeaves('latency_breakdown', 'latency_breakdown', '%', (v) => mean(v))
    c.aggregateLeaves('latency_breakdown_s', 'latency_breakdown_s', 's', (v) => mean(v))
    return c.result()
  },
}
