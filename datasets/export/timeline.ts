/**
 * One run as a Chrome trace event JSON (the "JSON Object Format" of the Trace Event Format),
 * which ui.perfetto.dev and chrome://tracing open. Everything sits on the run's absolute
 * clock: `ts` is UTC microseconds since the Unix epoch, exactly the store's *_us values.
 *
 * Layout, all in one trace process (pid 1, named after the run):
 *   tid 1..      "phases": the run and its phases as slices (lanes when they overlap)
 *   tid 100..    "agent": LLM turns and tool calls as slices; calls that overlap without
 *                nesting (parallel and sub-agent calls) go to extra lanes "agent (2)", ...
 *   tid 10000.. one track per process, exec to exit, argv and pid in args
 *   counters     "memory" (bytes), "memory anon/file", "memory limit", "cpu" (% of one core)
 *   instants     every row of `events` (oom_kill, throttle, freeze, thaw, ...), by kind
 * Slices on one track always nest or follow each other (Perfetto drops slices that overlap
 * partially), counters are strictly increasing in time.
 */
import type {Store} from '../store.js'

export interface TraceEvent {
  name: string
  ph: 'X' | 'C' | 'i' | 'M'
  ts: number
  pid: number
  tid: number
  dur?: number
  cat?: string
  s?: 'g' | 'p' | 't'
  args?: Record<string, unknown>
}

export interface TraceDocument {
  traceEvents: TraceEvent[]
  displayTimeUnit: 'ms'
  otherData: Record<string, string | number | null>
}

type Num = number | null
type Row = Record<string, unknown>

export interface TimelineData {
  run: {run_id: string; task_id: string; dataset: string; model: string | null; model_actual: string | null; status: string; started_at_us: Num; ended_at_us: Num}
  phases: {phase: string; start_us: number; end_us: number; source: string | null}[]
  samples: {t_us: number; mem_bytes: Num; mem_anon_bytes: Num; mem_file_bytes: Num; mem_limit_bytes: Num; cpu_usec: Num; cpu_pct: Num; cpu_pct_kind: string | null}[]
  toolCalls: Row[]
  llmTurns: Row[]
  processes: Row[]
  events: {t_us: number; kind: string; detail: string | null}[]
}

const PID = 1
const PHASE_TID = 1
const AGENT_TID = 100
const PROCESS_TID = 10_000
const COUNTER_TID = 0

/** Reads one run's rows; times and sizes as numbers (µs fit a double exactly until 2255). */
export async function loadTimelineData(store: Store, runId: string): Promise<TimelineData | null> {
  const p = {id: runId}
  const [run] = await store.query(
    'SELECT run_id, task_id, dataset, model, model_actual, status, started_at_us::DOUBLE AS started_at_us, ended_at_us::DOUBLE AS ended_at_us FROM runs WHERE run_id = $id',
    p,
  )
  if (!run) return null
  const q = (sql: string) => store.query(sql, p)
  return {
    events: (await q('SELECT t_us::DOUBLE AS t_us, kind, detail FROM events WHERE run_id = $id ORDER BY t_us, kind')) as TimelineData['events'],
    llmTurns: await q(
      'SELECT turn, message_id, start_us::DOUBLE AS start_us, end_us::DOUBLE AS end_us, model, is_sidechain, input_tokens::DOUBLE AS input_tokens, output_tokens::DOUBLE AS output_tokens, cache_read_tokens::DOUBLE AS cache_read_tokens, cache_creation_tokens::DOUBLE AS cache_creation_tokens, stop_reason FROM llm_turns WHERE run_id = $id ORDER BY turn',
    ),
    phases: (await q('SELECT phase, start_us::DOUBLE AS start_us, end_us::DOUBLE AS end_us, source FROM phases WHERE run_id = $id ORDER BY start_us, phase')) as TimelineData['phases'],
    processes: await q(
      'SELECT pid, ppid, comm, argv, start_us::DOUBLE AS start_us, end_us::DOUBLE AS end_us, exit_code, peak_rss_bytes::DOUBLE AS peak_rss_bytes, cgroup, call_id, source FROM processes WHERE run_id = $id ORDER BY start_us NULLS LAST, pid',
    ),
    run: run as TimelineData['run'],
    samples: (await q(
      'SELECT t_us::DOUBLE AS t_us, mem_bytes::DOUBLE AS mem_bytes, mem_anon_bytes::DOUBLE AS mem_anon_bytes, mem_file_bytes::DOUBLE AS mem_file_bytes, mem_limit_bytes::DOUBLE AS mem_limit_bytes, cpu_usec::DOUBLE AS cpu_usec, cpu_pct, cpu_pct_kind FROM samples WHERE run_id = $id ORDER BY t_us',
    )) as TimelineData['samples'],
    toolCalls: await q(
      'SELECT call_id, seq, tool, start_us::DOUBLE AS start_us, end_us::DOUBLE AS end_us, is_sidechain, parent_call_id, command, description, bash_category, exit_code, is_error, result_bytes::DOUBLE AS result_bytes, source, peak_mem_bytes::DOUBLE AS peak_mem_bytes, cpu_usec::DOUBLE AS cpu_usec, domain, throttled_ms, frozen_ms, oom_kills FROM tool_calls WHERE run_id = $id ORDER BY seq, call_id',
    ),
  }
}

