/**
 * Reads one discovered recording into a RunRecord (all rows in memory, nothing written).
 * Throws RecordingError naming the file and field for anything it cannot read, so the
 * importer can skip the run without writing half of it. Every summary is recomputed from
 * raw samples; nothing is taken from a stored summary.
 */
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'

import {medianGapMs} from '../../analysis/stats.js'
import {isoZonedToUs, naiveLocalToUs} from '../clock.js'
import {RecordingError} from '../errors.js'
import {parseClaudeTranscript, ParsedTranscript} from '../formats/claude-transcript.js'
import {parseEbpfTrace} from '../formats/ebpf-trace.js'
import {Fields, readJsonFile, readRecordingText} from '../formats/json-file.js'
import {readResourcesJson} from '../formats/resources-json.js'
import {instanceIdFromImage, readResultsJson, RunnerResults} from '../formats/results-json.js'
import {readToolCallsJson} from '../formats/tool-calls-json.js'
import {emptyRunRecord, PhaseRow, ProcessRow, RunRecord, RunStatus, SampleRow, ToolCallRow} from '../model.js'
import {redactSecrets} from '../redact.js'
import type {RunSource} from './discover.js'

/** The paper's validity filter (filter_valid_tasks.py): >= 10 samples and >= 60 s of sampling. */
export const VALID_MIN_SAMPLES = 10
export const VALID_MIN_SPAN_S = 60

export interface DatasetContext {
  /** the dataset runner's naive-clock offset (minutes east of UTC), learned from any run */
  localOffsetMin(): number | null
  /** progress.json's success heuristic for a task, when listed */
  successHeuristic(task: string): boolean | null
}

export type BuildOutcome = {record: RunRecord} | {skip: string}

