/**
 * `record`: runs one command in a fresh cgroup of ours under a sampler and stores the run.
 *
 * Order matters because memory charges do not move with a task: the command is started as a
 * tiny shell that waits for a byte on fd 3, is moved into the cgroup, and only then execs the
 * command, so everything it allocates is charged to (and traced in) the group. The group lives
 * under agentcgroup/, is removed when the command ends (after a last sample), on SIGINT/SIGTERM
 * (the signal is forwarded, the run is stored as interrupted) and, after a SIGKILL of record
 * itself, by the next start (reapLeftovers). The command's exit code is passed through.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {constants as osConstants, hostname, release} from 'node:os'
import {mkdtempSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {tmpdir} from 'node:os'
import {setTimeout as sleep} from 'node:timers/promises'

import {UserError} from '../datasets/errors.js'
import {emptyRunRecord, type RunRecord, type RunStatus} from '../datasets/model.js'
import {Store} from '../datasets/store.js'
import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName, reapLeftovers} from '../kernel/cgroup.js'
import {interruptedBy, onCleanup, onInterrupt, setSignalMode, trackCgroup} from '../kernel/cleanup.js'
import {formatArgv} from './samplers/processes.js'
import {ControlMode, NodeControl} from './control/live.js'
import {ToolDomainBroker} from './domains/broker.js'
import {withDomains} from './domains/match.js'
import {SOCK_ENV, SOCKET_NAME, toolShellDir} from './domains/toolshell.js'
import {RunClock, type SamplerName, type SamplerResult, startSampler, targetOfCgroup} from './samplers/index.js'

/** Waits for the go byte on fd 3, closes it, then becomes the command. */
const WRAPPER = 'read _ <&3 || exit 125; exec 3<&-; exec "$@"'

export interface RecordOptions {
  command: string[]
  intervalMs: number
  sampler: SamplerName
  memoryLimitBytes?: number | null
  /**
   * none/static: the memory limit is the group's own; observe/agentcgroup: every `$SHELL -c`
   * the command runs (an agent's tool calls) gets its own cgroup, and with agentcgroup the
   * memory limit is the budget the controller keeps them under (collector/control/live.ts)
   */
  control?: ControlMode
  /** agentcgroup: CPU weights for long tool calls (default on) */
  cpuPriority?: boolean
  /** DuckDB store file */
  db: string
  dataset: string
  /** task name (default: the command's base name) */
  label?: string | null
  /** one line each, as they happen (fallbacks, refused programs, reaped leftovers) */
  onWarning?: (line: string) => void
  /** time a forwarded SIGINT/SIGTERM has before the group is killed, ms */
  graceMs?: number
  /** BPF program names to refuse on purpose (default: AGENTCGROUP_BPF_REFUSE) */
  simulateRefused?: string[]
  /** bpf: also load rss_stat for RSS growth events of live processes */
  rssEvents?: boolean
  /** where the command's stdout goes: ours (default), or our stderr (keeps --json output clean) */
  commandStdout?: 'inherit' | 'stderr'
}