interface Slice {
  name: string
  cat: string
  start: number
  end: number
  args: Record<string, unknown>
}

/** The trace of one run (pure: same data, same bytes). */
export function buildTrace(d: TimelineData, generator = 'agentcgroup timeline'): TraceDocument {
  const bounds = runBounds(d)
  const events: TraceEvent[] = [meta('process_name', 0, {name: `run ${d.run.run_id}`})]

  const phaseSlices: Slice[] = d.phases.map((p) => ({args: {source: p.source}, cat: 'phase', end: p.end_us, name: p.phase, start: p.start_us}))
  if (bounds) phaseSlices.push({args: {status: d.run.status}, cat: 'run', end: bounds.end, name: 'run', start: bounds.start})
  events.push(...laneEvents(phaseSlices, PHASE_TID, 'phases', 0))

  const agent = [...d.llmTurns.map((t) => turnSlice(t, bounds)), ...d.toolCalls.map((c) => toolSlice(c, bounds))]
  events.push(...laneEvents(agent, AGENT_TID, 'agent', 100))

  d.processes.forEach((p, i) => {
    const tid = PROCESS_TID + i
    const s = processSlice(p, bounds)
    events.push(meta('thread_name', tid, {name: `${s.name} [${String(p.pid)}]`}), meta('thread_sort_index', tid, {sort_index: 1000 + i}))
    events.push(complete(s, tid))
  })

  events.push(...counterEvents(d.samples))
  for (const e of d.events) events.push({args: {detail: e.detail}, cat: 'event', name: e.kind, ph: 'i', pid: PID, s: 'p', tid: AGENT_TID, ts: e.t_us})

  return {
    displayTimeUnit: 'ms',
    otherData: {
      clock: 'ts is UTC microseconds since 1970-01-01T00:00:00Z (the store clock)',
      dataset: d.run.dataset,
      generator,
      model: d.run.model_actual ?? d.run.model,
      run_id: d.run.run_id,
      started_at: bounds ? new Date(bounds.start / 1000).toISOString() : null,
      status: d.run.status,
      task_id: d.run.task_id,
    },
    traceEvents: events,
  }
}

/** The run's span: its recorded bounds, else what its rows cover. */
function runBounds(d: TimelineData): {start: number; end: number} | null {
  const times: number[] = []
  for (const v of [d.run.started_at_us, d.run.ended_at_us]) if (v !== null) times.push(v)
  for (const s of d.samples) times.push(s.t_us)
  for (const r of [...d.toolCalls, ...d.llmTurns, ...d.processes]) for (const k of ['start_us', 'end_us']) if (typeof r[k] === 'number') times.push(r[k] as number)
  if (times.length === 0) return null
  const start = d.run.started_at_us ?? Math.min(...times)
  const end = Math.max(d.run.ended_at_us ?? -Infinity, ...times)
  return {end, start}
}

/**
 * A slice without a start (never seen in recordings, allowed by the schema) sits at its end or
 * the run start; one without an end (no tool_result, no exit seen) reaches to the run's end.
 */
function span(start: unknown, end: unknown, bounds: {start: number; end: number} | null): {start: number; end: number; note?: string} {
  const s = typeof start === 'number' ? start : typeof end === 'number' ? end : (bounds?.start ?? 0)
  if (typeof end === 'number') return {end: Math.max(end, s), start: s}
  return {end: Math.max(bounds?.end ?? s, s), note: 'no end recorded: drawn to the end of the run', start: s}
}

function toolSlice(c: Row, bounds: {start: number; end: number} | null): Slice {
  const sp = span(c.start_us, c.end_us, bounds)
  const args = pick(c, ['call_id', 'seq', 'command', 'description', 'bash_category', 'exit_code', 'is_error', 'result_bytes', 'is_sidechain', 'parent_call_id', 'peak_mem_bytes', 'cpu_usec', 'domain', 'throttled_ms', 'frozen_ms', 'oom_kills', 'source'])
  if (sp.note) args.note = sp.note
  return {args, cat: 'tool_call', end: sp.end, name: String(c.tool), start: sp.start}
}

