/**
 * `npm run bench:sampler`: what each sampler costs, on one workload, in one run.
 *
 * The workload (scripts/sampler-workload.c, compiled statically) execs 1,000 processes a
 * second and maps, touches and frees 64 MiB every 500 ms, for 30 s, in a fresh cgroup of ours.
 * It runs once per mode: no sampler, cgroupfs, bpf (+cgroupfs), and podman stats (the workload
 * in a container, where Podman is installed). For each: the sampler's CPU as % of one core (our
 * process's user + system CPU, plus the BPF programs' run time, plus podman's CPU), what it
 * recorded, ring-buffer drops, and what the workload achieved.
 *
 * Then the event path alone: a BPF program turns every getppid() of one process into a ring
 * buffer record at 100k/s (and flat out), and we count what arrives and what is dropped.
 *
 * Flags: --seconds N (30), --rate N execs/s (1000), --interval MS (100), --stress-rate N
 * (100000), --stress-seconds N (5), --modes none,cgroupfs,bpf,podman-stats, --json.
 */
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parseArgs, promisify} from 'node:util'

import {BpfTracer, bpfUnavailableReason} from '../bpf/index.js'
import {emptyGroup, spawnHeld} from '../collector/record.js'
import {createSampler, RunClock, targetOfCgroup, type SamplerResult} from '../collector/samplers/index.js'
import {PodmanStatsSampler} from '../collector/samplers/podman-stats.js'
import {targetFromPaths} from '../collector/samplers/target.js'
import {renderTable} from '../cli/render.js'
import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName, reapLeftovers} from '../kernel/cgroup.js'
import {trackCgroup} from '../kernel/cleanup.js'

const {values: args} = parseArgs({
  options: {
    interval: {default: '100', type: 'string'},
    json: {default: false, type: 'boolean'},
    modes: {default: 'none,cgroupfs,bpf,podman-stats', type: 'string'},
    rate: {default: '1000', type: 'string'},
    seconds: {default: '30', type: 'string'},
    'stress-rate': {default: '100000', type: 'string'},
    'stress-seconds': {default: '5', type: 'string'},
  },
})
const SECONDS = Number(args.seconds)
const RATE = Number(args.rate)
const INTERVAL_MS = Number(args.interval)
const ALLOC_MIB = 64
const PERIOD_MS = 500

interface ModeRow {
  mode: string
  sampler: string
  interval_ms: number | null
  cpu_pct_of_core: number | null
  own_cpu_ms: number
  bpf_run_ms: number | null
  /** building the process rows after the run (decoding the kept records), ms */
  finish_ms: number | null
  samples: number
  processes: number
  events: number
  ringbuf_drops: number | null
  workload_execs_per_s: number | null
  workload_alloc_cycles: number | null
  note: string
}

interface StressRow {
  target_rate: number | 'max'
  generated: number
  received: number
  received_per_s: number
  drops: number
  reader_cpu_pct: number
  bpf_run_ms: number | null
}

const log = (line: string) => process.stderr.write(`[bench-sampler] ${line}\n`)

function buildWorkload(dir: string): string {
  const out = join(dir, 'sampler-workload')
  execFileSync('cc', ['-O2', '-static', '-pthread', '-o', out, join(process.cwd(), 'scripts', 'sampler-workload.c')], {stdio: 'inherit'})
  return out
}

function workloadArgs(bin: string): string[] {
  return [bin, 'bench', String(SECONDS), String(RATE), String(ALLOC_MIB), String(PERIOD_MS)]
}

function parseWorkload(stdout: string): {execs: number; seconds: number; alloc_cycles: number} | null {
  try {
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {execs: number; seconds: number; alloc_cycles: number}
  } catch {
    return null
  }
}