export function buildRun(src: RunSource, ctx: DatasetContext): BuildOutcome {
  const notes: string[] = []
  const f = src.files
  const results = f.results ? readResultsJson(f.results) : null
  if (results?.isToolReplay) {
    return {skip: 'tool-call replay (recorded tool calls re-executed without an LLM): not an agent run'}
  }
  const manifest = f.manifest ? readManifest(f.manifest) : null
  const resources = f.resources ? readResourcesJson(f.resources, ctx.localOffsetMin()) : null
  if (resources) notes.push(...resources.notes)
  const offsetMin = resources?.localOffsetMin ?? ctx.localOffsetMin()

  let transcript: ParsedTranscript | null = null
  let transcriptText: string | null = null
  if (f.trace) {
    transcriptText = readRecordingText(f.trace)
    transcript = parseClaudeTranscript(f.trace, transcriptText)
  }
  let toolCalls: ToolCallRow[] = transcript?.toolCalls ?? []
  if (!transcript && f.toolCalls) {
    const parsed = readToolCallsJson(f.toolCalls, offsetMin)
    toolCalls = parsed.calls
    notes.push(`no trace.jsonl: tool calls from tool_calls.json (${parsed.schema} schema), sidechains unknown`)
    if (parsed.assumedUtc) notes.push('tool_calls.json has naive times and no clock offset: read as UTC')
  }
  if (!transcript && src.layout !== 'transcript' && (results?.claudeTimeS ?? 0) > 0 && !f.toolCalls) {
    notes.push('no trace.jsonl and no tool_calls.json')
  }

  const naive = (text: string | null, what: string): number | null => {
    if (!text) return null
    const zoned = isoZonedToUs(text)
    if (zoned !== null) return zoned
    if (offsetMin === null) notes.push(`${what}: naive time with no known clock offset, read as UTC`)
    const us = naiveLocalToUs(text, offsetMin ?? 0)
    if (us === null) throw new RecordingError({field: what, file: f.results ?? f.manifest ?? src.path}, `not an ISO-8601 time: ${JSON.stringify(text).slice(0, 40)}`)
    return us
  }

  const samples: SampleRow[] = resources?.samples ?? []
  const startUs = naive(results?.startTime ?? manifest?.startTime ?? null, 'start_time') ?? readUtcFile(f.startUtc)
  const endUs = naive(results?.endTime ?? manifest?.endTime ?? null, 'end_time') ?? readUtcFile(f.endUtc)
  const firstSample = samples[0]?.t_us ?? null
  const lastSample = samples.at(-1)?.t_us ?? null
  const spanS = firstSample !== null && lastSample !== null ? (lastSample - firstSample) / 1e6 : 0

  let processes: ProcessRow[] = []
  let clockOffsetNs: bigint | null = null
  if (f.ebpf) {
    const ebpf = parseEbpfTrace(f.ebpf, readRecordingText(f.ebpf))
    processes = ebpf.processes
    clockOffsetNs = ebpf.clockOffsetNs
    attributeProcesses(processes, toolCalls)
  }
  // a run with only an eBPF trace has no other clock than its processes
  const procStart = minOf(firstSample, processes.reduce<number | null>((m, p) => minOf(m, p.start_us ?? null), null))
  const procEnd = maxOf(lastSample, processes.reduce<number | null>((m, p) => maxOf(m, p.end_us ?? null), null))
  const cgroupPath = manifest?.cgroupPath ?? readFirstLine(f.cgroupPath)

  const stderr = f.stderr ? safeRead(f.stderr) : results?.stderr ?? null
  let issuePresent = transcript?.issuePresent ?? null
  if (stderr && /cat: \/issue\.md: No such file or directory/.test(stderr)) issuePresent = false

  const exitCode = results?.exitCode ?? readExitCodeFile(f.exitCode)
  const error = results?.error ?? manifest?.error ?? null
  const status = runStatus({error, exitCode, hasAgentData: transcript !== null || samples.length > 0})
  if (exitCode === null && status === 'done' && src.layout !== 'transcript') notes.push('no exit code recorded')
  // 128 + 9: podman reports a SIGKILLed container this way; neither runner recorded who sent it
  if (exitCode === 137) notes.push('exit code 137: killed by SIGKILL (runner kill or OOM kill; the recording does not say which)')

  const image = results?.image ?? manifest?.image ?? null
  const runId = `${src.dataset}/${src.task}/attempt_${src.attempt}`
  const record = emptyRunRecord({
    agent: 'claude-code',
    agent_version: transcript?.agentVersion ?? null,
    attempt: src.attempt,
    dataset: src.dataset,
    ended_at_us: endUs ?? maxOf(procEnd, transcript?.lastUs ?? null),
    error: error === null ? null : redactSecrets(error || '(empty error message)'),
    exit_code: exitCode,
    image,
    image_bytes: results?.imageBytes ?? null,
    interval_ms: medianGapMs(samples.map((s) => s.t_us)),
    issue_present: issuePresent,
    kind: src.layout === 'transcript' ? 'transcript' : 'agent',
    layout: src.layout,
    model: results?.model ?? manifest?.model ?? null,
    model_actual: transcript?.modelActual ?? results?.modelActual ?? null,
    permission_fix_time_s: results?.permissionFixTimeS ?? null,
    pull_time_s: results?.pullTimeS ?? null,
    bpf_clock_offset_ns: clockOffsetNs === null ? null : Number(clockOffsetNs),
    claude_time_s: results?.claudeTimeS ?? null,
    run_id: runId,
    runtime: results || manifest ? 'podman' : null,
    sampler: resources ? 'podman-stats' : null,
    source_path: src.path,
    started_at_us: startUs ?? minOf(procStart, transcript?.firstUs ?? null),
    status,
    success_heuristic: ctx.successHeuristic(src.task),
    task_id: instanceIdFromImage(image) ?? src.task,
    valid: samples.length >= VALID_MIN_SAMPLES && spanS >= VALID_MIN_SPAN_S,
  })
  if (cgroupPath) notes.push(`cgroup ${cgroupPath}`)
  record.samples = samples
  record.toolCalls = toolCalls
  record.llmTurns = transcript?.llmTurns ?? []
  record.processes = processes
  record.phases = derivePhases(results, startUs, endUs, firstSample, lastSample, transcript)
  if (transcriptText !== null && f.trace) record.transcripts = [{content: redactSecrets(transcriptText), file: basename(f.trace)}]
  record.run.notes = notes.length > 0 ? [...new Set(notes)].join('; ') : null
  return {record}
}

function runStatus(o: {error: string | null; exitCode: number | null; hasAgentData: boolean}): RunStatus {
  if (o.error !== null && !o.hasAgentData) return 'not_started'
  if (o.error !== null) return 'failed'
  if (o.exitCode === null || o.exitCode === 0) return 'done'
  if (o.exitCode === 124) return 'timeout'
  if (o.exitCode === 130 || o.exitCode === 143) return 'interrupted'
  return 'failed'
}