function turnSlice(t: Row, bounds: {start: number; end: number} | null): Slice {
  const sp = span(t.start_us, t.end_us, bounds)
  const args = pick(t, ['turn', 'message_id', 'model', 'is_sidechain', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens', 'stop_reason'])
  if (sp.note) args.note = sp.note
  return {args, cat: 'llm_turn', end: sp.end, name: `LLM turn ${String(t.turn)}`, start: sp.start}
}

function processSlice(p: Row, bounds: {start: number; end: number} | null): Slice {
  const sp = span(p.start_us, p.end_us, bounds)
  const args = pick(p, ['pid', 'ppid', 'argv', 'exit_code', 'peak_rss_bytes', 'cgroup', 'call_id', 'source'])
  if (sp.note) args.note = sp.note
  const argv0 = typeof p.argv === 'string' ? p.argv.split(' ')[0].split('/').pop() : undefined
  return {args, cat: 'process', end: sp.end, name: String(p.comm ?? argv0 ?? `pid ${String(p.pid)}`), start: sp.start}
}

function pick(row: Row, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k of keys) if (row[k] !== null && row[k] !== undefined) out[k] = row[k]
  return out
}

/**
 * Slices onto as few tracks as possible where each track's slices nest or follow each other:
 * longest first at equal starts, a slice goes to the first lane whose open slice contains it.
 */
export function packLanes<T extends {start: number; end: number}>(slices: T[]): {slice: T; lane: number}[] {
  const order = [...slices].sort((a, b) => a.start - b.start || b.end - a.end)
  const lanes: number[][] = [] // per lane, the ends of the slices open at the current start
  return order.map((slice) => {
    let lane = 0
    for (; lane < lanes.length; lane++) {
      const open = lanes[lane]
      while (open.length > 0 && open.at(-1)! <= slice.start) open.pop()
      if (open.length === 0 || slice.end <= open.at(-1)!) break
    }
    if (lane === lanes.length) lanes.push([])
    lanes[lane].push(slice.end)
    return {lane, slice}
  })
}

function laneEvents(slices: Slice[], baseTid: number, name: string, sortBase: number): TraceEvent[] {
  const placed = packLanes(slices)
  const lanes = new Set(placed.map((p) => p.lane))
  if (lanes.size === 0) lanes.add(0)
  const events: TraceEvent[] = []
  for (const lane of [...lanes].sort((a, b) => a - b)) {
    events.push(meta('thread_name', baseTid + lane, {name: lane === 0 ? name : `${name} (${lane + 1})`}), meta('thread_sort_index', baseTid + lane, {sort_index: sortBase + lane}))
  }
  for (const p of placed) events.push(complete(p.slice, baseTid + p.lane))
  return events
}

function complete(s: Slice, tid: number): TraceEvent {
  return {args: s.args, cat: s.cat, dur: s.end - s.start, name: s.name, ph: 'X', pid: PID, tid, ts: s.start}
}

function meta(name: string, tid: number, args: Record<string, unknown>): TraceEvent {
  return {args, name, ph: 'M', pid: PID, tid, ts: 0}
}

/**
 * Memory and CPU counters, one point per sample at a strictly later time than the last.
 * CPU is the rate of cumulative cpu_usec where measured (% of one core), else the stored
 * cpu_pct, named by its kind (podman's lifetime average is no instantaneous value).
 */
function counterEvents(samples: TimelineData['samples']): TraceEvent[] {
  const out: TraceEvent[] = []
  const counter = (name: string, ts: number, args: Record<string, number>) => out.push({args, cat: 'counter', name, ph: 'C', pid: PID, tid: COUNTER_TID, ts})
  let lastTs = -Infinity
  let prevCpu: {t: number; usec: number} | null = null
  for (const s of samples) {
    if (s.t_us <= lastTs) continue
    lastTs = s.t_us
    if (s.mem_bytes !== null) counter('memory', s.t_us, {bytes: s.mem_bytes})
    if (s.mem_anon_bytes !== null || s.mem_file_bytes !== null) counter('memory anon/file', s.t_us, {anon_bytes: s.mem_anon_bytes ?? 0, file_bytes: s.mem_file_bytes ?? 0})
    if (s.mem_limit_bytes !== null) counter('memory limit', s.t_us, {bytes: s.mem_limit_bytes})
    if (s.cpu_usec !== null) {
      if (prevCpu) counter('cpu', s.t_us, {pct: (100 * (s.cpu_usec - prevCpu.usec)) / (s.t_us - prevCpu.t)})
      prevCpu = {t: s.t_us, usec: s.cpu_usec}
    } else if (s.cpu_pct !== null) {
      counter(s.cpu_pct_kind === 'lifetime_avg' ? 'cpu (lifetime average)' : 'cpu', s.t_us, {pct: s.cpu_pct})
    }
  }
  return out
}
