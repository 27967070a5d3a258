/**
 * §3.3 retry loops: groups of 3 or more consecutive Bash calls, and the memory that stays
 * allocated across a group (paper-artifacts §3.12; the paper's "same test command"
 * condition is not in its code, so not here either).
 * paper: calls in the order their results came back (tool_calls.json), sub-agent calls
 *   interleaved; retry time = the group's
 *   summed Bash durations / claude_time; accumulation = memory at the first sample at or
 *   after the group's end minus the last sample at or before its start (0 where there is
 *   none), negatives dropped, summed per run. Runs with at least 10 samples.
 * corrected: main-thread calls in the order they were made (a sub-agent's calls belong to
 *   its Task), retry time
 *   over the corrected execution time, memory from clean samples (a group without a clean
 *   sample on both sides has no accumulation rather than a made-up 0).
 * Group figures: share of runs with a group; means over the runs that have one.
 */
import {Collector, keyed, runVal, why} from './collect.js'
import {max, mean} from './stats.js'
import {AnalysisContext, Family, metric, Missing, orMissing, RunInfo, Val} from './types.js'

type Rule = 'paper_rules' | 'corrected'

function groupsSql(rule: 'paper' | 'corrected'): string {
  const samples = rule === 'paper' ? 'an_samples' : 'an_clean'
  const missing = rule === 'paper' ? '0' : 'NULL'
  // tool_calls.json, which the paper's code reads, lists calls in the order their results came back
  const order = rule === 'paper' ? 'e_us, seq' : 'seq'
  return `
  WITH o AS (SELECT rk, tool, s_us, e_us, raw_dur_s, row_number() OVER (PARTITION BY rk ORDER BY ${order}) AS rn
             FROM an_calls ${rule === 'corrected' ? 'WHERE NOT side' : ''}),
  b AS (SELECT *, rn - row_number() OVER (PARTITION BY rk ORDER BY rn) AS island FROM o WHERE tool = 'Bash'),
  g AS (SELECT rk, island, count(*) AS n, arg_min(s_us, rn) AS g_start, arg_max(e_us, rn) AS g_end, sum(raw_dur_s) AS time_s
        FROM b GROUP BY rk, island HAVING count(*) >= 3),
  -- groups are few: a range join per run is cheaper than sorting every sample for an ASOF join
  ms AS (SELECT g.rk, g.island, arg_max(s.mem_mb, s.t_us) AS mem_mb FROM g JOIN ${samples} s ON g.rk = s.rk AND s.t_us <= g.g_start GROUP BY ALL),
  me AS (SELECT g.rk, g.island, arg_min(s.mem_mb, s.t_us) AS mem_mb FROM g JOIN ${samples} s ON g.rk = s.rk AND s.t_us >= g.g_end GROUP BY ALL),
  gm AS (SELECT g.*, coalesce(ms.mem_mb, ${missing}) AS ms_mb, coalesce(me.mem_mb, ${missing}) AS me_mb
         FROM g LEFT JOIN ms USING (rk, island) LEFT JOIN me USING (rk, island))
  SELECT '${rule}' AS rule, rk, count(*)::INTEGER AS groups, max(n)::INTEGER AS max_len, sum(time_s) AS time_s,
         -- greatest() would turn a NULL difference into 0
         sum(CASE WHEN me_mb IS NOT NULL AND ms_mb IS NOT NULL THEN greatest(0, me_mb - ms_mb) END) AS accum_mb
  FROM gm GROUP BY rk`
}

