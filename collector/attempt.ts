/**
 * One attempt of one task, end to end: image_prepare (image, repository copy), container_create,
 * agent_start (until the agent's first model request), agent_active, tests, teardown; the
 * run's cgroup sampled throughout; the agent's transcript parsed into tool calls and LLM
 * turns; processes attributed to tool calls. Returns the RunRecord to store; never throws for
 * a task's own failure (the record says failed / not_started with the error), and always
 * tears down what it created.
 */
import {spawnSync} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {hostname, release, tmpdir} from 'node:os'
import {join} from 'node:path'

import {parseClaudeTranscript} from '../datasets/formats/claude-transcript.js'
import {emptyRunRecord, EventRow, PhaseRow, RunRecord, RunStatus, ToolCallRow} from '../datasets/model.js'
import {redactSecrets} from '../datasets/redact.js'
import {Cgroup, CgroupSystem} from '../kernel/cgroup.js'
import {interruptedBy, onCleanup} from '../kernel/cleanup.js'
import type {Agent, AgentResult, ToolShell} from './agents/types.js'
import {attributeProcesses} from './attribute.js'
import type {NodeControl} from './control/live.js'
import {ToolDomainBroker} from './domains/broker.js'
import {attributeToDomains, withDomains} from './domains/match.js'
import {CONTAINER_SOCK_DIR, SOCK_ENV, SOCKET_NAME, toolShellDir} from './domains/toolshell.js'
import {kernelToolCalls} from './kernel-calls.js'
import {taskPrompt} from './prompt.js'
import type {LatencyMode, ReplayEvent} from './replay-server.js'
import type {Mount, Runtime} from './runtime/types.js'
import {RunSampling, SamplingResult, startRunSampling} from './run-sampling.js'
import type {SamplerName} from './samplers/index.js'
import type {BenchTask} from './tasks.js'

export interface AttemptSpec {
  task: BenchTask
  attempt: number
  runId: string
  agent: Agent
  runtime: Runtime
  sys: CgroupSystem
  timeoutMs: number
  testTimeoutMs?: number
  latency: LatencyMode
  sessionFiles: string[] | null
  intervalMs: number
  /** bpf (cgroupfs where BPF cannot run), cgroupfs, podman-stats */
  sampler?: SamplerName
  memoryBytes?: number | null
  /** --control: the node this attempt runs under (its limits, tool-call cgroups, controller) */
  node?: NodeControl | null
  log: (msg: string) => void
}

/** Where the wrapper appears inside a container (the socket's directory: CONTAINER_SOCK_DIR). */
const TOOLSHELL_TARGET = '/opt/agentcgroup/bin'

const nowUs = () => Date.now() * 1000

