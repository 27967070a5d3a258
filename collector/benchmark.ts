/**
 * `run-benchmark`: the task attempts of one invocation, resumable through the ledger.
 *
 * Order of work: reap what a killed earlier run left (containers, cgroups, scratch dirs),
 * plan the attempts in the ledger (run_id `<catalog>/<task>/attempt_<n>`, n = the n-th time
 * the task is listed), recover attempts whose owner died, then run the pending ones, at most
 * `concurrency` at a time, each stored with replaceRun before the ledger marks it done.
 * Ctrl-C: the running attempts are stopped (containers removed), put back to pending, and the
 * invocation returns; the same command resumes. Done attempts are reported from the store.
 */
import {mkdirSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {shardSlice} from '../datasets/catalog/shard.js'
import {UserError} from '../datasets/errors.js'
import type {RunRecord} from '../datasets/model.js'
import {Store} from '../datasets/store.js'
import {CgroupSystem, detectCgroupSystem, pidAlive, reapLeftovers, thawLeftovers} from '../kernel/cgroup.js'
import {interruptedBy, onInterrupt, setSignalMode} from '../kernel/cleanup.js'
import {ClaudeCodeAgent, claudeCodeDir} from './agents/claude-code.js'
import {CommandAgent} from './agents/command.js'
import {ScriptedAgent} from './agents/scripted.js'
import type {Agent} from './agents/types.js'
import {runAttempt} from './attempt.js'
import {ControlMode, NodeControl} from './control/live.js'
import {Ledger, ledgerPathFor} from './ledger.js'
import {podmanAvailable} from './podman.js'
import type {LatencyMode} from './replay-server.js'
import {LocalRuntime} from './runtime/local.js'
import {PodmanRuntime, reapContainers} from './runtime/podman.js'
import type {Runtime} from './runtime/types.js'
import {loadSession} from './session-prompt.js'
import type {SamplerName} from './samplers/index.js'
import {findSession} from './sessions.js'
import {BenchTask, loadCatalog, selectTasks} from './tasks.js'

export type AgentName = 'claude-code' | 'scripted' | 'command'
export type RuntimeName = 'podman' | 'local'

export interface BenchmarkOptions {
  catalog: string
  tasks: string[] | null
  attempts: number
  agent: AgentName
  agentCommand?: string
  agentVersion?: string
  runtime: RuntimeName | 'auto'
  concurrency: number
  /** --control: limits and tool-call cgroups (collector/control/live.ts); default none */
  control?: ControlMode
  /** agentcgroup: CPU weights for long tool calls (default on) */
  cpuPriority?: boolean
  /** --node-memory: one limit for all agents of the invocation, bytes */
  nodeMemoryBytes: number | null
  shard: {index: number; count: number} | null
  timeoutMs: number
  db: string
  latency: LatencyMode
  sessionsDir: string | null
  intervalMs: number
  sampler?: SamplerName
  retryFailed: boolean
  log: (msg: string) => void
  progress?: (done: number, total: number, current: string) => void
}

/** The --json contract of one attempt. */
export interface BenchmarkRun {
  run_id: string
  task_id: string
  agent: string
  runtime: string
  status: string
  tests_passed: boolean | null
  samples: number
  processes: number
  tool_calls: number
  oom_kills: number
  /** what the controller did to the run's tool calls (kill: OOM kills in the run) */
  control_events: {throttle: number; freeze: number; thaw: number; kill: number}
  error: string | null
}

export interface BenchmarkResult {
  runs: BenchmarkRun[]
  /** the runtime used (auto resolves to podman or local) */
  runtime: RuntimeName
  interrupted: boolean
  store: string
  ledger: string
}

interface Planned {
  task: BenchTask
  attempt: number
  runId: string
}

export function resolveRuntime(name: RuntimeName | 'auto'): RuntimeName {
  if (name !== 'auto') {
    if (name === 'podman' && !podmanAvailable()) throw new UserError('--runtime podman: podman (with runc) is not installed; use --runtime local or run scripts/setup.sh')
    return name
  }
  return podmanAvailable() && process.getuid?.() === 0 ? 'podman' : 'local'
}

export function makeAgent(opts: Pick<BenchmarkOptions, 'agent' | 'agentCommand' | 'agentVersion'>): Agent {
  switch (opts.agent) {
    case 'claude-code':
      return new ClaudeCodeAgent(opts.agentVersion)
    case 'scripted':
      return new ScriptedAgent()
    case 'command':
      return new CommandAgent(opts.agentCommand ?? '')
    default:
      throw new UserError(`--agent ${String(opts.agent)}: expected claude-code, scripted or command`)
  }
}

/** The invocation's attempts, in order: tasks selected, repeated, then this shard's slice. */
export function planAttempts(opts: Pick<BenchmarkOptions, 'catalog' | 'tasks' | 'attempts' | 'shard'>): Planned[] {
  const catalog = loadCatalog(opts.catalog)
  const chosen = selectTasks(catalog.tasks, opts.tasks, catalog.name)
  const listed: BenchTask[] = []
  for (const t of chosen) for (let i = 0; i < opts.attempts; i++) listed.push(t)
  const seen = new Map<string, number>()
  const planned = listed.map((task) => {
    const n = (seen.get(task.id) ?? 0) + 1
    seen.set(task.id, n)
    return {attempt: n, runId: `${catalog.name}/${task.id}/attempt_${n}`, task}
  })
  return opts.shard ? shardSlice(planned, opts.shard.index, opts.shard.count, (p) => p.task.id) : planned
}

export async function runBenchmark(opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const planned = planAttempts(opts)
  if (planned.length === 0) throw new UserError('no task to run (empty catalog, selection or shard)')
  const runtimeName = resolveRuntime(opts.runtime)
  const agent = makeAgent(opts)
  // a missing CLI is one clear error now, not a failed attempt per task
  if (agent.name === 'claude-code') claudeCodeDir(opts.agentVersion)
  const sys = detectCgroupSystem()
  setSignalMode('defer')
  await reapEverything(sys, runtimeName, opts.log)
  const control = opts.control ?? 'none'
  if (control === 'agentcgroup' && opts.nodeMemoryBytes === null) throw new UserError('--control agentcgroup needs --node-memory SIZE: the budget it keeps the agents under')
  if (control === 'static' && opts.nodeMemoryBytes === null) throw new UserError('--control static needs --node-memory SIZE: each agent gets its equal share')
  let node: NodeControl | null = null
  if (control !== 'none' || opts.nodeMemoryBytes !== null) {
    try {
      node = await NodeControl.start({concurrency: opts.concurrency, cpuPriority: opts.cpuPriority, log: opts.log, mode: control, nodeMemoryBytes: opts.nodeMemoryBytes, sys})
    } catch (error) {
      throw new UserError(`--control ${control}: ${(error as Error).message}`)
    }
  }
  const store = await Store.open(opts.db).catch((error: unknown) => {
    node?.close()
    throw error
  })
  const ledgerPath = ledgerPathFor(opts.db)
  const ledger = new Ledger(ledgerPath)
  try {
    const storedIds = await store.runIds()
    ledger.plan(planned.map((p) => ({agent: agent.name, attempt: p.attempt, catalog: p.task.catalog, run_id: p.runId, runtime: runtimeName, task_id: p.task.id})))
    const recovered = ledger.recover(pidAlive, (id) => storedIds.has(id))
    if (recovered.length > 0) opts.log(`recovered ${recovered.length} attempt(s) of an interrupted run: ${recovered.join(', ')}`)
    if (opts.retryFailed) ledger.retry(planned.map((p) => p.runId), ['failed'])
    const todo = planned.filter((p) => ledger.get(p.runId)?.state === 'pending')
    const skipped = planned.length - todo.length
    if (skipped > 0) opts.log(`${skipped} attempt(s) already finished (resumed); running ${todo.length}`)
    const active = new Set<Runtime>()
    const stopInterrupt = onInterrupt(() => {
      opts.log('interrupted: stopping the running attempts (Ctrl-C again to quit at once)')
      // a frozen tool call cannot die: thaw (and stop freezing) before the containers go
      node?.stop()
      for (const rt of active) void rt.teardown()
    })
    let done = 0
    let writes = Promise.resolve()
    const queue = [...todo]
    const worker = async () => {
      for (let p = queue.shift(); p && interruptedBy() === null; p = queue.shift()) {
        if (!ledger.claim(p.runId)) continue
        opts.progress?.(done, todo.length, p.task.id)
        const parent = node?.root.rel
        const rt: Runtime = runtimeName === 'podman' ? new PodmanRuntime(sys, parent) : new LocalRuntime(sys, parent)
        active.add(rt)
        let record: RunRecord
        try {
          record = await runOne(p, rt, agent, sys, store, opts, node)
        } finally {
          active.delete(rt)
        }
        if (record.run.status === 'interrupted' || interruptedBy() !== null) {
          ledger.release(p.runId, 'interrupted by the user; runs again on resume')
        } else {
          // DuckDB has one writer connection: store the runs one after another
          const write = writes.then(() => store.replaceRun(record))
          writes = write.catch(() => {})
          try {
            await write
            ledger.finish(p.runId, record.run.status === 'not_started' ? 'failed' : 'done', record.run.status, record.run.error ?? null)
          } catch (error) {
            ledger.finish(p.runId, 'failed', null, `store: ${(error as Error).message}`)
          }
        }
        done++
        opts.progress?.(done, todo.length, p.task.id)
      }
    }
    await Promise.all(Array.from({length: Math.max(1, Math.min(opts.concurrency, todo.length || 1))}, worker))
    await writes
    stopInterrupt()
    const runs: BenchmarkRun[] = []
    for (const p of planned) runs.push(await reportOf(store, ledger, p, agent.name, runtimeName))
    return {interrupted: interruptedBy() !== null, ledger: ledgerPath, runs, runtime: runtimeName, store: opts.db}
  } finally {
    ledger.close()
    store.close()
    node?.close()
  }
}

async function runOne(p: Planned, rt: Runtime, agent: Agent, sys: CgroupSystem, store: Store, opts: BenchmarkOptions, node: NodeControl | null): Promise<RunRecord> {
  let sessionFiles: string[] | null = null
  let task = p.task
  const scratch = join(tmpdir(), `agentcgroup-session-${process.pid}-${p.attempt}-${p.task.id}`)
  rmSync(scratch, {force: true, recursive: true})
  mkdirSync(scratch, {recursive: true})
  try {
    if (agent.name !== 'command') sessionFiles = await findSession(task, opts.sessionsDir, store, scratch)
    // without a problem statement, the recorded session's own prompt is the task's prompt
    if (sessionFiles && !task.problemStatement) task = {...task, prompt: loadSession(sessionFiles).main.prompt}
    return await runAttempt({
      agent,
      attempt: p.attempt,
      intervalMs: opts.intervalMs,
      latency: opts.latency,
      log: opts.log,
      memoryBytes: node?.agentLimitBytes() ?? null,
      node,
      runId: p.runId,
      runtime: rt,
      sampler: opts.sampler,
      sessionFiles,
      sys,
      task,
      timeoutMs: opts.timeoutMs,
    })
  } finally {
    rmSync(scratch, {force: true, recursive: true})
  }
}

async function reportOf(store: Store, ledger: Ledger, p: Planned, agent: string, runtime: string): Promise<BenchmarkRun> {
  const row = ledger.get(p.runId)
  const q = await store.query(
    `SELECT r.status, r.tests_passed, r.agent, r.runtime, r.error,
      (SELECT count(*) FROM samples s WHERE s.run_id = r.run_id)::INTEGER AS samples,
      (SELECT count(*) FROM processes x WHERE x.run_id = r.run_id)::INTEGER AS processes,
      (SELECT count(*) FROM tool_calls c WHERE c.run_id = r.run_id)::INTEGER AS tool_calls,
      (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.kind = 'oom_kill')::INTEGER AS oom_kills,
      (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.kind = 'throttle')::INTEGER AS throttles,
      (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.kind = 'freeze')::INTEGER AS freezes,
      (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.kind = 'thaw')::INTEGER AS thaws
     FROM runs r WHERE r.run_id = $id`,
    {id: p.runId},
  )
  const r = q[0]
  if (!r) {
    return {agent, control_events: {freeze: 0, kill: 0, thaw: 0, throttle: 0}, error: row?.error ?? 'not run', oom_kills: 0, processes: 0, run_id: p.runId, runtime, samples: 0, status: row?.state === 'failed' ? 'not_started' : 'interrupted', task_id: p.task.id, tests_passed: null, tool_calls: 0}
  }
  return {
    agent: String(r.agent ?? agent),
    control_events: {freeze: Number(r.freezes), kill: Number(r.oom_kills), thaw: Number(r.thaws), throttle: Number(r.throttles)},
    error: (r.error as string | null) ?? null,
    oom_kills: Number(r.oom_kills),
    processes: Number(r.processes),
    run_id: p.runId,
    runtime: String(r.runtime ?? runtime),
    samples: Number(r.samples),
    status: String(r.status),
    task_id: p.task.id,
    tests_passed: r.tests_passed === null || r.tests_passed === undefined ? null : Boolean(r.tests_passed),
    tool_calls: Number(r.tool_calls),
  }
}

/** Containers, cgroups and scratch dirs of dead owners (a kill -9 of an earlier run). */
async function reapEverything(sys: CgroupSystem, runtime: RuntimeName, log: (m: string) => void): Promise<void> {
  const removed: string[] = []
  // a frozen tool call holds its container: thaw before the containers are stopped
  try {
    thawLeftovers(sys)
  } catch {
    // no cgroup root of ours yet
  }
  if (runtime === 'podman') removed.push(...(await reapContainers(pidAlive)))
  try {
    removed.push(...reapLeftovers(sys))
  } catch {
    // no cgroup root of ours yet, or not permitted: nothing to reap
  }
  for (const name of safeList(tmpdir())) {
    const m = /^agentcgroup-(?:run|session)-(\d+)-/.exec(name)
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) {
      rmSync(join(tmpdir(), name), {force: true, recursive: true})
      removed.push(join(tmpdir(), name))
    }
  }
  if (removed.length > 0) log(`removed ${removed.length} leftover(s) of an earlier run: ${removed.join(', ')}`)
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