export const retries: Family = {
  name: 'retry groups',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'key', `SELECT rule || '|' || rk AS key, * FROM ((${groupsSql('paper')}) UNION ALL (${groupsSql('corrected')}))`)
    const base = await keyed(ctx, 'rk', `SELECT rk, claude_s, init_c_s + win_s AS exec_c_s FROM an_runs`)
    const eligible = {corrected: (r: RunInfo) => r.n_clean >= 2, paper: (r: RunInfo) => r.n_samples >= 10}
    for (const run of ctx.runs) {
      /** a run's value from its groups; `zero` when it has none (null: Missing), `why` when f gives null */
      const per = (rule: 'paper' | 'corrected', whyNull: string, f: (g: Record<string, unknown>) => unknown, zero: number | null): Val => {
        if (!eligible[rule](run)) return new Missing(why(run, rule === 'paper' ? ['paper_samples'] : ['clean'], 'too few samples'))
        const g = rows.get(`${rule}|${run.rk}`)
        if (!g) return zero ?? new Missing('no retry group')
        return runVal(run, f(g), rule === 'paper' ? ['claude_time'] : ['phases', 'active'], whyNull)
      }
      const b = base.get(String(run.rk))
      const pctOf = (denom: unknown, floor: number) => (g: Record<string, unknown>) =>
        denom === null || denom === undefined ? null : (Number(g.time_s) / Math.max(Number(denom), floor)) * 100
      const count = (col: string) => (g: Record<string, unknown>) => g[col]
      c.run(run.run_id, 'retry_groups', metric('count', per('paper', '', count('groups'), 0), per('corrected', '', count('groups'), 0)))
      c.run(run.run_id, 'retry_group_max_len', metric('count', per('paper', '', count('max_len'), 0), per('corrected', '', count('max_len'), 0)))
      // the paper's code divides by max(claude_time, 1)
      c.run(run.run_id, 'retry_time_pct', metric('%', per('paper', 'no claude_time', pctOf(b?.claude_s, 1), 0), per('corrected', 'no execution time', pctOf(b?.exec_c_s, 0), 0)))
      const noSides = 'no retry group has a clean sample before and after it'
      c.run(run.run_id, 'retry_mem_accum_mb', metric('MB', per('paper', noSides, count('accum_mb'), null), per('corrected', noSides, count('accum_mb'), null)))
    }
    for (const grp of ctx.groups) {
      /** the group's runs with enough samples, and those of them with a retry group */
      const split = (rule: Rule) => {
        const considered = ctx.runs.filter((r) => r.grp === grp && eligible[rule === 'paper_rules' ? 'paper' : 'corrected'](r))
        return {considered, withGroups: considered.filter((r) => Number(c.runs[r.run_id].retry_groups[rule] ?? 0) > 0)}
      }
      const tooFew = 'no run of this group has enough samples'
      const taskPct = (rule: Rule): Val => {
        const {considered, withGroups} = split(rule)
        return considered.length > 0 ? (withGroups.length / considered.length) * 100 : new Missing(tooFew)
      }
      c.group(grp, 'retry_task_pct', metric('%', taskPct('paper_rules'), taskPct('corrected')))
      const overGroups = (name: string, unit: string, from: string, f: (v: number[]) => number | null) => {
        const stat = (rule: Rule): Val => {
          const {considered, withGroups} = split(rule)
          const values = withGroups.map((r) => c.runs[r.run_id][from][rule]).filter((v): v is number => typeof v === 'number')
          return orMissing(values.length > 0 ? f(values) : null, considered.length === 0 ? tooFew : 'no retry group in this group')
        }
        c.group(grp, name, metric(unit, stat('paper_rules'), stat('corrected')))
      }
      overGroups('retry_groups_mean', 'count', 'retry_groups', (v) => mean(v))
      overGroups('retry_groups_max', 'count', 'retry_groups', (v) => max(v))
      overGroups('retry_group_max_len', 'count', 'retry_group_max_len', (v) => max(v))
      overGroups('retry_time_pct', '%', 'retry_time_pct', (v) => mean(v))
      overGroups('retry_mem_accum_mean_mb', 'MB', 'retry_mem_accum_mb', (v) => mean(v))
      overGroups('retry_mem_accum_max_mb', 'MB', 'retry_mem_accum_mb', (v) => max(v))
    }
    return c.result()
  },
}