export async function runAttempt(spec: AttemptSpec): Promise<RunRecord> {
  const {task, runtime: rt, agent} = spec
  const startedUs = nowUs()
  const phases: PhaseRow[] = []
  const events: EventRow[] = []
  const phase = (name: PhaseRow['phase'], start: number, end = nowUs()) => phases.push({end_us: end, phase: name, source: 'measured', start_us: start})
  const scratch = mkdtempSync(join(tmpdir(), `agentcgroup-run-${process.pid}-`))
  // a Ctrl-C or crash must not leave the temp HOME and repository copy behind
  const unhookScratch = onCleanup(() => rmSync(scratch, {force: true, recursive: true}))
  const home = join(scratch, 'home')
  mkdirSync(home, {mode: 0o700})
  let status: RunStatus = 'failed'
  let error: string | null = null
  let result: AgentResult | null = null
  let poll: SamplingResult | null = null
  let testsPassed: boolean | null = null
  let activeUs: number | null = null
  let agentEndUs: number | null = null
  const serverEvents: ReplayEvent[] = []
  let poller: RunSampling | null = null
  let created = false
  let broker: ToolDomainBroker | null = null
  let shell: ToolShell | null = null
  let agentGroupRel: string | null = null
  try {
    // image_prepare
    let t = nowUs()
    let repoCopy: string | null = null
    try {
      await rt.prepare(task, spec.log)
      if (task.repoDir) repoCopy = copyRepo(task.repoDir, join(scratch, 'repo'))
    } catch (e) {
      status = 'not_started'
      throw e
    }
    phase('image_prepare', t)
    // container_create
    t = nowUs()
    const mounts = agent.mounts({homeDir: home, runtime: rt})
    const domainMounts = spec.node?.domains ? toolCallMounts(scratch) : null
    try {
      await rt.create({memoryBytes: spec.memoryBytes ?? null, mounts: [...mounts, ...(domainMounts ?? [])], repoCopy})
      created = true
      if (domainMounts) {
        // every tool call's process tree in its own cgroup under the agent's (collector/domains)
        const [tools, control] = domainMounts
        broker = await ToolDomainBroker.start({hooks: spec.node!.hooksFor(spec.runId), log: spec.log, parent: () => Cgroup.at(spec.sys, rt.cgroupRel()), socketPath: join(control.host, SOCKET_NAME)})
        shell = {env: {[SOCK_ENV]: join(rt.pathInside(control), SOCKET_NAME)}, path: join(rt.pathInside(tools), 'bash')}
      }
    } catch (e) {
      status = 'not_started'
      throw e
    }
    agentGroupRel = rt.cgroupRel()
    const group = Cgroup.at(spec.sys, agentGroupRel)
    poller = await startRunSampling(group, rt.containerName(), spec.intervalMs, spec.log, spec.sampler, agent.toolCallComms)
    phase('container_create', t)
    // agent_start, agent_active
    const agentStartUs = nowUs()
    result = await agent.run({
      homeDir: home,
      latency: spec.latency,
      log: spec.log,
      onActive: (tUs) => {
        activeUs ??= tUs
      },
      onServerEvent: (ev) => serverEvents.push(ev),
      prompt: task.prompt ?? taskPrompt(task.problemStatement, task.id),
      runtime: rt,
      scratchDir: scratch,
      sessionFiles: spec.sessionFiles,
      shell,
      task,
      timeoutMs: spec.timeoutMs,
    })
    agentEndUs = nowUs()
    phase('agent_start', agentStartUs, activeUs ?? agentEndUs)
    if (activeUs !== null) phase('agent_active', activeUs, agentEndUs)
    // tests, in the same container after the agent
    if (task.testCommand && !result.timedOut && interruptedBy() === null) {
      t = nowUs()
      // with tool-call cgroups the test step is a call of its own, controlled like the agent's
      const argv = shell ? [shell.path, '-c', task.testCommand] : ['bash', '-c', task.testCommand]
      const r = await rt.exec(argv, shell?.env ?? {}, {timeoutMs: spec.testTimeoutMs ?? 600_000})
      testsPassed = r.code === 0
      phase('tests', t)
    }
    poll = await poller.stop()
    poller = null
    // v1 counts a kill only in the victim's own group: a tool call's group knows of its kills
    const oomKills = Math.max(poll.oomKills, domainOomKills(broker))
    if (interruptedBy() !== null) status = 'interrupted'
    else if (result.timedOut) status = 'timeout'
    else if (oomKills > 0) status = 'oom_killed'
    else status = result.exitCode === 0 ? 'done' : 'failed'
    if (status === 'timeout') error = `agent timed out after ${Math.round(spec.timeoutMs / 1000)} s`
    else if (status === 'failed') error = `agent exited ${result.exitCode}${result.outputTail ? `: ${result.outputTail.split('\n').at(-1)}` : ''}`
    else if (status === 'oom_killed') error = `the run's memory limit was hit: ${oomKills} process(es) OOM-killed`
  } catch (e) {
    error = (e as Error).message.split('\n')[0]
    if ((status as RunStatus) !== 'not_started') status = interruptedBy() !== null ? 'interrupted' : 'failed'
  } finally {
    if (poller) poll = await poller.stop().catch(() => null)
    // calls still open (the agent was killed mid-call) end now: their groups go before the container
    await broker?.close()
    const t = nowUs()
    try {
      await rt.teardown()
    } catch (e) {
      error ??= `teardown: ${(e as Error).message}`
    }
    if (created) phase('teardown', t)
    rmSync(scratch, {force: true, recursive: true})
    unhookScratch()
  }

  const record = emptyRunRecord({
    agent: agent.name,
    agent_version: result?.agentVersion ?? null,
    attempt: spec.attempt,
    cgroup_version: spec.sys.layout,
    control: spec.node?.mode ?? null,
    memory_limit_bytes: spec.memoryBytes ?? null,
    node_memory_bytes: spec.node?.nodeMemoryBytes ?? null,
    dataset: task.catalog,
    ended_at_us: nowUs(),
    error: error ? redactSecrets(error) : null,
    exit_code: result?.exitCode ?? null,
    host: hostname(),
    image: rt.image,
    interval_ms: poll?.intervalMs ?? null,
    kernel: release(),
    kind: 'agent',
    layout: 'run-benchmark',
    run_id: spec.runId,
    runtime: rt.name,
    bpf_clock_offset_ns: poll?.clockOffsetNs ?? null,
    notes: poll && poll.warnings.length > 0 ? poll.warnings.join('; ') : null,
    ringbuf_drops: poll?.ringbufDrops ?? null,
    sampler: poll?.sampler ?? null,
    sampler_overhead_pct: poll?.overheadPct ?? null,
    source_path: task.repoDir ?? task.image ?? task.id,
    started_at_us: startedUs,
    status,
    task_id: task.id,
    tests_passed: testsPassed,
    valid: (poll?.samples.length ?? 0) >= 10,
  })
  record.phases = phases
  record.samples = poll?.samples ?? []
  record.processes = poll?.processes ?? []
  // transcripts: tool calls and LLM turns (sub-agent files are sidechains)
  const calls: ToolCallRow[] = [...(result?.toolCalls ?? [])]
  for (const [i, tr] of (result?.transcripts ?? []).entries()) {
    try {
      const parsed = parseClaudeTranscript(tr.file, tr.text)
      for (const c of parsed.toolCalls) calls.push({...c, is_sidechain: i > 0 ? true : c.is_sidechain, seq: calls.length})
      record.llmTurns.push(...parsed.llmTurns.map((l) => ({...l, is_sidechain: i > 0 ? true : l.is_sidechain, turn: record.llmTurns.length + l.turn})))
      record.run.model_actual ??= parsed.modelActual
      if (i === 0 && parsed.agentVersion) record.run.agent_version = parsed.agentVersion
    } catch (e) {
      events.push({detail: `transcript ${tr.file}: ${(e as Error).message}`, kind: 'transcript_error', t_us: nowUs()})
    }
    record.transcripts.push({content: redactSecrets(tr.text), file: tr.file})
  }
  attributeProcesses(record.processes, calls, (argv) => agent.toolShell(argv))
  const kernel = kernelToolCalls(record.processes, calls, (argv) => agent.toolShell(argv), calls.length)
  // each call's own cgroup, measured: matched to the transcript's calls; the rest stand alone
  record.toolCalls = withDomains([...calls, ...kernel.calls], broker?.records() ?? [], {runId: spec.runId})
  // the kernel's own attribution: a process in a call's group belongs to that call
  if (broker && agentGroupRel) attributeToDomains(record.processes, record.toolCalls, broker.records(), agentGroupRel)
  if (kernel.summary) record.run.notes = [record.run.notes, kernel.summary].filter(Boolean).join('; ')
  for (const ev of serverEvents) {
    if (ev.kind === 'divergence' || ev.kind === 'exhausted') {
      events.push({detail: redactSecrets(`${ev.kind}: ${ev.thread} turn ${ev.turn}${ev.detail ? `: ${ev.detail}` : ''}`), kind: 'divergence', t_us: ev.t_us})
    }
  }
  // the samplers store their own oom_kill events; the /proc poller only counts them
  if (poll && poll.oomKills > 0 && !poll.events.some((e) => e.kind === 'oom_kill')) events.push({detail: JSON.stringify({count: poll.oomKills, source: 'procfs'}), kind: 'oom_kill', t_us: agentEndUs ?? nowUs()})
  else if (!poll?.events.some((e) => e.kind === 'oom_kill')) {
    for (const d of broker?.records() ?? []) if (d.oomKills > 0) events.push({detail: JSON.stringify({count: d.oomKills, domain: d.name, source: 'tool cgroup'}), kind: 'oom_kill', t_us: d.endUs})
  }
  record.events = [...(poll?.events ?? []), ...events, ...(spec.node?.eventsFor(spec.runId) ?? [])]
  return record
}

function domainOomKills(broker: ToolDomainBroker | null): number {
  return (broker?.records() ?? []).reduce((a, d) => a + d.oomKills, 0)
}

/** The wrapper (read-only) and the broker's socket directory, mounted into the agent's world. */
function toolCallMounts(scratch: string): [Mount, Mount] {
  const control = join(scratch, 'control')
  mkdirSync(control, {mode: 0o755})
  return [
    {host: toolShellDir(), readOnly: true, target: TOOLSHELL_TARGET},
    {host: control, target: CONTAINER_SOCK_DIR},
  ]
}

/** A copy of the task's repository, made a git repository (so the agent's git diff works). */
function copyRepo(src: string, dst: string): string {
  cpSync(src, dst, {recursive: true})
  if (!existsSync(join(dst, '.git'))) {
    const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=agentcgroup', '-c', 'user.email=agentcgroup@localhost', '-c', 'init.defaultBranch=master', ...args], {cwd: dst, stdio: 'ignore'})
    git('init', '-q')
    git('add', '-A')
    git('commit', '-q', '-m', 'task repository')
  }
  return dst
}
