/**
 * `npm run bench:control`: N concurrent agents on the `memory-burst` demo task (each holds
 * about 600 MB above its own baseline in its test runs), on a node budget below their combined
 * peak, under --control none / static / agentcgroup, for N = 2, 4, 8 (BENCH_N=2,4 to choose).
 * Per configuration: attempts completed with tests passing, OOM kills, control actions, p99
 * reaction latency (kernel notification to action done), time the controller held tool calls
 * back, and the wall time. The budget is N agents' baseline plus room for one burst:
 * BENCH_BASE_MIB (170) * N + BENCH_BURST_MIB (860), e.g. 1200 MiB for N = 2.
 * Real Podman containers, the real Claude Code CLI on the replay server (recorded latency).
 * Prints a table and one JSON line; a private Podman storage and a temp store.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {cpus, loadavg, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'

import {runBenchmark} from '../collector/benchmark.js'
import type {ControlMode} from '../collector/control/live.js'
import {cacheDir, ensureDemoImage} from '../collector/image.js'
import {percentile} from '../analysis/stats.js'
import {Store} from '../datasets/store.js'

interface Row {
  n: number
  control: ControlMode
  node_mib: number
  completed: number
  attempts: number
  oom_kills: number
  throttles: number
  freezes: number
  reaction_p50_ms: number | null
  reaction_p99_ms: number | null
  held_back_s: number
  wall_s: number
}

async function configuration(n: number, control: ControlMode, nodeMib: number, agent: 'claude-code' | 'scripted'): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-control-'))
  const db = join(dir, 'bench.duckdb')
  const t0 = performance.now()
  try {
    const result = await runBenchmark({
      agent, attempts: 1, catalog: 'demo', concurrency: n, control, db, intervalMs: 100, latency: 'recorded', log: (m) => console.error(`  ${m}`),
      nodeMemoryBytes: nodeMib * 2 ** 20, retryFailed: false, runtime: 'podman', sessionsDir: null, shard: null,
      tasks: Array.from({length: n}, () => 'memory-burst'), timeoutMs: 900_000,
    })
    const wall = (performance.now() - t0) / 1000
    const store = await Store.open(db, {readOnly: true})
    const reactions = (await store.query(`SELECT json_extract(detail, '$.reaction_ms')::DOUBLE AS ms FROM events WHERE kind IN ('throttle', 'freeze', 'thaw') AND json_extract(detail, '$.reaction_ms') IS NOT NULL`)).map((r) => Number(r.ms)).filter((x) => Number.isFinite(x))
    const held = await store.query(`SELECT coalesce(sum(greatest(coalesce(throttled_ms, 0), coalesce(frozen_ms, 0))), 0)::DOUBLE AS ms FROM tool_calls`)
    store.close()
    const runs = result.runs
    return {
      attempts: runs.length,
      completed: runs.filter((r) => r.status === 'done' && r.tests_passed === true).length,
      control,
      freezes: runs.reduce((a, r) => a + r.control_events.freeze, 0),
      held_back_s: Number(held[0].ms) / 1000,
      n,
      node_mib: nodeMib,
      oom_kills: runs.reduce((a, r) => a + r.oom_kills, 0),
      reaction_p50_ms: percentile(reactions, 50),
      reaction_p99_ms: percentile(reactions, 99),
      throttles: runs.reduce((a, r) => a + r.control_events.throttle, 0),
      wall_s: wall,
    }
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

async function main(): Promise<void> {
  process.env.AGENTCGROUP_PODMAN_ROOT ??= join(cacheDir(), 'podman-test')
  const ns = (process.env.BENCH_N ?? '2,4,8').split(',').map(Number)
  const controls = (process.env.BENCH_CONTROL ?? 'none,static,agentcgroup').split(',') as ControlMode[]
  const base = Number(process.env.BENCH_BASE_MIB ?? 170)
  const burst = Number(process.env.BENCH_BURST_MIB ?? 860)
  const agent = (process.env.BENCH_AGENT ?? 'claude-code') as 'claude-code' | 'scripted'
  const image = await ensureDemoImage((m) => console.error(m))
  console.error(`demo image ${image.image}; ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; agent ${agent}`)
  const rows: Row[] = []
  for (const n of ns) {
    for (const control of controls) {
      const nodeMib = base * n + burst
      console.error(`N=${n} --control ${control} --node-memory ${nodeMib}M`)
      rows.push(await configuration(n, control, nodeMib, agent))
    }
  }
  console.log('  N  control      node_MiB  completed  oom_kills  throttles  freezes  reaction_p50_ms  reaction_p99_ms  held_back_s  wall_s')
  for (const r of rows) {
    const ms = (x: number | null) => (x === null ? '-' : x.toFixed(2)).padStart(17)
    console.log(`${String(r.n).padStart(3)}  ${r.control.padEnd(12)}${String(r.node_mib).padStart(9)}${`${r.completed}/${r.attempts}`.padStart(11)}${String(r.oom_kills).padStart(11)}${String(r.throttles).padStart(11)}${String(r.freezes).padStart(9)}${ms(r.reaction_p50_ms)}${ms(r.reaction_p99_ms)}${r.held_back_s.toFixed(1).padStart(13)}${r.wall_s.toFixed(0).padStart(8)}`)
  }
  console.log(JSON.stringify({agent, cpus: cpus().length, load_avg_1m: loadavg()[0], rows}))
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error))
  process.exitCode = 1
})
