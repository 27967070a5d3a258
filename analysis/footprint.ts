/**
 * Fig. 4: the agent's footprint: container image size (a) and the framework's memory
 * baseline (b, "185 MB early execution").
 * mem_baseline_mb. paper: mean of the first 60 samples (no script of the paper computes
 *   it; this is the definition that reproduces its numbers, paper-artifacts §3.8).
 *   corrected: time-weighted mean of the first 60 s, start transient dropped.
 * image_size_gb: per group, one image per task (the first dataset's, as the paper).
 *   paper: GiB (the paper's "GB" is size_mb / 1024); corrected: 10^9 bytes.
 */
import {Collector, keyed, runVal} from './collect.js'
import {mean, median} from './stats.js'
import {AnalysisContext, Family, metric, Missing, Val} from './types.js'

export const footprint: Family = {
  name: 'memory baseline and images',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(
      ctx,
      'rk',
      `WITH f AS (SELECT rk, min(t_us) AS t_first FROM an_clean GROUP BY rk)
       SELECT r.rk, p.base_p, coalesce(k.base_c, k.first_mem) AS base_c
       FROM an_runs r
       LEFT JOIN (SELECT rk, avg(mem_mb) AS base_p FROM an_samples WHERE i < 60 GROUP BY rk) p USING (rk)
       LEFT JOIN (
         SELECT s.rk, sum((s.pmem_mb + s.mem_mb) / 2 * s.dt_s) FILTER (s.ci > 0) / sum(s.dt_s) FILTER (s.ci > 0) AS base_c,
                min(s.mem_mb) FILTER (s.ci = 0) AS first_mem
         FROM an_clean s JOIN f USING (rk) WHERE s.t_us <= f.t_first + 60e6 GROUP BY s.rk) k USING (rk)`,
    )
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      c.run(run.run_id, 'mem_baseline_mb', metric('MB', runVal(run, r?.base_p, ['samples']), runVal(run, r?.base_c, ['clean'])))
    }
    c.aggregate('mem_baseline_mb', 'mem_baseline_mb', 'MB', (v) => mean(v))
    c.aggregate('mem_baseline_median_mb', 'mem_baseline_mb', 'MB', (v) => median(v))

    const images = await ctx.query(
      `SELECT grp, task_id, arg_min(image_bytes, dataset) AS bytes FROM an_runs
       WHERE image_bytes > 0 AND claude_s > 0 GROUP BY grp, task_id`,
    )
    for (const grp of ctx.groups) {
      const sizes = images.filter((r) => r.grp === grp).map((r) => Number(r.bytes))
      const stats = (unitBytes: number): Val =>
        sizes.length === 0
          ? new Missing('no run of this group records its image size')
          : {mean: mean(sizes)! / unitBytes, median: median(sizes)! / unitBytes, total: sizes.reduce((a, b) => a + b, 0) / unitBytes}
      c.group(grp, 'image_size_gb', metric('GB', stats(2 ** 30), stats(1e9)))
    }
    return c.result()
  },
}
