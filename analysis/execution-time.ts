/**
 * Fig. 1(a): end-to-end execution time per task.
 * paper: the runner's claude_time (`podman run -d` through teardown; §3.2).
 * corrected: init (container create + agent start) plus the agent's active window, on the
 * absolute clock; the teardown after the agent exits (git diff, du, logs) is not task time.
 */
import {Collector, keyed, runVal} from './collect.js'
import {mean, median} from './stats.js'
import {AnalysisContext, Family, metric} from './types.js'

export const executionTime: Family = {
  name: 'execution time',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = await keyed(ctx, 'rk', `SELECT rk, claude_s, init_c_s + win_s AS exec_c_s FROM an_runs`)
    for (const run of ctx.runs) {
      const r = rows.get(String(run.rk))
      c.run(run.run_id, 'exec_time_s', metric('s', runVal(run, r?.claude_s, ['claude_time']), runVal(run, r?.exec_c_s, ['phases', 'active'])))
    }
    c.aggregate('exec_time_s', 'exec_time_s', 's', (v) => mean(v))
    c.aggregate('exec_time_median_s', 'exec_time_s', 's', (v) => median(v))
    return c.result()
  },
}
