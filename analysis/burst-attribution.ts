/**
 * §3.3 "98.5 % of memory bursts occur during tool calls", and per-category spikes.
 * Attribution. paper: each sample is in a tool call when any call (sub-agent ones too)
 *   holds its time, ends included; memory-burst samples are those above 300 MB (a level),
 *   CPU-burst samples above 30 % (podman's lifetime average); counts pooled over the
 *   group's runs with at least 10 samples (paper-artifacts §3.11). concentration =
 *   attribution / tool share.
 * corrected: clean samples, each standing for the time half-way to its neighbours; the
 *   part of that time inside the union of calls is in a tool; CPU bursts are intervals of
 *   instantaneous CPU above 30 %. Shares of time instead of sample counts.
 * Spikes (bash_category_spikes, burst-profile categories). paper: per Bash call of 0.1 s or
 *   more with a sample inside: peak inside minus the last sample before it (else the first
 *   inside); per category with 2 calls or more: mean, P95, max. corrected: clean samples
 *   and instantaneous CPU, no duration cut.
 */
import type {BashCategory} from '../datasets/formats/bash-category.js'
import {CATEGORY_KEYS} from './bash-categories.js'
import {Collector, runVal} from './collect.js'
import {bucketSql, bucketsSql} from './sql.js'
import {AnalysisContext, Family, MetricData, metric, Missing, orMissing, Val} from './types.js'

const MEM_BURST_MB = 300
const CPU_BURST_PCT = 30

/**
 * Union of tool time up to each instant, as "covered(x) = union time before x": the union
 * interval starting last at or before x (an ASOF join) plus its time before x. Overlaps of a
 * window with the union are then covered(hi) - covered(lo), without joining every interval.
 */
const COUNTS_SQL = `
WITH uc AS (
  SELECT rk, s_us, e_us, coalesce(sum(e_us - s_us) OVER (PARTITION BY rk ORDER BY s_us ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before_us
  FROM an_union),
p AS (
  SELECT s.rk, s.grp, 1.0 AS w, 1.0 AS cw, CASE WHEN s.t_us <= u.e_us THEN 1.0 ELSE 0.0 END AS tool_w,
         CASE WHEN s.t_us <= u.e_us THEN 1.0 ELSE 0.0 END AS cpu_tool_w, s.mem_mb, s.cpu
  FROM an_samples s ASOF LEFT JOIN uc u ON s.rk = u.rk AND s.t_us >= u.s_us
  WHERE s.n >= 10),
kt AS (
  SELECT s.*, coalesce((s.pt_us + s.t_us) / 2, s.t_us) AS mid_us, coalesce(u.before_us + least(s.t_us - u.s_us, u.e_us - u.s_us), 0) AS cov_t
  FROM an_clean s ASOF LEFT JOIN uc u ON s.rk = u.rk AND s.t_us >= u.s_us),
km AS (
  SELECT kt.*, coalesce(u.before_us + least(kt.mid_us - u.s_us, u.e_us - u.s_us), 0) AS cov_mid
  FROM kt ASOF LEFT JOIN uc u ON kt.rk = u.rk AND kt.mid_us >= u.s_us),
-- a sample stands for [its midpoint with the previous sample, the midpoint with the next]
k AS (
  SELECT rk, grp, w_s AS w, coalesce(dt_s, 0) AS cw,
         (coalesce(lead(cov_mid) OVER w, cov_t) - cov_mid) / 1e6 AS tool_w,
         coalesce(cov_t - lag(cov_t) OVER w, 0) / 1e6 AS cpu_tool_w, mem_mb, cpu_inst AS cpu
  FROM km WINDOW w AS (PARTITION BY rk ORDER BY ci)),
b AS (SELECT 'paper' AS rule, * FROM p UNION ALL SELECT 'corrected', * FROM k)
SELECT rule, rk, grp,
       sum(w) AS w, sum(tool_w) AS tool_w,
       sum(w) FILTER (mem_mb > ${MEM_BURST_MB}) AS mem_w, sum(tool_w) FILTER (mem_mb > ${MEM_BURST_MB}) AS mem_tool_w,
       sum(cw) FILTER (cpu > ${CPU_BURST_PCT}) AS cpu_w, sum(cpu_tool_w) FILTER (cpu > ${CPU_BURST_PCT}) AS cpu_tool_w
FROM b GROUP BY rule, rk, grp`

/**
 * Per Bash call: the peak of the samples inside it and the sample just before the first of
 * them (its index - 1; for corrected CPU that interval has a value unless it is the run's start).
 */
