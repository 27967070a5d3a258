/**
 * §3.4 unpredictability: peak memory across tasks, execution time across runs of a task,
 * and whether LLM-side proxies (turns, output tokens) predict resources.
 * peak_mem_cv: sample stdev / mean of per-run peak memory. paper: max of the samples with
 *   memory > 0; corrected: max of clean samples (the same here: the dropped samples are
 *   never the peak).
 * cross_run_exec_time_ratio: the largest max/min execution time over tasks run twice or
 *   more in one dataset (same agent and model).
 * token_correlations: Pearson r over runs. paper: turns = assistant records of the
 *   transcript and output tokens summed over them (a message split into several records
 *   counts several times, as the paper's code does), against peak memory and claude_time;
 *   runs with a transcript, 5 or more. corrected: turns = API messages (llm_turns) and
 *   their output tokens, against the corrected peak and execution time.
 */
import {Collector, keyed, runVal} from './collect.js'
import {max, mean, min, pearson, stdev} from './stats.js'
import {AnalysisContext, Family, MetricData, metric, Missing, Val} from './types.js'

const SQL = `
WITH pk AS (SELECT rk, max(mem_mb) FILTER (mem_mb > 0) AS peak_p FROM an_samples GROUP BY rk),
ck AS (SELECT rk, max(mem_mb) AS peak_c FROM an_clean GROUP BY rk),
rec AS (
  -- a regex instead of parsing each record: the same numbers in a third of the time; a JSON
  -- string cannot hold these unescaped quotes, so only record keys match, and the last usage
  -- object of an assistant record is its message's
  SELECT run_id, count(*) AS turns_p,
         sum(coalesce(list_last(regexp_extract_all(l, '"usage":\\{(?:[^{}]|\\{[^{}]*\\})*?"output_tokens":(\\d+)', 1)), '0')::DOUBLE) AS out_p
  FROM (SELECT run_id, unnest(string_split(content, chr(10))) AS l FROM transcripts WHERE run_id IN (SELECT run_id FROM an_runs))
  WHERE contains(l, '"type":"assistant"')
  GROUP BY run_id),
lt AS (SELECT run_id, count(*) AS turns_c, sum(coalesce(output_tokens, 0))::DOUBLE AS out_c FROM llm_turns WHERE run_id IN (SELECT run_id FROM an_runs) GROUP BY run_id)
SELECT r.rk, r.dataset, r.task_id, r.claude_s, r.init_c_s + r.win_s AS exec_c, pk.peak_p, ck.peak_c,
       rec.turns_p, rec.out_p, lt.turns_c, lt.out_c
FROM an_runs r LEFT JOIN pk USING (rk) LEFT JOIN ck USING (rk) LEFT JOIN rec USING (run_id) LEFT JOIN lt USING (run_id)`

const MIN_RUNS_FOR_R = 5

export const variability: Family = {
  name: 'variability and tokens',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', SQL)
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      c.run(run.run_id, 'llm_turns', metric('count', runVal(run, r?.turns_p, ['transcript']), runVal(run, r?.turns_c, ['turns'])))
      c.run(run.run_id, 'output_tokens', metric('tokens', runVal(run, r?.out_p, ['transcript']), runVal(run, r?.out_c, ['turns'])))
    }
    for (const grp of ctx.groups) {
      const members = ctx.runs.filter((r) => r.grp === grp).map((r) => rows.get(String(r.rk))!).filter(Boolean)
      const peaks = (col: string) => members.map((r) => (r[col] === null ? null : Number(r[col])))
      const cv = (col: string): Val => {
        const s = stdev(peaks(col))
        const m = mean(peaks(col))
        return s === null || !m ? new Missing('fewer than 2 runs with memory samples') : (s / m) * 100
      }
      c.group(grp, 'peak_mem_cv', metric('%', cv('peak_p'), cv('peak_c')))
      const range = (col: string): Val => (min(peaks(col)) === null ? new Missing('no run with memory samples') : {max: max(peaks(col)), min: min(peaks(col))})
      c.group(grp, 'peak_mem_range_mb', metric('MB', range('peak_p'), range('peak_c')))

      const crossRun = (col: string): Val => {
        const byTask = new Map<string, number[]>()
        // runs of one task in one dataset (same agent and model), also when datasets are pooled
        for (const r of members) {
          const key = `${String(r.dataset)}/${String(r.task_id)}`
          if (r[col] !== null && Number(r[col]) > 0) byTask.set(key, [...(byTask.get(key) ?? []), Number(r[col])])
        }
        const ratios = [...byTask.values()].filter((v) => v.length >= 2).map((v) => Math.max(...v) / Math.min(...v))
        return ratios.length > 0 ? Math.max(...ratios) : new Missing('no task has two or more runs in this group')
      }
      c.group(grp, 'cross_run_exec_time_ratio', metric('x', crossRun('claude_s'), crossRun('exec_c')))

      const tokens = (turns: string, outTokens: string, peak: string, exec: string): Val => {
        const usable = members.filter((r) => r[turns] !== null && Number(r[turns]) > 0 && r[exec] !== null && Number(r[exec]) > 0 && r[peak] !== null)
        if (usable.length < MIN_RUNS_FOR_R) return new Missing(`${usable.length} runs with turns, memory and execution time: need ${MIN_RUNS_FOR_R}`)
        const col = (k: string) => usable.map((r) => Number(r[k]))
        const out: Record<string, MetricData | null> = {
          output_tokens_vs_exec_time: pearson(col(outTokens), col(exec)),
          output_tokens_vs_peak_mem: pearson(col(outTokens), col(peak)),
          turns_vs_exec_time: pearson(col(turns), col(exec)),
          turns_vs_peak_mem: pearson(col(turns), col(peak)),
        }
        return out
      }
      c.group(grp, 'token_correlations', metric('r', tokens('turns_p', 'out_p', 'peak_p', 'claude_s'), tokens('turns_c', 'out_c', 'peak_c', 'exec_c')))
    }
    return c.result()
  },
}
