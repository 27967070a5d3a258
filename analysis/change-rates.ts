/**
 * Fig. 7: CPU and memory change rates, and bursts (20 %/s CPU or 50 MB/s memory).
 * paper: consecutive samples 0 < dt < 2 s (bursts: dt <= 2 s), |delta| / dt of podman's
 *   lifetime-average CPU and of memory (the exit 0B sample included); burst_fraction =
 *   burst pairs / pairs, pooled over a group's runs (paper-artifacts §3.10).
 * corrected: clean samples at any interval; CPU is the instantaneous CPU, its rate taken
 *   between neighbouring intervals' midpoints; fractions and the 95th percentiles are
 *   weighted by interval length (share of sampled time, not of sample pairs).
 */
import {Collector, keyed, runVal} from './collect.js'
import {weightedPercentile} from './stats.js'
import {AnalysisContext, Family, metric, orMissing} from './types.js'

const CPU_BURST_PCT_S = 20
const MEM_BURST_MB_S = 50
const BIG_MEM_MB_S = 100

const RATES_SQL = `
CREATE OR REPLACE TEMP TABLE an_rates AS
SELECT 'paper' AS rule, rk, grp, 1.0 AS w,
       dt < 2 AS in_rates, dt <= 2 AS in_bursts,
       abs(cpu - pcpu) / dt AS cpu_rate, abs(mem_mb - pmem_mb) / dt AS mem_rate
FROM (SELECT *, (t_us - pt_us) / 1e6 AS dt FROM an_samples WHERE pt_us IS NOT NULL) WHERE dt > 0
UNION ALL
SELECT 'corrected', rk, grp, dt_s, true, true,
       abs(cpu_inst - pcpu_inst) / ((dt_s + pdt_s) / 2), abs(mem_mb - pmem_mb) / dt_s
FROM an_clean WHERE dt_s > 0`

/** Weighted sums over the pairs of one rule: w = 1 per pair (paper) or seconds (corrected). */
const SUMS = `
  sum(w) FILTER (in_rates) AS n,
  sum(w) FILTER (in_bursts AND (cpu_rate > ${CPU_BURST_PCT_S} OR mem_rate > ${MEM_BURST_MB_S})) AS bursts,
  (count(*) FILTER (in_bursts AND (cpu_rate > ${CPU_BURST_PCT_S} OR mem_rate > ${MEM_BURST_MB_S})))::INTEGER AS burst_pairs,
  sum(w) FILTER (in_rates AND mem_rate > ${BIG_MEM_MB_S}) AS big,
  max(cpu_rate) FILTER (in_rates) AS cpu_max, max(mem_rate) FILTER (in_rates) AS mem_max`

export const changeRates: Family = {
  name: 'change rates and bursts',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    await ctx.query(RATES_SQL)
    const perRun = await keyed(ctx, 'key', `SELECT rule || '|' || rk AS key, ${SUMS} FROM an_rates GROUP BY rule, rk`)
    const perGroup = await keyed(
      ctx,
      'key',
      `SELECT s.*, p95.cpu_p95, p95.mem_p95
       FROM (SELECT rule || '|' || grp AS key, ${SUMS} FROM an_rates GROUP BY rule, grp) s
       -- the paper's percentile is numpy's over pairs; the corrected one is weighted (below)
       LEFT JOIN (SELECT 'paper|' || grp AS key, quantile_cont(cpu_rate, 0.95) AS cpu_p95, quantile_cont(mem_rate, 0.95) AS mem_p95
                  FROM an_rates WHERE rule = 'paper' AND in_rates GROUP BY grp) p95 USING (key)`,
    )
    // weighted by interval length: sorting in JS beats two window passes in DuckDB here
    const corrected = await ctx.query(`SELECT grp, list(cpu_rate) AS cpu, list(mem_rate) AS mem, list(w) AS w FROM an_rates WHERE rule = 'corrected' GROUP BY grp`)
    for (const r of corrected) {
      const row = perGroup.get(`corrected|${String(r.grp)}`)
      if (!row) continue
      row.cpu_p95 = weightedPercentile(r.cpu as (number | null)[], r.w as number[], 95)
      row.mem_p95 = weightedPercentile(r.mem as (number | null)[], r.w as number[], 95)
    }
    await ctx.query('DROP TABLE an_rates')

    const pct = (part: unknown, whole: unknown) => (whole !== null && Number(whole) > 0 ? (Number(part ?? 0) / Number(whole)) * 100 : null)
    for (const run of ctx.runs) {
      const p = perRun.get(`paper|${run.rk}`)
      const k = perRun.get(`corrected|${run.rk}`)
      const why = 'no pair of samples less than 2 s apart'
      c.run(run.run_id, 'burst_fraction', metric('%', runVal(run, pct(p?.bursts, p?.n), ['samples'], why), runVal(run, pct(k?.bursts, k?.n), ['clean'])))
      c.run(run.run_id, 'cpu_change_rate_max_pct_s', metric('%/s', runVal(run, p?.cpu_max, ['samples', 'cpu'], why), runVal(run, k?.cpu_max, ['clean', 'cpu'])))
      c.run(run.run_id, 'mem_change_rate_max_mb_s', metric('MB/s', runVal(run, p?.mem_max, ['samples'], why), runVal(run, k?.mem_max, ['clean'])))
    }
    for (const grp of ctx.groups) {
      const p = perGroup.get(`paper|${grp}`)
      const k = perGroup.get(`corrected|${grp}`)
      const none = 'no run of this group has a usable pair of samples'
      const both = (name: string, unit: string, f: (r: Record<string, unknown> | undefined) => unknown) =>
        c.group(grp, name, metric(unit, orMissing(f(p), none), orMissing(f(k), none)))
      both('burst_fraction', '%', (r) => pct(r?.bursts, r?.n))
      both('burst_count', 'count', (r) => (r ? r.burst_pairs : null))
      both('mem_change_over_100mb_s_pct', '%', (r) => pct(r?.big, r?.n))
      both('cpu_change_rate_max_pct_s', '%/s', (r) => r?.cpu_max)
      both('cpu_change_rate_p95_pct_s', '%/s', (r) => r?.cpu_p95)
      both('mem_change_rate_max_mb_s', 'MB/s', (r) => r?.mem_max)
      both('mem_change_rate_p95_mb_s', 'MB/s', (r) => r?.mem_p95)
    }
    return c.result()
  },
}
