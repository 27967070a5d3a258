/**
 * A checker for the Trace Event Format (JSON Object Format) as Perfetto and chrome://tracing
 * read it, written from the format's specification, apart from the code under test:
 * every event has name, ph, ts, pid, tid of the right types; X has a non-negative dur;
 * C carries numeric args; i has a scope; M is a known metadata record. Beyond the bare format,
 * what Perfetto needs to show the trace faithfully: the slices of one thread nest or follow
 * each other (a partial overlap is dropped on import), each counter is strictly increasing
 * in time, every thread with slices is named.
 */
const PHASES = new Set(['B', 'E', 'X', 'i', 'I', 'C', 'M', 'b', 'e', 'n', 's', 't', 'f', 'P', 'O', 'N', 'D'])
const METADATA = new Set(['process_name', 'process_labels', 'process_sort_index', 'thread_name', 'thread_sort_index'])

export interface Ev {
  name: string
  ph: string
  ts: number
  pid: number
  tid: number
  dur?: number
  cat?: string
  s?: string
  args?: Record<string, unknown>
}

/** Returns every problem found (empty: valid). */
export function traceProblems(doc: unknown): string[] {
  const problems: string[] = []
  const d = doc as {traceEvents?: unknown; displayTimeUnit?: unknown}
  if (typeof doc !== 'object' || doc === null || !Array.isArray(d.traceEvents)) return ['top level: expected an object with a traceEvents array']
  if (d.displayTimeUnit !== undefined && d.displayTimeUnit !== 'ms' && d.displayTimeUnit !== 'ns') problems.push(`displayTimeUnit ${String(d.displayTimeUnit)}`)
  const events = d.traceEvents as Ev[]
  events.forEach((e, i) => {
    const at = `traceEvents[${i}] (${e?.name})`
    if (typeof e !== 'object' || e === null) return problems.push(`${at}: not an object`)
    if (typeof e.name !== 'string' || e.name === '') problems.push(`${at}: name`)
    if (!PHASES.has(e.ph)) problems.push(`${at}: ph ${e.ph}`)
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) problems.push(`${at}: pid/tid must be integers`)
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`${at}: ts ${e.ts}`)
    if (e.ph === 'X' && (typeof e.dur !== 'number' || !(e.dur >= 0))) problems.push(`${at}: X needs dur >= 0`)
    if (e.ph === 'C') {
      const vals = Object.values(e.args ?? {})
      if (vals.length === 0 || !vals.every((v) => typeof v === 'number' && Number.isFinite(v))) problems.push(`${at}: C args must be numbers`)
    }
    if ((e.ph === 'i' || e.ph === 'I') && e.s !== undefined && !['g', 'p', 't'].includes(e.s)) problems.push(`${at}: instant scope ${e.s}`)
    if (e.ph === 'M') {
      if (!METADATA.has(e.name)) problems.push(`${at}: unknown metadata ${e.name}`)
      if (e.name.endsWith('_name') && typeof e.args?.name !== 'string') problems.push(`${at}: metadata needs args.name`)
    }
    if (e.args !== undefined && (typeof e.args !== 'object' || e.args === null)) problems.push(`${at}: args must be an object`)
  })
  problems.push(...nestingProblems(events), ...counterProblems(events), ...namingProblems(events))
  return problems
}

function nestingProblems(events: Ev[]): string[] {
  const byThread = new Map<string, Ev[]>()
  for (const e of events.filter((x) => x.ph === 'X')) {
    const key = `${e.pid}/${e.tid}`
    byThread.set(key, [...(byThread.get(key) ?? []), e])
  }
  const problems: string[] = []
  for (const [key, slices] of byThread) {
    slices.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!)
    const open: Ev[] = []
    for (const s of slices) {
      while (open.length > 0 && open.at(-1)!.ts + open.at(-1)!.dur! <= s.ts) open.pop()
      const parent = open.at(-1)
      if (parent && s.ts + s.dur! > parent.ts + parent.dur!) problems.push(`thread ${key}: ${s.name}@${s.ts} overlaps ${parent.name}@${parent.ts} without nesting`)
      open.push(s)
    }
  }
  return problems
}

function counterProblems(events: Ev[]): string[] {
  const last = new Map<string, number>()
  const problems: string[] = []
  for (const e of events.filter((x) => x.ph === 'C')) {
    const key = `${e.pid}/${e.name}`
    const prev = last.get(key)
    if (prev !== undefined && e.ts <= prev) problems.push(`counter ${key}: ts ${e.ts} after ${prev}`)
    last.set(key, e.ts)
  }
  return problems
}

function namingProblems(events: Ev[]): string[] {
  const named = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`))
  const threads = new Set(events.filter((e) => e.ph === 'X').map((e) => `${e.pid}/${e.tid}`))
  return [...threads].filter((t) => !named.has(t)).map((t) => `thread ${t} has slices but no thread_name`)
}