const SPIKES_SQL = `
WITH bash AS (SELECT *, unnest(${bucketsSql('s_us', 'e_us')}) AS bucket FROM an_calls WHERE tool = 'Bash'),
pd AS (
  SELECT c.rk, c.grp, c.call_id, c.cat_burst AS cat, min(s.i) AS i_first,
         max(s.mem_mb) AS peak_mem, max(s.cpu) AS peak_cpu, arg_min(s.mem_mb, s.i) AS first_mem, arg_min(s.cpu, s.i) AS first_cpu
  FROM bash c JOIN (SELECT *, ${bucketSql('t_us')} AS bucket FROM an_samples WHERE n >= 10) s
       ON s.rk = c.rk AND s.bucket = c.bucket AND s.t_us >= c.s_us AND s.t_us <= c.e_us
  WHERE c.raw_dur_s >= 0.1 GROUP BY c.rk, c.grp, c.call_id, c.cat_burst),
p AS (SELECT 'paper' AS rule, pd.grp, pd.cat, pd.peak_mem - coalesce(b.mem_mb, pd.first_mem) AS mem_spike, pd.peak_cpu - coalesce(b.cpu, pd.first_cpu) AS cpu_spike
      FROM pd LEFT JOIN an_samples b ON b.rk = pd.rk AND b.i = pd.i_first - 1),
kd AS (
  SELECT c.rk, c.grp, c.call_id, c.cat_burst AS cat, min(s.ci) AS i_first,
         max(s.mem_mb) AS peak_mem, max(s.cpu_inst) AS peak_cpu, arg_min(s.mem_mb, s.ci) AS first_mem,
         arg_min(s.cpu_inst, s.ci) FILTER (s.cpu_inst IS NOT NULL) AS first_cpu
  FROM bash c JOIN (SELECT *, ${bucketSql('t_us')} AS bucket FROM an_clean) s
       ON s.rk = c.rk AND s.bucket = c.bucket AND s.t_us >= c.s_us AND s.t_us <= c.e_us
  GROUP BY c.rk, c.grp, c.call_id, c.cat_burst),
k AS (SELECT 'corrected' AS rule, kd.grp, kd.cat, kd.peak_mem - coalesce(b.mem_mb, kd.first_mem), kd.peak_cpu - coalesce(b.cpu_inst, kd.first_cpu)
      FROM kd LEFT JOIN an_clean b ON b.rk = kd.rk AND b.ci = kd.i_first - 1),
a AS (SELECT * FROM p UNION ALL SELECT * FROM k)
SELECT rule, grp, cat, count(*)::INTEGER AS n, avg(mem_spike) AS mem_mean, quantile_cont(mem_spike, 0.95) AS mem_p95,
       max(mem_spike) AS mem_max, avg(cpu_spike) AS cpu_mean
FROM a GROUP BY ALL HAVING count(*) >= 2 ORDER BY rule, grp, cat`

export const burstAttribution: Family = {
  name: 'burst attribution',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await ctx.query(COUNTS_SQL)
    const byRun = new Map(rows.map((r) => [`${r.rule}|${r.rk}`, r]))
    const share = (part: unknown, whole: unknown): number | null => (whole !== null && whole !== undefined && Number(whole) > 0 ? (Number(part ?? 0) / Number(whole)) * 100 : null)
    for (const run of ctx.runs) {
      const p = byRun.get(`paper|${run.rk}`)
      const k = byRun.get(`corrected|${run.rk}`)
      c.run(run.run_id, 'tool_sample_share', metric('%', runVal(run, share(p?.tool_w, p?.w), ['paper_samples']), runVal(run, share(k?.tool_w, k?.w), ['clean'])))
      const noBurst = `no memory above ${MEM_BURST_MB} MB`
      c.run(run.run_id, 'burst_tool_attribution', metric('%', runVal(run, share(p?.mem_tool_w, p?.mem_w), ['paper_samples'], noBurst), runVal(run, share(k?.mem_tool_w, k?.mem_w), ['clean'], noBurst)))
    }
    for (const grp of ctx.groups) {
      const sum = (rule: string, col: string) =>
        rows.filter((r) => r.rule === rule && r.grp === grp).reduce((a, r) => a + Number(r[col] ?? 0), 0)
      const groupShare = (rule: string, part: string, whole: string, none: string): number | Missing =>
        orMissing(share(sum(rule, part), sum(rule, whole)), none)
      const both = (name: string, part: string, whole: string, none: string) =>
        c.group(grp, name, metric('%', groupShare('paper', part, whole, none), groupShare('corrected', part, whole, none)))
      both('tool_sample_share', 'tool_w', 'w', 'no run of this group has samples')
      both('burst_tool_attribution', 'mem_tool_w', 'mem_w', `no sample above ${MEM_BURST_MB} MB in this group`)
      both('cpu_burst_tool_attribution', 'cpu_tool_w', 'cpu_w', `no CPU above ${CPU_BURST_PCT} % in this group`)
      const concentration = (rule: string): Val => {
        const attribution = share(sum(rule, 'mem_tool_w'), sum(rule, 'mem_w'))
        const tool = share(sum(rule, 'tool_w'), sum(rule, 'w'))
        // the paper's code floors the tool share at 0.1 %
        return attribution === null || tool === null ? new Missing('no memory bursts or no samples') : attribution / Math.max(tool, 0.1)
      }
      c.group(grp, 'burst_concentration', metric('x', concentration('paper'), concentration('corrected')))
    }

    const spikes = await ctx.query(SPIKES_SQL)
    for (const grp of ctx.groups) {
      const profile = (rule: string): Val => {
        const out: Record<string, MetricData> = {}
        for (const r of spikes.filter((x) => x.rule === rule && x.grp === grp)) {
          out[CATEGORY_KEYS[r.cat as BashCategory]] = {cpu_mean_pct: Number(r.cpu_mean), mem_max_mb: Number(r.mem_max), mem_mean_mb: Number(r.mem_mean), mem_p95_mb: Number(r.mem_p95), n: Number(r.n)}
        }
        return Object.keys(out).length > 0 ? out : new Missing('no Bash category has 2 or more calls with a sample inside')
      }
      c.group(grp, 'bash_category_spikes', metric('MB, %', profile('paper'), profile('corrected')))
    }
    return c.result()
  },
}