async function runLocal(mode: 'none' | 'cgroupfs' | 'bpf', bin: string): Promise<ModeRow> {
  const sys = detectCgroupSystem()
  const cg = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('bench')}`)
  const remove = trackCgroup(cg)
  try {
    // held before exec, and moved, before the sampler starts: forking us is not its cost
    const held = spawnHeld(workloadArgs(bin), 'pipe')
    let stdout = ''
    held.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    cg.addProcess(held.child.pid!)
    const clock = RunClock.take()
    const sampler = mode === 'none' ? null : createSampler(mode)
    await sampler?.start(targetOfCgroup(cg), {clock, intervalMs: INTERVAL_MS})
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    held.go()
    await held.exited
    await emptyGroup(cg)
    const result: SamplerResult | null = sampler ? await sampler.stop() : null
    const cpu = process.cpuUsage(cpu0)
    const wallMs = performance.now() - t0
    const w = parseWorkload(stdout)
    for (const p of result?.info.programStats ?? []) {
      if (p.runCount) log(`  ${p.name}: ${p.runCount} runs, ${((p.runTimeNs ?? 0) / 1e6).toFixed(1)} ms, ${((p.runTimeNs ?? 0) / p.runCount).toFixed(0)} ns/run`)
    }
    const own = result ? result.info.ownCpuUsec / 1000 : (cpu.user + cpu.system) / 1000
    return {
      bpf_run_ms: result?.info.bpfRunTimeNs == null ? null : result.info.bpfRunTimeNs / 1e6,
      cpu_pct_of_core: result ? result.info.overheadCpuPct : (own / wallMs) * 100,
      events: result?.events.length ?? 0,
      finish_ms: result?.info.finishCpuUsec === undefined ? null : result.info.finishCpuUsec / 1000,
      interval_ms: result?.info.intervalMs ?? null,
      mode,
      note: mode === 'none' ? 'our idle process while the workload runs (baseline)' : result!.info.warnings.join('; '),
      own_cpu_ms: own,
      processes: result?.processes.length ?? 0,
      ringbuf_drops: result?.info.ringbufDrops ?? null,
      sampler: result?.info.sampler ?? '-',
      samples: result?.samples.length ?? 0,
      workload_alloc_cycles: w?.alloc_cycles ?? null,
      workload_execs_per_s: w ? Math.round(w.execs / w.seconds) : null,
    }
  } finally {
    remove()
  }
}

async function runPodman(bin: string, dir: string): Promise<ModeRow> {
  const base: ModeRow = {
    bpf_run_ms: null, cpu_pct_of_core: null, events: 0, finish_ms: null, interval_ms: null, mode: 'podman-stats', note: '', own_cpu_ms: 0, processes: 0,
    ringbuf_drops: null, sampler: 'podman-stats', samples: 0, workload_alloc_cycles: null, workload_execs_per_s: null,
  }
  const which = spawnSync('sh', ['-c', 'command -v podman'], {encoding: 'utf8'})
  if (which.status !== 0) return {...base, note: 'skipped: podman not installed'}
  // a private store (podman wants a short runroot path): an image of one static binary
  const root = mkdtempSync('/tmp/acb-')
  const podmanArgs = ['--root', join(root, 'root'), '--runroot', join(root, 'run')]
  const image = 'localhost/agentcgroup-bench-sampler:latest'
  const sys = detectCgroupSystem()
  const parent = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('bench')}`)
  const remove = trackCgroup(parent)
  const name = `agentcgroup-bench-${process.pid}`
  try {
    const rootfs = join(root, 'rootfs')
    mkdirSync(rootfs, {recursive: true})
    copyFileSync(bin, join(rootfs, 'workload'))
    execFileSync('sh', ['-c', `chmod 755 '${rootfs}/workload' && tar -C '${rootfs}' -cf '${root}/rootfs.tar' .`])
    execFileSync('podman', [...podmanArgs, 'import', '-q', join(root, 'rootfs.tar'), image], {stdio: ['ignore', 'ignore', 'pipe']})
    const id = execFileSync(
      'podman',
      [...podmanArgs, 'run', '-d', '--network', 'none', '--cgroup-parent', `/${parent.rel}`, '--name', name, image, '/workload', ...workloadArgs('/workload').slice(1)],
      {encoding: 'utf8'},
    ).trim()
    const sampler = new PodmanStatsSampler()
    const cgPath = execFileSync('podman', [...podmanArgs, 'inspect', id, '--format', '{{.State.CgroupPath}}'], {encoding: 'utf8'}).trim()
    const memMount = sys.memory!.path
    const target = targetFromPaths({container: id, memoryDir: join(memMount, cgPath), memoryMount: memMount, version: sys.memory!.version})
    // the paper sampled at 1 Hz; a call takes ~200 ms here, so 10 Hz is out of reach anyway
    await sampler.start(target, {intervalMs: 1000, podmanArgs})
    // not execFileSync: the sampler's timer must keep running while we wait
    await promisify(execFile)('podman', [...podmanArgs, 'wait', id])
    const result = await sampler.stop()
    const w = parseWorkload(execFileSync('podman', [...podmanArgs, 'logs', id], {encoding: 'utf8'}))
    execFileSync('podman', [...podmanArgs, 'rm', '-f', id], {stdio: 'ignore'})
    return {
      ...base,
      cpu_pct_of_core: result.info.overheadCpuPct,
      interval_ms: result.info.intervalMs,
      note: ['workload in a container, podman stats at 1 Hz', ...result.info.warnings].join('; '),
      own_cpu_ms: result.info.ownCpuUsec / 1000,
      samples: result.samples.length,
      workload_alloc_cycles: w?.alloc_cycles ?? null,
      workload_execs_per_s: w ? Math.round(w.execs / w.seconds) : null,
    }
  } catch (error) {
    spawnSync('podman', [...podmanArgs, 'rm', '-f', name], {stdio: 'ignore'})
    return {...base, note: `skipped: ${(error as Error).message.split('\n')[0]}`}
  } finally {
    remove()
    // not `system reset`: it would remove the machine's networks too, not only this private store
    spawnSync('podman', [...podmanArgs, 'rm', '-af'], {stdio: 'ignore'})
    spawnSync('podman', [...podmanArgs, 'rmi', '-af'], {stdio: 'ignore'})
    rmSync(root, {force: true, recursive: true})
  }
}

