/**
 * Figs. 5-6: how far memory peaks above its average, how long a peak lasts, and when.
 * paper: peak_to_avg = max / mean of the samples with memory > 0 (the runner's summary);
 *   spike_duration = the longest run of consecutive samples >= 0.8 x peak, in samples (the
 *   paper reads them as seconds); peak position = index of the max / (n - 1);
 *   cpu_peak_to_avg = max / mean of podman's lifetime-average CPU samples.
 * corrected: start transient and exit 0B dropped; means time-weighted (trapezoid); the
 *   spike lasts from its first sample until the sample after its last, in seconds; peak
 *   position on the clock; CPU is the instantaneous CPU of each interval.
 * Group figures: peak_to_avg_max (max over runs), the rest means over runs.
 */
import {Collector, keyed, runVal} from './collect.js'
import {max, mean} from './stats.js'
import {AnalysisContext, Family, metric} from './types.js'

const SQL = `
WITH pk AS (SELECT rk, max(mem_mb) FILTER (mem_mb > 0) AS peak, avg(mem_mb) FILTER (mem_mb > 0) AS avg_mem,
                   max(mem_mb) AS top, max(cpu) AS cpu_max, avg(cpu) AS cpu_avg, max(n) AS n
            FROM an_samples GROUP BY rk),
pos AS (SELECT s.rk, min(s.i) AS i_peak FROM an_samples s JOIN pk USING (rk) WHERE s.mem_mb = pk.top GROUP BY s.rk),
hi AS (SELECT s.rk, s.i - row_number() OVER (PARTITION BY s.rk ORDER BY s.i) AS island
       FROM an_samples s JOIN pk USING (rk) WHERE s.mem_mb >= 0.8 * pk.peak),
spike AS (SELECT rk, max(n) AS spike_n FROM (SELECT rk, island, count(*) AS n FROM hi GROUP BY ALL) GROUP BY rk),
ck AS (SELECT rk, max(mem_mb) AS peak, sum((pmem_mb + mem_mb) / 2 * dt_s) / sum(dt_s) AS avg_mem,
              min(t_us) AS t_first, max(t_us) AS t_last,
              max(cpu_inst) AS cpu_max, sum(cpu_inst * dt_s) / sum(dt_s) FILTER (cpu_inst IS NOT NULL) AS cpu_avg
       FROM an_clean GROUP BY rk),
cpos AS (SELECT s.rk, min(s.t_us) AS t_peak FROM an_clean s JOIN ck USING (rk) WHERE s.mem_mb = ck.peak GROUP BY s.rk),
chi AS (SELECT s.rk, s.t_us, s.nt_us, s.ci - row_number() OVER (PARTITION BY s.rk ORDER BY s.ci) AS island
        FROM an_clean s JOIN ck USING (rk) WHERE s.mem_mb >= 0.8 * ck.peak),
cspike AS (SELECT rk, max(d) AS spike_s FROM (SELECT rk, (max(coalesce(nt_us, t_us)) - min(t_us)) / 1e6 AS d FROM chi GROUP BY rk, island) GROUP BY rk)
SELECT r.rk,
       pk.peak AS peak_p, pk.avg_mem AS avg_p, pk.peak / pk.avg_mem AS ratio_p, spike.spike_n AS spike_p,
       CASE WHEN pk.n > 1 THEN pos.i_peak / (pk.n - 1) * 100 END AS pos_p,
       CASE WHEN pk.cpu_avg > 0 THEN pk.cpu_max / pk.cpu_avg END AS cpu_ratio_p,
       CASE WHEN ck.t_last > ck.t_first THEN ck.peak END AS peak_c, ck.avg_mem AS avg_c,
       ck.peak / ck.avg_mem AS ratio_c, cspike.spike_s AS spike_c,
       CASE WHEN ck.t_last > ck.t_first THEN (cpos.t_peak - ck.t_first) / (ck.t_last - ck.t_first) * 100 END AS pos_c,
       CASE WHEN ck.cpu_avg > 0 THEN ck.cpu_max / ck.cpu_avg END AS cpu_ratio_c
FROM an_runs r LEFT JOIN pk USING (rk) LEFT JOIN pos USING (rk) LEFT JOIN spike USING (rk)
     LEFT JOIN ck USING (rk) LEFT JOIN cpos USING (rk) LEFT JOIN cspike USING (rk)`

export const peakRatio: Family = {
  name: 'peak to average',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', SQL)
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      const both = (name: string, unit: string, p: string, k: string, needsC: ('clean' | 'cpu')[] = ['clean']) =>
        c.run(run.run_id, name, metric(unit, runVal(run, r?.[p], ['samples']), runVal(run, r?.[k], needsC)))
      both('mem_peak_mb', 'MB', 'peak_p', 'peak_c')
      both('mem_avg_mb', 'MB', 'avg_p', 'avg_c')
      both('peak_to_avg', 'x', 'ratio_p', 'ratio_c')
      c.run(run.run_id, 'spike_duration_s', metric('s', runVal(run, r?.spike_p, ['samples']), runVal(run, r?.spike_c, ['clean'])))
      both('mem_peak_position_pct', '%', 'pos_p', 'pos_c')
      c.run(run.run_id, 'cpu_peak_to_avg', metric('x', runVal(run, r?.cpu_ratio_p, ['samples', 'cpu']), runVal(run, r?.cpu_ratio_c, ['clean', 'cpu'])))
    }
    c.aggregate('peak_to_avg_max', 'peak_to_avg', 'x', (v) => max(v))
    c.aggregate('peak_to_avg_mean', 'peak_to_avg', 'x', (v) => mean(v))
    c.aggregate('spike_duration_s', 'spike_duration_s', 's', (v) => mean(v))
    c.aggregate('mem_peak_position_pct', 'mem_peak_position_pct', '%', (v) => mean(v))
    c.aggregate('cpu_peak_to_avg_mean', 'cpu_peak_to_avg', 'x', (v) => mean(v))
    return c.result()
  },
}
