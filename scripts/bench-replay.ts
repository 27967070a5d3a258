/**
 * npm run bench:replay: how faithfully and how fast this machine replays.
 * - allocation throughput: plain memset on a fresh mmap vs the tenant's paths
 * - fidelity (time within 5 % of the trace) and step lag p99 on the paper scenario at 50x and
 *   200x (1300 MiB, policy none: nobody is killed, so every tenant's replay counts)
 * - how many tenants (the LOW trace) run at 50x on this machine with step lag p99 < 50 ms
 * - controller reaction latency (notification to action) on the paper scenario, agentcgroup
 * - simulator throughput (10,000 tenants)
 * Needs root and a memory cgroup controller for the real parts; prints JSON at the end.
 */
import {cpus} from 'node:os'

import {detectCgroupSystem, reapLeftovers} from '../kernel/cgroup.js'
import {runCgroupArm} from '../replayer/backends/cgroup.js'
import {simulate} from '../replayer/backends/sim.js'
import {armMetrics, percentile} from '../replayer/metrics.js'
import {buildPlan, poolPlan} from '../replayer/plan.js'
import {spareBytes} from '../replayer/runner.js'
import {loadScenario, validateScenario} from '../replayer/scenario.js'
import {measureAllocRate} from '../replayer/tenant.js'

