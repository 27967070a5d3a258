/**
 * Per-run drill-down data: memory and CPU over time (min/max envelopes within drillBudget),
 * tool calls, LLM turns, processes and events, all on one clock: seconds since the run's
 * first sample. Arrays of tuples keep the embedded JSON small; the page turns them into rows.
 * Every string is cleaned (escape.ts). Runs of run-benchmark --control also carry their policy
 * and memory limits (meta), and the tool calls that ran in their own cgroup (domains) with
 * what was measured there; their controller events name the cgroup (events, 4th element).
 */
import type {JsonRow, Store} from '../../datasets/store.js'
import {envelope} from '../downsample.js'
import {cleanText} from '../escape.js'
import type {RunSamples} from './samples.js'
import type {Scope} from './scope.js'

export interface DrillRunMeta {
  run_id: string
  dataset: string
  task: string
  model: string
  status: string
  valid: boolean
  cpu_kind: string
  samples: number
  downsampled: boolean
  /** run-benchmark --control policy (none, static, observe, agentcgroup); null: imported */
  control: string | null
  /** the invocation's node budget and this agent's own limit, MB (null: none) */
  node_memory_mb: number | null
  memory_limit_mb: number | null
}

/** [t_s, value] */
export type TV = [number, number]
/** [start_s, end_s, tool, lane, category, command] */
export type CallTuple = [number, number, string, string, string, string]
/** [start_s, end_s, model, input_tokens, output_tokens, sidechain] */
export type TurnTuple = [number, number, string, number, number, boolean]
/** [start_s, end_s, pid, comm, argv, peak_rss_mb] */
export type ProcTuple = [number, number, number, string, string, number | null]
/** [t_s, kind, detail, domain] (domain: the tool-call cgroup a controller event names, else '') */
export type EventTuple = [number, string, string, string]
/** [start_s, end_s, domain, command, peak_mb, cpu_s, throttled_s, frozen_s, oom_kills, source] */
export type DomainTuple = [number, number, string, string, number | null, number | null, number, number, number, string]

/** Controller and kernel events that act on a tool call's cgroup (marked on the memory panel). */
export const CONTROL_KINDS = ['throttle', 'unthrottle', 'freeze', 'thaw', 'kill', 'oom_kill'] as const

export interface DrillRun {
  meta: DrillRunMeta
  mem: TV[]
  cpu: TV[]
  calls: CallTuple[]
  turns: TurnTuple[]
  procs: ProcTuple[]
  events: EventTuple[]
  /** tool calls measured in their own cgroup, in cgroup order (tool-0, tool-1, ...; empty: the run had none) */
  domains: DomainTuple[]
}

const r2 = (x: number) => Math.round(x * 100) / 100
const r1 = (x: number) => Math.round(x * 10) / 10
const r3 = (x: number) => Math.round(x * 1000) / 1000
const mbOrNull = (v: unknown) => (v === null || v === undefined ? null : r1(Number(v) / 1e6))

/** n of a `tool-<n>` cgroup name (Infinity for another name: after the numbered ones). */
function domainSeq(name: unknown): number {
  const m = /^tool-(\d+)$/.exec(String(name))
  return m ? Number(m[1]) : Infinity
}

/** The cgroup a controller event's JSON detail names ({"domain": "tool-3", ...}), else ''. */
export function eventDomain(detail: unknown): string {
  if (typeof detail !== 'string' || !detail.includes('domain')) return ''
  try {
    const d = (JSON.parse(detail) as {domain?: unknown}).domain
    return typeof d === 'string' ? d : ''
  } catch {
    return ''
  }
}

function groupBy(rows: JsonRow[]): Map<string, JsonRow[]> {
  const m = new Map<string, JsonRow[]>()
  for (const r of rows) {
    const k = String(r.run_id)
    if (!m.has(k)) m.set(k, [])
    m.get(k)!.push(r)
  }
  return m
}

export interface DrillBudget {
  /** max points per series (min/max envelope beyond it) */
  maxPoints: number
  /** characters kept of each command, argv and event detail */
  textChars: number
}

