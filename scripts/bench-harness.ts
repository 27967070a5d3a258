/**
 * `npm run bench:harness`: what the run-benchmark harness costs per task, measured on real
 * runs (Podman, the demo image prepared, the real Claude Code CLI on the replay server, no
 * model latency). Per attempt: harness overhead before the agent starts (image_prepare +
 * container_create), time from the attempt's start to the agent's first model request (adds
 * the CLI's own start-up), and the sampler's own CPU during the run. The paper's runner spent
 * 156-168 s per task on its pull check + permission fix + ID-mapped copy before the agent.
 * Prints a table and one JSON line; uses a private Podman storage and a temp store.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'

import {runBenchmark} from '../collector/benchmark.js'
import {cacheDir, ensureDemoImage} from '../collector/image.js'
import {Store} from '../datasets/store.js'

async function main(): Promise<void> {
  process.env.AGENTCGROUP_PODMAN_ROOT ??= join(cacheDir(), 'podman-test')
  const attempts = Number(process.env.BENCH_ATTEMPTS ?? 2)
  const t0 = performance.now()
  const image = await ensureDemoImage((m) => console.error(m))
  console.error(`demo image ${image.image}: ${image.action} in ${image.seconds.toFixed(1)} s`)
  const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-harness-'))
  const db = join(dir, 'bench.duckdb')
  try {
    const result = await runBenchmark({
      agent: 'claude-code', attempts, catalog: 'demo', concurrency: 1, db, intervalMs: 100, latency: 'none', log: (m) => console.error(m),
      nodeMemoryBytes: null, retryFailed: false, runtime: 'podman', sessionsDir: null, shard: null, tasks: null, timeoutMs: 600_000,
    })
    const store = await Store.open(db, {readOnly: true})
    const rows = await store.query(`
      SELECT r.run_id, r.status, r.sampler, r.sampler_overhead_pct::DOUBLE AS sampler_pct,
        sum(CASE WHEN phase IN ('image_prepare', 'container_create') THEN end_us - start_us END)::DOUBLE / 1e6 AS harness_s,
        sum(CASE WHEN phase IN ('image_prepare', 'container_create', 'agent_start') THEN end_us - start_us END)::DOUBLE / 1e6 AS to_first_request_s,
        sum(CASE WHEN phase = 'agent_active' THEN end_us - start_us END)::DOUBLE / 1e6 AS agent_active_s,
        sum(CASE WHEN phase = 'teardown' THEN end_us - start_us END)::DOUBLE / 1e6 AS teardown_s
      FROM runs r JOIN phases USING (run_id) GROUP BY ALL ORDER BY run_id`)
    store.close()
    const mean = (k: string) => rows.reduce((a, r) => a + Number(r[k]), 0) / rows.length
    const max = (k: string) => Math.max(...rows.map((r) => Number(r[k])))
    console.log('run_id                      status  harness_s  to_first_request_s  agent_active_s  teardown_s  sampler        sampler_cpu_pct')
    for (const r of rows) {
      console.log(`${String(r.run_id).padEnd(28)}${String(r.status).padEnd(8)}${Number(r.harness_s).toFixed(2).padStart(9)}${Number(r.to_first_request_s).toFixed(2).padStart(20)}${Number(r.agent_active_s).toFixed(2).padStart(16)}${Number(r.teardown_s).toFixed(2).padStart(12)}  ${String(r.sampler).padEnd(15)}${Number(r.sampler_pct).toFixed(2).padStart(10)}`)
    }
    const summary = {
      attempts: rows.length,
      failed: result.runs.filter((r) => r.status !== 'done').length,
      harness_s_max: max('harness_s'),
      harness_s_mean: mean('harness_s'),
      paper_runner_overhead_s: [156, 168],
      sampler_cpu_pct_mean: mean('sampler_pct'),
      target_s: 2,
      to_first_request_s_max: max('to_first_request_s'),
      to_first_request_s_mean: mean('to_first_request_s'),
      total_s: (performance.now() - t0) / 1000,
    }
    console.log(JSON.stringify({...summary, load_avg_1m: loadavg()[0], target_met: summary.to_first_request_s_mean < summary.target_s}))
    // the time target depends on the machine's load: only failed attempts fail the benchmark
    if (summary.failed > 0) process.exitCode = 1
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

main().catch((error: unknown) => {
  console.error(`bench:harness: ${(error as Error).message}`)
  process.exit(1)
})
