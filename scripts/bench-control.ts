/**
 * `npm run bench:control`: N concurrent agents on the `memory-burst` demo task (each holds
 * about 600 MB above its own baseline in its test runs), on a node budget below their combined
 * peak, under --control none / static / agentcgroup, for N = 2, 4, 8 (BENCH_N=2,4 to choose).
 * Per configuration: attempts completed with tests passing, OOM kills, control actions, p99
 * reaction latency (kernel notification to action done), time the controller held tool calls
 * back, and the wall time. The budget is N agents' baseline plus room for one burst:
 * BENCH_BASE_MIB (170) * N + BENCH_BURST_MIB (860), e.g. 1200 MiB for N = 2.
 * Real Podman containers, the real Claude Code CLI on the replay server (recorded latency).
 *
 * CPU part (BENCH_PARTS=cpu): the agent's own turn latency under CPU contention from test runs.
 * `record --control agentcgroup` of a script that starts 4 CPU-bound tool calls through $SHELL
 * (spin 8 s of CPU each: other agents' test runs) and then plays an agent: 40 turns of 20 ms of
 * CPU in its own process, 100 ms apart. Turn wall time p50/p90/p99 with --cpu-priority (long
 * calls at cpu weight 10) and with --no-cpu-priority, and with --control none; BENCH_CPU_REPEAT runs
 * each (3), turns pooled.
 * Prints a table and one JSON line; a private Podman storage and a temp store.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'

import {runBenchmark} from '../collector/benchmark.js'
import {recordCommand} from '../collector/record.js'
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

interface CpuRow {
  control: string
  cpu_priority: boolean
  turns: number
  turn_p50_ms: number | null
  turn_p90_ms: number | null
  turn_p99_ms: number | null
  hogs_s: number
}

async function cpuPart(): Promise<CpuRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-cpu-'))
  try {
    const bin = join(dir, 'workload')
    execFileSync('cc', ['-O2', '-static', '-pthread', '-o', bin, join(process.cwd(), 'scripts', 'sampler-workload.c')])
    const script = join(dir, 'agent.sh')
    const turnsFile = join(dir, 'turns.json')
    // 4 long CPU-bound tool calls (other agents' test runs), then the agent's 40 turns in its own process
    writeFileSync(script, `for i in 1 2 3 4; do "$SHELL" -c '${bin} spin 8000' & done\nsleep 1.5\n${bin} turns 40 20 100 > ${turnsFile}\nwait\n`)
    const rows: CpuRow[] = []
    const configs: [string, boolean][] = [['none', false], ['agentcgroup', false], ['agentcgroup', true]]
    const repeats = Number(process.env.BENCH_CPU_REPEAT ?? 3)
    for (const [control, cpuPriority] of configs) {
      const turns: number[] = []
      const t0 = performance.now()
      for (let r = 0; r < repeats; r++) {
        await recordCommand({
          command: ['bash', script], commandStdout: 'stderr', control: control as ControlMode, cpuPriority, dataset: 'bench', db: join(dir, 'cpu.duckdb'),
          intervalMs: 100, label: `cpu-${control}-${cpuPriority}`, memoryLimitBytes: control === 'none' ? null : 8 * 2 ** 30, sampler: 'cgroupfs',
        })
        turns.push(...(JSON.parse(readFileSync(turnsFile, 'utf8')) as {turn_ms: number[]}).turn_ms)
      }
      rows.push({control, cpu_priority: cpuPriority, hogs_s: (performance.now() - t0) / 1000 / repeats, turn_p50_ms: percentile(turns, 50), turn_p90_ms: percentile(turns, 90), turn_p99_ms: percentile(turns, 99), turns: turns.length})
    }
    return rows
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

async function main(): Promise<void> {
  const parts = (process.env.BENCH_PARTS ?? 'memory,cpu').split(',')
  if (parts.includes('cpu')) {
    const cpu = await cpuPart()
    console.log('CPU: an agent\'s 20 ms turns while 4 long CPU-bound tool calls run (2 CPUs)')
    console.log('  control      cpu_priority  turn_p50_ms  turn_p90_ms  turn_p99_ms  run_s')
    const f = (x: number | null) => (x === null ? '-' : x.toFixed(1)).padStart(13)
    for (const r of cpu) console.log(`  ${r.control.padEnd(13)}${String(r.cpu_priority).padEnd(12)}${f(r.turn_p50_ms)}${f(r.turn_p90_ms)}${f(r.turn_p99_ms)}${r.hogs_s.toFixed(1).padStart(7)}`)
    console.log(JSON.stringify({cpu, cpus: cpus().length, load_avg_1m: loadavg()[0]}))
  }
  if (!parts.includes('memory')) return
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