/** The --json contract of `agentcgroup record`. */
export interface RecordResult {
  run_id: string
  /** what sampled: bpf+cgroupfs, cgroupfs */
  sampler: string
  /** median interval between samples, ms */
  interval_ms: number | null
  samples: number
  processes: number
  oom_kills: number
  ringbuf_drops: number | null
  /** the sampler's CPU (our process + BPF run time), % of one core */
  overhead_cpu_pct: number | null
  /** the command's exit code (128 + signal when a signal ended it); record exits with it */
  exit_code: number
  status: RunStatus
  started_at_us: number
  ended_at_us: number
  duration_s: number
  mem_peak_bytes: number | null
  /** BPF programs the kernel refused, by name */
  refused_programs: {name: string; error: string}[]
  warnings: string[]
  store: string
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/

export async function recordCommand(opts: RecordOptions): Promise<RecordResult> {
  const warnings: string[] = []
  const warn = (line: string) => {
    warnings.push(line)
    opts.onWarning?.(line)
  }
  if (opts.command.length === 0) throw new UserError('no command given: agentcgroup record [flags] -- <command...>')
  if (!SAFE_NAME.test(opts.dataset)) throw new UserError(`--dataset ${JSON.stringify(opts.dataset)}: use letters, digits, '.', '_' and '-' only`)
  if (opts.label != null && !SAFE_NAME.test(opts.label)) throw new UserError(`--label ${JSON.stringify(opts.label)}: use letters, digits, '.', '_' and '-' only`)
  if (opts.sampler === 'podman-stats') {
    throw new UserError('--sampler podman-stats samples a Podman container, and record runs the command in a cgroup of ours: use --sampler bpf or cgroupfs (run-benchmark --runtime podman compares with podman stats)')
  }
  const uid = process.getuid?.()
  if (uid !== 0) throw new UserError(`record needs root to create cgroups (running as uid ${uid ?? 'unknown'})`)
  const sys = detectCgroupSystem()
  if (!sys.memory) throw new UserError('no memory cgroup controller is mounted: record cannot measure memory (see agentcgroup doctor)')
  // fail before running anything when the store cannot be written (locked, newer schema)
  ;(await Store.open(opts.db)).close()

  const control = opts.control ?? 'none'
  if ((control === 'agentcgroup' || control === 'static') && opts.memoryLimitBytes == null) throw new UserError(`--control ${control} needs --memory-limit SIZE (the budget it keeps the command under)`)
  for (const path of reapLeftovers(sys)) warn(`removed ${path}, left by an agentcgroup process that was killed`)
  let node: NodeControl | null = null
  if (control === 'observe' || control === 'agentcgroup') {
    try {
      node = await NodeControl.start({concurrency: 1, cpuPriority: opts.cpuPriority, log: warn, mode: control, nodeMemoryBytes: control === 'agentcgroup' ? opts.memoryLimitBytes! : null, sys})
    } catch (error) {
      throw new UserError(`--control ${control}: ${(error as Error).message}`)
    }
  }
  const cg = Cgroup.create(sys, `${node ? node.root.rel : OUR_ROOT}/${ownedName('record')}`)
  const removeGroup = trackCgroup(cg)
  let interrupted: NodeJS.Signals | null = null
  const unsubscribe: (() => void)[] = []
  let running: {abort(): void} | null = null
  let broker: ToolDomainBroker | null = null
  const socketDir = node ? mkdtempSync(join(tmpdir(), `agentcgroup-run-${process.pid}-`)) : null
  try {
    // agentcgroup: the node carries the limit (the controller acts below it)
    if (opts.memoryLimitBytes != null && control !== 'agentcgroup') cg.setMemoryMax(opts.memoryLimitBytes)
    let env: NodeJS.ProcessEnv | undefined
    if (node && socketDir) {
      broker = await ToolDomainBroker.start({hooks: node.hooksFor('record'), log: warn, parent: () => cg, socketPath: join(socketDir, SOCKET_NAME)})
      const shell = join(toolShellDir(), 'bash')
      env = {...process.env, [SOCK_ENV]: broker.socketPath, CLAUDE_CODE_SHELL: shell, SHELL: shell}
    }
    setSignalMode('defer')
    // held before exec until go(): forking this process is not the sampler's cost
    const {child, exited, go} = spawnHeld(opts.command, opts.commandStdout === 'stderr' ? 2 : 'inherit', env)
    try {
      cg.addProcess(child.pid!)
    } catch (error) {
      child.kill('SIGKILL')
      await exited.catch(() => {})
      throw error
    }
    const clock = RunClock.take()
    const target = targetOfCgroup(cg)
    let started: Awaited<ReturnType<typeof startSampler>>
    try {
      started = await startSampler(opts.sampler, target, {clock, intervalMs: opts.intervalMs, rssEvents: opts.rssEvents, simulateRefused: opts.simulateRefused})
    } catch (error) {
      child.kill('SIGKILL')
      await exited.catch(() => {})
      throw error
    }
    const {sampler, warnings: startWarnings} = started
    for (const w of startWarnings) warn(w)
    running = sampler
    unsubscribe.push(onCleanup(() => sampler.abort()))
    let killTimer: NodeJS.Timeout | null = null
    const stopChild = (signal: NodeJS.Signals) => {
      interrupted = signal
      try {
        child.kill(signal)
      } catch {
        // already gone
      }
      killTimer = setTimeout(() => cg.killAll(), opts.graceMs ?? 3000)
    }
    unsubscribe.push(onInterrupt(stopChild))
    // a signal while the sampler was starting: the command never runs, the run is stored
    const early = interruptedBy()
    if (early) stopChild(early)
    const startedUs = clock.nowUs()
    go()
    const {code, signal} = await exited
    const endedUs = clock.nowUs()
    if (killTimer) clearTimeout(killTimer)

    // the run ends with its command: what it left running is stopped, its exits recorded
    await broker?.close()
    await emptyGroup(cg)
    const result = await sampler.stop()
    running = null
    for (const w of result.info.warnings) if (!warnings.includes(w)) warn(w)
    const teardownUs = clock.nowUs()
    removeGroup()

    const exitCode = signal ? 128 + (osConstants.signals[signal] ?? 0) : code ?? 1
    const oomKills = result.events.filter((e) => e.kind === 'oom_kill').reduce((n, e) => n + oomCount(e.detail), 0)
    const status: RunStatus = interrupted ? 'interrupted' : oomKills > 0 && exitCode !== 0 ? 'oom_killed' : exitCode === 0 ? 'done' : 'failed'
    const taskId = opts.label ?? sanitize(basename(opts.command[0]))
    const record = buildRecord({opts, taskId, result, startedUs, endedUs, teardownUs, status, exitCode, layout: sys.layout, warnings})
    if (broker) record.toolCalls = withDomains(record.toolCalls, broker.records(), {runId: ''})
    if (node) record.events.push(...node.eventsFor('record'))
    record.run.control = control
    record.run.memory_limit_bytes = control === 'agentcgroup' ? null : opts.memoryLimitBytes ?? null
    record.run.node_memory_bytes = node?.nodeMemoryBytes ?? null
    const runId = await storeRun(opts.db, record)

    const memPeak = result.samples.reduce<number | null>((m, s) => Math.max(m ?? 0, s.mem_bytes ?? 0, s.mem_peak_bytes ?? 0), null)
    return {
      duration_s: Math.round((endedUs - startedUs) / 1000) / 1000,
      ended_at_us: endedUs,
      exit_code: interrupted ? 128 + osConstants.signals[interrupted as NodeJS.Signals] : exitCode,
      interval_ms: result.info.intervalMs,
      mem_peak_bytes: memPeak,
      oom_kills: oomKills,
      overhead_cpu_pct: result.info.overheadCpuPct === null ? null : Math.round(result.info.overheadCpuPct * 1000) / 1000,
      processes: record.processes.length,
      refused_programs: result.info.programs.filter((p) => !p.ok).map((p) => ({error: `${p.stage}: ${p.error}`, name: p.name})),
      ringbuf_drops: result.info.ringbufDrops,
      run_id: runId,
      sampler: result.info.sampler,
      samples: record.samples.length,
      started_at_us: startedUs,
      status,
      store: opts.db,
      warnings,
    }
  } finally {
    // on an error: BPF detached, timers stopped (a no-op after stop())
    running?.abort()
    for (const u of unsubscribe) u()
    setSignalMode('exit')
    await broker?.close()
    removeGroup()
    node?.close()
    if (socketDir) rmSync(socketDir, {force: true, recursive: true})
  }
}

export interface HeldChild {
  child: ChildProcess
  exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  /** lets it exec the command */
  go: () => void
}

/**
 * Starts `command` held before exec: a shell that waits for a byte on fd 3. Move child.pid
 * into a cgroup, then call go(): the command's first allocation is charged there.
 */
export function spawnHeld(command: string[], stdout: 'inherit' | 'ignore' | 'pipe' | number = 'inherit', env?: NodeJS.ProcessEnv): HeldChild {
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'agentcgroup-record', ...command], {env, stdio: ['inherit', stdout, 'inherit', 'pipe']})
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve, reject) => {
    child.once('exit', (code, signal) => resolve({code, signal}))
    child.once('error', reject)
  })
  return {child, exited, go: () => (child.stdio[3] as NodeJS.WritableStream).end('go\n')}
}