/**
 * The report's size is dominated by the drill-down, so a store with many runs gets fewer
 * points per series and shorter command text: about 600k points and 1.5M characters of
 * command text in all, never under 120 points or 40 characters, never over 800 and 160.
 */
export function drillBudget(runs: number, calls: number, maxPoints = 800): DrillBudget {
  return {
    maxPoints: Math.max(120, Math.min(maxPoints, Math.floor(600_000 / Math.max(1, 2 * runs)))),
    textChars: Math.max(40, Math.min(160, Math.floor(1_500_000 / Math.max(1, calls)))),
  }
}

export async function loadDrilldown(store: Store, scope: Scope, samples: Map<string, RunSamples>, maxPoints = 800): Promise<DrillRun[]> {
  const q = (sql: string) => store.query(sql, scope.params)
  // one connection: queries run one after another
  const callCount = await q(`SELECT count(*)::DOUBLE AS n FROM tool_calls WHERE ${scope.all()}`)
  const budget = drillBudget(samples.size, Number(callCount[0]?.n ?? 0), maxPoints)
  const runs = await q(`SELECT r.run_id, r.dataset, r.task_id, coalesce(r.model_actual, r.model, '?') AS model, r.status, r.valid,
              r.control, r.node_memory_bytes::DOUBLE AS node_mem, r.memory_limit_bytes::DOUBLE AS mem_limit,
              (SELECT min(t_us)::DOUBLE FROM samples s WHERE s.run_id = r.run_id) AS t0,
              r.started_at_us::DOUBLE AS started
       FROM runs r WHERE ${scope.all('r.run_id')} AND EXISTS (SELECT 1 FROM samples s WHERE s.run_id = r.run_id)
       ORDER BY r.dataset, r.task_id, r.attempt`)
  const calls = await q(`SELECT run_id, start_us::DOUBLE AS s, end_us::DOUBLE AS e, tool, is_sidechain, bash_category, command, description, input_json,
              domain, peak_mem_bytes::DOUBLE AS peak, cpu_usec::DOUBLE AS cpu, throttled_ms, frozen_ms, oom_kills, source
       FROM tool_calls WHERE ${scope.all()} ORDER BY run_id, start_us`)
  const turns = await q(`SELECT run_id, start_us::DOUBLE AS s, end_us::DOUBLE AS e, model, input_tokens::DOUBLE AS inp, output_tokens::DOUBLE AS outp, is_sidechain
       FROM llm_turns WHERE ${scope.all()} ORDER BY run_id, start_us`)
  const procs = await q(`SELECT run_id, start_us::DOUBLE AS s, end_us::DOUBLE AS e, pid::DOUBLE AS pid, comm, argv, peak_rss_bytes::DOUBLE AS rss
       FROM processes WHERE ${scope.all()} ORDER BY run_id, start_us`)
  const events = await q(`SELECT run_id, t_us::DOUBLE AS t, kind, detail FROM events WHERE ${scope.all()} ORDER BY run_id, t_us`)
  const byCalls = groupBy(calls)
  const byTurns = groupBy(turns)
  const byProcs = groupBy(procs)
  const byEvents = groupBy(events)
  return runs.map((run) => {
    const id = String(run.run_id)
    const t0 = Number(run.t0 ?? run.started)
    const rel = (us: unknown) => r2((Number(us) - t0) / 1e6)
    const ss = samples.get(id)
    const relS = (s: number) => r2(s - t0 / 1e6)
    const memPts: {t: number; v: number}[] = []
    ss?.mem_mb.forEach((m, i) => m !== null && memPts.push({t: relS(ss.t[i]), v: r1(m)}))
    const cpuPts = ss ? cpuSeries(ss, relS) : []
    const mem = envelope(memPts, budget.maxPoints)
    const cpu = envelope(cpuPts, budget.maxPoints)
    return {
      calls: (byCalls.get(id) ?? []).map((c): CallTuple => [
        rel(c.s),
        c.e === null ? rel(c.s) : rel(c.e),
        cleanText(String(c.tool), 40),
        c.is_sidechain ? 'sub-agent' : 'main',
        cleanText(c.bash_category === null ? '' : String(c.bash_category), 40),
        cleanText(String(c.command ?? c.description ?? c.input_json ?? ''), budget.textChars),
      ]),
      cpu: cpu.map((p) => [p.t, p.v]),
      domains: (byCalls.get(id) ?? [])
        .filter((c) => c.domain !== null && c.domain !== undefined)
        // in the cgroups' own order (tool-<seq>: their arrival), then by start
        .sort((a, b) => domainSeq(a.domain) - domainSeq(b.domain) || Number(a.s) - Number(b.s))
        .map((c): DomainTuple => [
          rel(c.s),
          c.e === null ? rel(c.s) : rel(c.e),
          cleanText(String(c.domain), 40),
          cleanText(String(c.command ?? c.description ?? ''), budget.textChars),
          mbOrNull(c.peak),
          c.cpu === null ? null : r3(Number(c.cpu) / 1e6),
          r3(Number(c.throttled_ms ?? 0) / 1000),
          r3(Number(c.frozen_ms ?? 0) / 1000),
          Number(c.oom_kills ?? 0),
          cleanText(String(c.source ?? ''), 40),
        ]),
      events: (byEvents.get(id) ?? []).map((e): EventTuple => [rel(e.t), cleanText(String(e.kind), 40), cleanText(String(e.detail ?? ''), budget.textChars), cleanText(eventDomain(e.detail), 40)]),
      mem: mem.map((p) => [p.t, p.v]),
      meta: {
        control: run.control === null || run.control === undefined ? null : cleanText(String(run.control), 40),
        cpu_kind: [...(ss?.kinds ?? [])].join(', '),
        dataset: cleanText(String(run.dataset), 120),
        downsampled: mem.length < memPts.length || cpu.length < cpuPts.length,
        memory_limit_mb: mbOrNull(run.mem_limit),
        model: cleanText(String(run.model), 120),
        node_memory_mb: mbOrNull(run.node_mem),
        run_id: cleanText(id, 300),
        samples: ss?.t.length ?? 0,
        status: cleanText(String(run.status), 40),
        task: cleanText(String(run.task_id), 160),
        valid: Boolean(run.valid),
      },
      procs: (byProcs.get(id) ?? []).map((p): ProcTuple => [
        rel(p.s),
        p.e === null ? rel(p.s) : rel(p.e),
        Number(p.pid),
        cleanText(String(p.comm ?? ''), 40),
        cleanText(String(p.argv ?? ''), budget.textChars),
        p.rss === null ? null : r1(Number(p.rss) / 1e6),
      ]),
      turns: (byTurns.get(id) ?? []).map((l): TurnTuple => [
        rel(l.s),
        l.e === null ? rel(l.s) : rel(l.e),
        cleanText(String(l.model ?? ''), 80),
        Number(l.inp ?? 0),
        Number(l.outp ?? 0),
        Boolean(l.is_sidechain),
      ]),
    }
  })
}

/** CPU in % of one core: the stored cpu_pct, else the rate of the cumulative cpu_usec. */
function cpuSeries(ss: RunSamples, rel: (s: number) => number): {t: number; v: number}[] {
  const out: {t: number; v: number}[] = []
  for (let i = 0; i < ss.t.length; i++) {
    const pct = ss.cpu_pct[i]
    const u0 = i > 0 ? ss.cpu_usec[i - 1] : null
    const u1 = ss.cpu_usec[i]
    if (pct !== null) out.push({t: rel(ss.t[i]), v: r1(pct)})
    else if (u0 !== null && u1 !== null && ss.t[i] > ss.t[i - 1]) out.push({t: rel(ss.t[i]), v: r1((100 * (u1 - u0)) / 1e6 / (ss.t[i] - ss.t[i - 1]))})
  }
  return out
}
