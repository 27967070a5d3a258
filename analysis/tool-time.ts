/**
 * Fig. 1(b) and 3(a): active time, tool time and the tool-time ratio (§3.2).
 * paper: active = transcript first to last record (else claude_time); tool time = the sum
 *   of every call's duration, sub-agent and overlapping calls included (so a ratio can pass
 *   100 %); per-dataset figures are the mean (and median, min, max) over runs, plus the
 *   aggregate sum(tool) / sum(active).
 * corrected: the union of call intervals inside the active window (transcript span, else
 *   the span of clean samples).
 * runs_with_overlapping_calls: runs with a transcript whose calls overlap by more than 0.5 s.
 */
import {Collector, keyed, runVal} from './collect.js'
import {overlapSql} from './sql.js'
import {max, mean, median, min} from './stats.js'
import {AnalysisContext, Family, metric, Missing} from './types.js'

/** Per-run tool time under both rules; latency-breakdown.ts reuses it. */
export const TOOL_TIME_SQL = `
  SELECT r.rk, r.act_p_s, r.win_s, r.init_c_s, r.claude_s, r.permfix_p_s, r.permfix_c_s,
         coalesce(p.tool_s, 0) AS tool_p_s, coalesce(u.tool_s, 0) AS tool_c_s, coalesce(u.union_s, 0) AS union_s
  FROM an_runs r
  LEFT JOIN (SELECT rk, sum(dur_s) AS tool_s FROM an_calls GROUP BY rk) p USING (rk)
  LEFT JOIN (SELECT u.rk, sum(${overlapSql('u.s_us', 'u.e_us', 'r.win_start_us', 'r.win_end_us')}) / 1e6 AS tool_s,
                    sum(u.e_us - u.s_us) / 1e6 AS union_s
             FROM an_union u JOIN an_runs r USING (rk) GROUP BY u.rk) u USING (rk)`

/** Calls overlapping by more than this much (summed) make a run count as one with overlaps. */
const OVERLAP_S = 0.5

export const toolTime: Family = {
  name: 'tool time',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', TOOL_TIME_SQL)
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      const activeP = runVal(run, r?.act_p_s, ['transcript', 'claude_time'])
      const activeC = runVal(run, r?.win_s, ['active'])
      c.run(run.run_id, 'active_time_s', metric('s', activeP, activeC))
      c.run(run.run_id, 'tool_time_s', metric('s', activeP instanceof Missing ? activeP : Number(r?.tool_p_s), activeC instanceof Missing ? activeC : Number(r?.tool_c_s)))
      const ratio = (tool: unknown, active: number | Missing) =>
        active instanceof Missing ? active : active > 0 ? (Number(tool) / active) * 100 : new Missing('active time is 0')
      c.run(run.run_id, 'tool_time_ratio', metric('%', ratio(r?.tool_p_s, activeP), ratio(r?.tool_c_s, activeC)))
    }
    c.aggregate('tool_time_ratio', 'tool_time_ratio', '%', (v) => mean(v))
    c.aggregate('tool_time_ratio_median', 'tool_time_ratio', '%', (v) => median(v))
    c.aggregate('tool_time_ratio_min', 'tool_time_ratio', '%', (v) => min(v))
    c.aggregate('tool_time_ratio_max', 'tool_time_ratio', '%', (v) => max(v))
    for (const grp of ctx.groups) {
      const runs = ctx.runs.filter((r) => r.grp === grp)
      const aggregate = (rule: 'paper_rules' | 'corrected') => {
        let tool = 0
        let active = 0
        for (const r of runs) {
          const t = c.runs[r.run_id].tool_time_s[rule]
          const a = c.runs[r.run_id].active_time_s[rule]
          if (typeof t === 'number' && typeof a === 'number') [tool, active] = [tool + t, active + a]
        }
        return active > 0 ? (tool / active) * 100 : new Missing('no run of this group has an active time')
      }
      c.group(grp, 'tool_time_ratio_aggregate', metric('%', aggregate('paper_rules'), aggregate('corrected')))
      // a fact of the data, the same under both rules: how many transcribed runs the paper's sum double-counts
      const overlapping = runs.filter((r) => r.has_transcript).filter((r) => {
        const row = rows.get(String(r.rk))
        return row !== undefined && Number(row.tool_p_s) - Number(row.union_s) > OVERLAP_S
      }).length
      c.group(grp, 'runs_with_overlapping_calls', metric('count', overlapping, overlapping))
    }
    return c.result()
  },
}