/** Kills what is left in the group and waits (up to 2 s) until it is empty. */
export async function emptyGroup(cg: Cgroup): Promise<void> {
  const deadline = Date.now() + 2000
  while (cg.pids().length > 0 && Date.now() < deadline) {
    cg.killAll()
    await sleep(10)
  }
}

function oomCount(detail: string | null | undefined): number {
  try {
    const d = JSON.parse(detail ?? '{}') as {count?: number}
    return typeof d.count === 'number' ? d.count : 1
  } catch {
    return 1
  }
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_') || 'command'
}

function buildRecord(a: {
  opts: RecordOptions
  taskId: string
  result: SamplerResult
  startedUs: number
  endedUs: number
  teardownUs: number
  status: RunStatus
  exitCode: number
  layout: string
  warnings: string[]
}): RunRecord {
  const {info} = a.result
  const samples = a.result.samples
  const spanS = samples.length > 1 ? (samples.at(-1)!.t_us - samples[0].t_us) / 1e6 : 0
  const cost = [
    `sampler cost: ${(info.ownCpuUsec / 1000).toFixed(1)} ms CPU of record`,
    info.bpfRunTimeNs === null ? null : `${(info.bpfRunTimeNs / 1e6).toFixed(1)} ms BPF run time`,
    `over ${(info.wallUsec / 1e6).toFixed(1)} s`,
    info.setupCpuUsec ? `plus ${(info.setupCpuUsec / 1000).toFixed(1)} ms to load BPF` : null,
    info.finishCpuUsec ? `and ${(info.finishCpuUsec / 1000).toFixed(1)} ms to build ${a.result.processes.length} process rows after` : null,
  ].filter(Boolean)
  const record = emptyRunRecord({
    agent: 'command',
    attempt: 0, // set when stored
    bpf_clock_offset_ns: Number(info.clockOffsetNs),
    cgroup_version: a.layout,
    dataset: a.opts.dataset,
    ended_at_us: a.endedUs,
    exit_code: a.exitCode,
    host: hostname(),
    imported_at_us: Date.now() * 1000,
    interval_ms: info.intervalMs,
    kernel: release(),
    kind: 'agent',
    layout: 'record',
    notes: [`command: ${formatArgv(a.opts.command, false)}`, cost.join(', '), ...a.warnings].join('; '),
    ringbuf_drops: info.ringbufDrops,
    run_id: '',
    runtime: 'local',
    sampler: info.sampler,
    sampler_overhead_pct: info.overheadCpuPct,
    source_path: process.cwd(),
    started_at_us: a.startedUs,
    status: a.status,
    task_id: a.taskId,
    valid: samples.length >= 10 && spanS >= 60,
  })
  record.samples = samples
  record.processes = a.result.processes
  record.events = a.result.events
  record.phases = [
    {end_us: a.endedUs, phase: 'agent_active', source: 'record: command started to command exited', start_us: a.startedUs},
    {end_us: a.teardownUs, phase: 'teardown', source: 'record: leftovers stopped, sampler drained', start_us: a.endedUs},
  ]
  return record
}

/** Stores the run as the next attempt of its task; retries while a reader holds the file. */
async function storeRun(db: string, record: RunRecord): Promise<string> {
  const deadline = Date.now() + 15_000
  for (;;) {
    let store: Store
    try {
      store = await Store.open(db)
    } catch (error) {
      if (Date.now() > deadline || !/in use/.test((error as Error).message)) throw error
      await sleep(250)
      continue
    }
    try {
      const rows = await store.query('SELECT coalesce(max(attempt), 0)::INTEGER AS n FROM runs WHERE dataset = $d AND task_id = $t', {
        d: record.run.dataset,
        t: record.run.task_id,
      })
      const attempt = Number(rows[0]?.n ?? 0) + 1
      record.run.attempt = attempt
      record.run.run_id = `${record.run.dataset}/${record.run.task_id}/attempt_${attempt}`
      await store.replaceRun(record, {isNew: true})
      return record.run.run_id
    } finally {
      store.close()
    }
  }
}
