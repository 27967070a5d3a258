/**
 * §3.3-3.4 CPU use and the CPU-memory correlation ("0.84 to 0.50", "13.2 % vs 7.6 %").
 * paper: per run, Pearson r of podman's CPU and memory over every sample (start and exit
 *   0B samples included) for runs with 10 samples or more; avg_cpu_pct = the plain mean of
 *   the samples; high_cpu_sample_pct = samples above 50 %, pooled over the group.
 * corrected: podman's CPU is a lifetime average that decays while memory grows, which
 *   makes r negative by construction (paper-artifacts §3.13); here r is between each
 *   sample's memory and the instantaneous CPU of the interval it ends, weighted by interval
 *   length, over clean samples; CPU figures are time-weighted instantaneous CPU.
 */
import {Collector, keyed, runVal} from './collect.js'
import {max, mean, min} from './stats.js'
import {AnalysisContext, Family, metric, orMissing} from './types.js'

const HIGH_CPU_PCT = 50

const SQL = `
WITH p AS (SELECT rk, corr(cpu, mem_mb) AS r, avg(cpu) AS cpu_avg, count(cpu) AS n_cpu,
                  count(*) FILTER (cpu > ${HIGH_CPU_PCT}) AS n_high, max(n) AS n
           FROM an_samples GROUP BY rk),
k0 AS (SELECT rk, dt_s AS w, cpu_inst AS x, mem_mb AS y FROM an_clean WHERE cpu_inst IS NOT NULL AND dt_s > 0),
k AS (SELECT rk, sum(w) AS sw, sum(w * x) / sum(w) AS mx, sum(w * y) / sum(w) AS my,
             sum(w * x * x) / sum(w) AS mxx, sum(w * y * y) / sum(w) AS myy, sum(w * x * y) / sum(w) AS mxy,
             sum(w) FILTER (x > ${HIGH_CPU_PCT}) AS w_high, count(*) AS n
      FROM k0 GROUP BY rk)
SELECT r.rk, p.n_cpu, p.n_high,
       CASE WHEN p.n >= 10 AND isfinite(p.r) THEN p.r END AS r_p, p.cpu_avg AS cpu_p,
       CASE WHEN p.n_cpu > 0 THEN p.n_high / p.n_cpu * 100 END AS high_p,
       CASE WHEN k.n >= 3 AND k.mxx - k.mx * k.mx > 0 AND k.myy - k.my * k.my > 0
            THEN (k.mxy - k.mx * k.my) / sqrt((k.mxx - k.mx * k.mx) * (k.myy - k.my * k.my)) END AS r_c,
       k.mx AS cpu_c, k.sw, coalesce(k.w_high, 0) AS w_high, coalesce(k.w_high, 0) / k.sw * 100 AS high_c
FROM an_runs r LEFT JOIN p USING (rk) LEFT JOIN k USING (rk)`

export const cpuMemory: Family = {
  name: 'cpu and correlation',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', SQL)
    const flat = 'fewer than 10 samples, or CPU or memory never changes'
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      c.run(run.run_id, 'cpu_mem_correlation', metric('r', runVal(run, r?.r_p, ['paper_samples', 'cpu'], flat), runVal(run, r?.r_c, ['clean', 'cpu'], 'fewer than 3 intervals, or CPU or memory never changes')))
      c.run(run.run_id, 'avg_cpu_pct', metric('%', runVal(run, r?.cpu_p, ['samples', 'cpu']), runVal(run, r?.cpu_c, ['clean', 'cpu'])))
      c.run(run.run_id, 'high_cpu_sample_pct', metric('%', runVal(run, r?.high_p, ['samples', 'cpu']), runVal(run, r?.high_c, ['clean', 'cpu'])))
    }
    c.aggregate('cpu_mem_correlation', 'cpu_mem_correlation', 'r', (v) => mean(v))
    c.aggregate('cpu_mem_correlation_min', 'cpu_mem_correlation', 'r', (v) => min(v))
    c.aggregate('cpu_mem_correlation_max', 'cpu_mem_correlation', 'r', (v) => max(v))
    c.aggregate('avg_cpu_pct', 'avg_cpu_pct', '%', (v) => mean(v))
    for (const grp of ctx.groups) {
      const members = ctx.runs.filter((x) => x.grp === grp).map((x) => rows.get(String(x.rk))).filter((x) => x !== undefined)
      const pooled = (part: string, whole: string) => {
        const w = members.reduce((a, x) => a + Number(x[whole] ?? 0), 0)
        return orMissing(w > 0 ? (members.reduce((a, x) => a + Number(x[part] ?? 0), 0) / w) * 100 : null, 'no CPU measurements in this group')
      }
      c.group(grp, 'high_cpu_sample_pct', metric('%', pooled('n_high', 'n_cpu'), pooled('w_high', 'sw')))
    }
    return c.result()
  },
}