const MiB = 2 ** 20
const log = (s: string): void => {
  process.stderr.write(`${s}\n`)
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {cpus: cpus().length}
  const rate = await measureAllocRate(256)
  out.alloc_rate_mib_s = rate
  out.tenant_vs_memset = {fresh_4k: rate.fresh4kMiBs / rate.memsetFreshMiBs, huge_warm: rate.hugeWarmMiBs / rate.memsetFreshMiBs}
  log(`allocation: memset fresh ${rate.memsetFreshMiBs.toFixed(0)} MiB/s; tenant 4 KiB ${rate.fresh4kMiBs.toFixed(0)} (x${(rate.fresh4kMiBs / rate.memsetFreshMiBs).toFixed(2)}), huge first ${rate.hugeFirstMiBs.toFixed(0)}, huge warm ${rate.hugeWarmMiBs.toFixed(0)} MiB/s`)

  const sys = detectCgroupSystem()
  const real = process.getuid?.() === 0 && sys.memory !== null
  if (real) {
    reapLeftovers(sys)
    const spare = spareBytes()
    const fid: Record<string, unknown> = {}
    for (const speed of [50, 200]) {
      const sc = loadScenario('paper-1300')
      sc.speed = speed
      const plan = await buildPlan(sc, null)
      const pool = poolPlan(plan, spare - sc.totalBytes)
      const rows = []
      for (let r = 0; r < 3; r++) {
        const m = armMetrics(await runCgroupArm(plan, 'none', {pool, sys}), sc.totalBytes)
        rows.push({fidelity_pct: m.fidelity_pct, lag_p99_ms: m.lag_p99_ms, high_fidelity_pct: m.tenants[0].fidelity_pct, survivors: m.survivors})
      }
      fid[`${speed}x`] = rows
      log(`paper-1300 at ${speed}x, none: fidelity ${rows.map((x) => x.fidelity_pct).join(', ')} %; step lag p99 ${rows.map((x) => x.lag_p99_ms).join(', ')} ms`)
      const noPool = armMetrics(await runCgroupArm(plan, 'none', {pool: null, sys}), sc.totalBytes)
      fid[`${speed}x_without_warm_pool`] = {fidelity_pct: noPool.fidelity_pct, lag_p99_ms: noPool.lag_p99_ms}
      log(`  without the warm pool: fidelity ${noPool.fidelity_pct} %, lag p99 ${noPool.lag_p99_ms} ms`)
    }
    out.paper_fidelity = fid

    const scale: {tenants: number; lag_p99_ms: number | null; fidelity_pct: number | null}[] = []
    for (const n of [5, 10, 20, 30, 40, 60]) {
      // agents do not start in lockstep: starts spread over one trace length (102.7 s)
      const tenants = Array.from({length: n}, (_, k) => ({name: `L${k}`, priority: 'low', run: 'sigmavirus24__github3.py-673', start_s: Math.round((k * 100) / n)}))
      const sc = validateScenario({policy: 'none', speed: 50, tenants, total: `${n * 400}M`}, 'scale')
      if (sc.totalBytes * 2 > spare) break
      const plan = await buildPlan(sc, null)
      // the runner's default: the warm pool follows up to 4 tenants per core, else only warms up
      const pool = poolPlan(plan, spare - sc.totalBytes, n <= 4 * cpus().length)
      const m = armMetrics(await runCgroupArm(plan, 'none', {pool, sys}), sc.totalBytes)
      scale.push({fidelity_pct: m.fidelity_pct, lag_p99_ms: m.lag_p99_ms, tenants: n})
      log(`${n} tenants at 50x: step lag p99 ${m.lag_p99_ms} ms, fidelity ${m.fidelity_pct} %`)
      if ((m.lag_p99_ms ?? Infinity) >= 50) break
    }
    out.tenants_at_50x = scale
    out.max_tenants_lag_under_50ms = Math.max(0, ...scale.filter((s) => (s.lag_p99_ms ?? Infinity) < 50).map((s) => s.tenants))

    const sc = loadScenario('paper')
    const plan = await buildPlan(sc, null)
    const pool = poolPlan(plan, spare - sc.totalBytes)
    const reactions: number[] = []
    const fast: number[] = []
    const survivors: number[] = []
    for (let r = 0; r < 5; r++) {
      const run = await runCgroupArm(plan, 'agentcgroup', {pool, sys})
      reactions.push(...run.controller.reactionsMs)
      fast.push(...run.controller.fastReactionsMs)
      survivors.push(run.tenants.filter((t) => t.end === 'done').length)
    }
    // the simulator against the real backend, same scenario, the machine's measured rate
    const validation = []
    for (const p of ['none', 'static', 'high', 'agentcgroup'] as const) {
      const realRun = await runCgroupArm(plan, p, {pool, sys})
      const simRun = simulate(plan, p, {allocMiBs: rate.hugeWarmMiBs, flavor: realRun.flavor})
      const surv = (r: typeof realRun) => r.tenants.map((t) => (t.end === 'done' ? t.name : `-${t.name}`)).join(' ')
      const diffs = realRun.tenants.map((t, i) => (t.completionMs !== null && simRun.tenants[i].completionMs !== null ? Math.abs(simRun.tenants[i].completionMs! - t.completionMs) / t.completionMs : null)).filter((d): d is number => d !== null)
      const row = {completion_max_diff_pct: diffs.length ? Math.round(Math.max(...diffs) * 1000) / 10 : null, lag_p99_ms: armMetrics(realRun, 1).lag_p99_ms, policy: p, real: surv(realRun), sim: surv(simRun)}
      validation.push(row)
      log(`sim vs real, ${p}: real [${row.real}] sim [${row.sim}], completion max diff ${row.completion_max_diff_pct} % (real lag p99 ${row.lag_p99_ms} ms)`)
    }
    out.sim_validation = validation
    out.reaction_ms = {n: reactions.length, p50: percentile(reactions, 50), p99: percentile(reactions, 99), max: Math.max(...reactions)}
    out.fast_path_reaction_ms = {n: fast.length, p50: percentile(fast, 50), p99: percentile(fast, 99)}
    out.agentcgroup_survivors = survivors
    log(`controller reaction (agentcgroup, paper, 5 runs): p50 ${percentile(reactions, 50)?.toFixed(3)} ms, p99 ${percentile(reactions, 99)?.toFixed(3)} ms, n ${reactions.length} (fast path in C: p50 ${percentile(fast, 50)?.toFixed(3)}, p99 ${percentile(fast, 99)?.toFixed(3)} ms, n ${fast.length}); survivors ${survivors.join(', ')}`)
  } else {
    log('not root or no memory cgroup controller: real-cgroup parts skipped')
  }

  const sc = validateScenario({policy: 'agentcgroup', speed: 50, tenants: [
    {base: '100M', count: 3333, priority: 'high', run: 'dask__dask-11628'},
    {base: '100M', count: 6667, priority: 'low', run: 'sigmavirus24__github3.py-673', start_s: 7},
  ], total: `${Math.round(10_000 * 0.2 * 1024)}M`}, 'sim-scale')
  const plan = await buildPlan(sc, null)
  const t0 = performance.now()
  const run = simulate(plan, 'agentcgroup')
  const s = (performance.now() - t0) / 1000
  const steps = run.tenants.reduce((a, t) => a + t.steps.length, 0)
  out.sim = {seconds: s, steps, steps_per_s: steps / s, tenants: 10_000}
  log(`simulator: 10,000 tenants, ${steps} steps in ${s.toFixed(2)} s (${(steps / s / 1e6).toFixed(2)} M steps/s)`)
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`)
}

await main()