/**
 * Phases on the runner's timeline: pull check + permission fix (image_prepare), then
 * `podman run -d` until sampling starts (container_create: the ID-mapped layer copy), then
 * until the transcript's first record (agent_start), the transcript span (agent_active), and
 * from the last sample or record to the runner's end (teardown: git diff, du, logs, rm).
 */
function derivePhases(
  r: RunnerResults | null,
  startUs: number | null,
  endUs: number | null,
  firstSample: number | null,
  lastSample: number | null,
  t: ParsedTranscript | null,
): PhaseRow[] {
  const phases: PhaseRow[] = []
  const push = (phase: PhaseRow['phase'], s: number | null, e: number | null, source: string) => {
    if (s !== null && e !== null && e >= s) phases.push({end_us: e, phase, source, start_us: s})
  }
  let prepEnd: number | null = null
  if (startUs !== null && r?.pullTimeS !== null && r?.pullTimeS !== undefined) {
    prepEnd = startUs + Math.round(((r.pullTimeS ?? 0) + (r.permissionFixTimeS ?? 0)) * 1e6)
    push('image_prepare', startUs, prepEnd, 'results.json start_time + pull_time + permission_fix_time')
  }
  if (r?.error) return phases
  push('container_create', prepEnd, firstSample, 'image_prepare end -> first podman-stats sample')
  push('agent_start', firstSample, t?.firstUs ?? null, 'first sample -> first transcript record')
  push('agent_active', t?.firstUs ?? null, t?.lastUs ?? null, 'transcript first -> last record')
  push('teardown', maxOf(lastSample, t?.lastUs ?? null), endUs, 'last sample or record -> results.json end_time')
  return phases
}

/** A process belongs to the innermost tool call whose interval holds its start. */
function attributeProcesses(processes: ProcessRow[], calls: ToolCallRow[]): void {
  const spans = calls.filter((c) => c.start_us !== null && c.end_us !== null)
  for (const p of processes) {
    if (p.start_us === null || p.start_us === undefined) continue
    let best: ToolCallRow | null = null
    for (const c of spans) {
      if (c.start_us! <= p.start_us && p.start_us <= c.end_us! && (!best || c.start_us! >= best.start_us!)) best = c
    }
    p.call_id = best?.call_id ?? null
  }
}

interface Manifest {
  image: string | null
  model: string | null
  error: string | null
  startTime: string | null
  endTime: string | null
  cgroupPath: string | null
}

function readManifest(file: string): Manifest {
  const m = Fields.of(file, readJsonFile(file))
  const pick = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = m.obj[k]
      if (typeof v === 'string' && v !== '') return v
    }
    return null
  }
  return {
    cgroupPath: pick('container_cgroup_path', 'cgroup_path'),
    endTime: pick('end_time', 'ended_at', 'end_utc'),
    error: pick('error'),
    image: pick('image'),
    model: pick('model_requested', 'model'),
    startTime: pick('start_time', 'started_at', 'start_utc'),
  }
}

function readUtcFile(file: string | undefined): number | null {
  if (!file) return null
  const text = readRecordingText(file).trim()
  const zoned = isoZonedToUs(text)
  if (zoned !== null) return zoned
  // the file's name says UTC: a naive stamp in it is UTC
  const us = naiveLocalToUs(text, 0)
  if (us === null) throw new RecordingError({file}, `not an ISO-8601 UTC time: ${JSON.stringify(text).slice(0, 40)}`)
  return us
}

/** cgroup_path.txt / container_cgroup_path.txt: one path and a newline. */
function readFirstLine(file: string | undefined): string | null {
  if (!file) return null
  return safeRead(file)?.split('\n')[0].trim() || null
}

function readExitCodeFile(file: string | undefined): number | null {
  if (!file) return null
  const text = readRecordingText(file).trim()
  if (!/^-?\d+$/.test(text)) throw new RecordingError({file}, `not an exit code: ${JSON.stringify(text).slice(0, 40)}`)
  const code = Number(text)
  if (Math.abs(code) > 2 ** 31 - 1) throw new RecordingError({file}, `exit code out of range: ${text.slice(0, 20)}`)
  return code
}

function safeRead(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return null
  }
}


function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b
  if (b === null) return a
  return Math.max(a, b)
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b
  if (b === null) return a
  return Math.min(a, b)
}