/** The event path alone: loadgen.bpf.c turns each getppid() of the generator into a record. */
async function stress(bin: string, rate: number): Promise<StressRow> {
  const sys = detectCgroupSystem()
  const cg = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('bench')}`)
  const remove = trackCgroup(cg)
  try {
    const seconds = Number(args['stress-seconds'])
    const held = spawnHeld([bin, 'syscalls', String(seconds), String(rate)], 'pipe')
    let stdout = ''
    held.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    cg.addProcess(held.child.pid!)
    let received = 0
    let lastSeq = -1
    let outOfOrder = 0
    const tracer = BpfTracer.start({
      cgroupId: cg.memoryCgroupId(),
      hierarchy: cg.version,
      level: cg.rel.split('/').length,
      loadgen: {syscallNr: 110, tgid: held.child.pid!},
      objects: ['loadgen'],
      onEvent: (e) => {
        if (e.kind !== 'loadgen') return
        received++
        if (e.seq <= lastSeq) outOfOrder++
        lastSeq = e.seq
      },
    })
    if (tracer.refused.length > 0) throw new Error(`loadgen refused: ${tracer.refused[0].error}`)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    held.go()
    await held.exited
    const stats = await tracer.stop()
    const cpu = process.cpuUsage(cpu0)
    const wallMs = performance.now() - t0
    const out = JSON.parse(stdout.trim()) as {calls: number; seconds: number; syscall_nr: number}
    if (out.syscall_nr !== 110) log(`note: getppid is syscall ${out.syscall_nr} here, not 110: no records`)
    const run = stats.programs.find((p) => p.name === 'handle_loadgen')?.runTimeNs
    void outOfOrder
    return {
      bpf_run_ms: run === undefined ? null : Number(run) / 1e6,
      drops: Number(stats.drops),
      generated: out.calls,
      received,
      received_per_s: Math.round(received / out.seconds),
      reader_cpu_pct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      target_rate: rate === 0 ? 'max' : rate,
    }
  } finally {
    remove()
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:sampler needs root (cgroups and BPF)')
  const sys = detectCgroupSystem()
  reapLeftovers(sys)
  const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-sampler-'))
  try {
    const bin = buildWorkload(dir)
    const modes = String(args.modes).split(',')
    const rows: ModeRow[] = []
    const bpfReason = bpfUnavailableReason()
    for (const mode of modes) {
      log(`${mode}: ${SECONDS} s of ${RATE} execs/s and ${ALLOC_MIB} MiB every ${PERIOD_MS} ms`)
      if (mode === 'bpf' && bpfReason) {
        rows.push({...(await runLocal('cgroupfs', bin)), mode, note: `BPF unavailable: ${bpfReason}`})
      } else if (mode === 'podman-stats') rows.push(await runPodman(bin, dir))
      else rows.push(await runLocal(mode as 'none' | 'cgroupfs' | 'bpf', bin))
    }
    const stressRows: StressRow[] = []
    if (!bpfReason) {
      for (const rate of [Number(args['stress-rate']), 0]) {
        log(`event path: getppid() at ${rate || 'max'}/s for ${args['stress-seconds']} s`)
        stressRows.push(await stress(bin, rate))
      }
    }
    const result = {
      config: {alloc_mib: ALLOC_MIB, alloc_period_ms: PERIOD_MS, execs_per_s: RATE, interval_ms: INTERVAL_MS, seconds: SECONDS},
      event_path: stressRows,
      host: {cpus: (await import('node:os')).cpus().length, kernel: (await import('node:os')).release()},
      modes: rows,
    }
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      return
    }
    const f = (n: number | null, d = 2) => (n === null ? null : Number(n.toFixed(d)))
    // what the sampler adds: its mode's CPU minus our idle process in mode none (same workload)
    const base = rows.find((r) => r.mode === 'none')?.cpu_pct_of_core ?? null
    const above = (r: ModeRow) => (base === null || r.cpu_pct_of_core === null || r.mode === 'none' ? null : r.cpu_pct_of_core - base)
    console.log(
      renderTable(
        ['mode', 'sampler', 'interval ms', 'CPU % of a core', 'above none', 'own CPU ms', 'BPF ms', 'rows after, ms', 'samples', 'processes', 'events', 'drops', 'workload execs/s', 'note'],
        rows.map((r) => [r.mode, r.sampler, r.interval_ms, f(r.cpu_pct_of_core, 3), f(above(r), 3), f(r.own_cpu_ms, 1), f(r.bpf_run_ms, 1), f(r.finish_ms, 1), r.samples, r.processes, r.events, r.ringbuf_drops, r.workload_execs_per_s, r.note]),
      ),
    )
    if (stressRows.length > 0) {
      console.log('')
      console.log(
        renderTable(
          ['event path: rate', 'generated', 'received', 'received/s', 'drops', 'reader CPU %', 'BPF ms'],
          stressRows.map((s) => [String(s.target_rate), s.generated, s.received, s.received_per_s, s.drops, f(s.reader_cpu_pct, 1), f(s.bpf_run_ms, 1)]),
        ),
      )
    }
    writeFileSync(join(process.cwd(), 'dist', 'bench-sampler.json'), JSON.stringify(result, null, 2))
  } finally {
    rmSync(dir, {force: true, recursive: true})
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-sampler: ${(error as Error).message}\n`)
  process.exitCode = 1
})
