/**
 * A memory (and CPU) trace to replay: sample times from the trace's start, memory in bytes and
 * CPU as instantaneous percent of one core. Sources: the shipped traces (replayer/data/), the
 * store (samples of a run id), or a file (our `agentcgroup-trace/1` JSON, or the paper
 * runner's resources.json).
 *
 * The store's cpu_pct is podman's lifetime average where cpu_pct_kind says so; the
 * instantaneous value is recovered from consecutive averages (a*t - a'*t')/(t - t').
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {UserError} from '../datasets/errors.js'
import {readResourcesJson} from '../datasets/formats/resources-json.js'
import type {SampleRow} from '../datasets/model.js'
import type {Store} from '../datasets/store.js'

export interface Trace {
  /** short name: the task id for runs, the file name otherwise */
  name: string
  runId: string | null
  source: string
  tMs: number[]
  memBytes: number[]
  cpuPct: number[]
  /** start_transient, exit_0b, or null per sample */
  flags: (string | null)[]
}

/** replayer/data, from dist/replayer/ or from the sources (tests run the .ts files) */
export function dataDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (const d of [join(here, 'data'), join(here, '..', '..', 'replayer', 'data')]) if (existsSync(join(d, 'README.md'))) return d
  throw new Error(`replayer/data not found near ${here}`)
}

interface TraceFile {
  format: 'agentcgroup-trace/1'
  run_id?: string | null
  source?: string
  cpu_pct_kind?: 'instant' | 'lifetime_avg' | null
  t_ms: number[]
  mem_bytes: number[]
  cpu_pct?: (number | null)[]
  flags?: Record<string, string>
}

export const SHIPPED_TRACES = ['dask__dask-11628', 'sigmavirus24__github3.py-673', 'tobymao__sqlglot-4014'] as const

/** A shipped trace by task name or run id (e.g. all_images_haiku/dask__dask-11628/attempt_1); null if not shipped. */
export function shippedTrace(nameOrRunId: string): Trace | null {
  const task = SHIPPED_TRACES.find((t) => nameOrRunId === t || nameOrRunId === `all_images_haiku/${t}/attempt_1`)
  return task ? readTraceFile(join(dataDir(), `${task}.json`)) : null
}

/** Reads an agentcgroup-trace/1 JSON or a paper resources.json; clear errors otherwise. */
export function readTraceFile(path: string): Trace {
  if (!existsSync(path)) throw new UserError(`${path}: trace file not found`)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (error) {
    throw new UserError(`${path}: not JSON (${(error as Error).message.split('\n')[0]})`)
  }
  const obj = raw as Partial<TraceFile> & {samples?: unknown}
  const name = path.split('/').pop()!.replace(/\.json$/, '')
  if (obj && obj.format === 'agentcgroup-trace/1') return fromTraceFile(path, name, obj as TraceFile)
  if (obj && Array.isArray(obj.samples)) {
    const parsed = readResourcesJson(path)
    return fromSamples(name === 'resources' ? path.split('/').slice(-3, -2)[0] ?? name : name, null, path, parsed.samples)
  }
  throw new UserError(`${path}: not a trace (expected {"format":"agentcgroup-trace/1",...} or a resources.json with "samples")`)
}

function fromTraceFile(path: string, name: string, f: TraceFile): Trace {
  const n = f.t_ms?.length ?? 0
  if (!Array.isArray(f.t_ms) || !Array.isArray(f.mem_bytes) || f.mem_bytes.length !== n || n === 0) {
    throw new UserError(`${path}: t_ms and mem_bytes must be non-empty arrays of the same length`)
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(f.t_ms[i]) || (i > 0 && f.t_ms[i] < f.t_ms[i - 1])) throw new UserError(`${path}: t_ms[${i}]: times must be numbers in increasing order`)
    if (!Number.isFinite(f.mem_bytes[i]) || f.mem_bytes[i] < 0) throw new UserError(`${path}: mem_bytes[${i}]: must be a number >= 0`)
  }
  const cpuRaw = (f.cpu_pct ?? []).map((c) => (typeof c === 'number' && Number.isFinite(c) ? c : 0))
  const t0 = f.t_ms[0]
  const tMs = f.t_ms.map((t) => t - t0)
  const cpuPct = cpuRaw.length === n ? (f.cpu_pct_kind === 'lifetime_avg' ? instantCpu(cpuRaw, tMs) : cpuRaw) : new Array<number>(n).fill(0)
  const flags = Array.from({length: n}, (_, i) => f.flags?.[String(i)] ?? null)
  const runId = f.run_id ?? null
  return {cpuPct, flags, memBytes: [...f.mem_bytes], name: runId ? taskOf(runId) : name, runId, source: f.source ?? path, tMs}
}

/** Samples of a run from the store. */
export async function storeTrace(store: Store, runId: string): Promise<Trace | null> {
  const rows = await store.query(
    'SELECT t_us::DOUBLE AS t_us, mem_bytes::DOUBLE AS mem_bytes, cpu_pct, cpu_pct_kind, flags FROM samples WHERE run_id = $id AND mem_bytes IS NOT NULL ORDER BY t_us',
    {id: runId},
  )
  if (rows.length === 0) return null
  const samples = rows.map((r) => ({cpu_pct: r.cpu_pct as number | null, cpu_pct_kind: r.cpu_pct_kind as SampleRow['cpu_pct_kind'], flags: r.flags as string | null, mem_bytes: Number(r.mem_bytes), source: 'store', t_us: Number(r.t_us)}))
  return fromSamples(taskOf(runId), runId, `store: ${store.path}`, samples)
}

function fromSamples(name: string, runId: string | null, source: string, samples: SampleRow[]): Trace {
  const ok = samples.filter((s) => s.mem_bytes !== null && Number.isFinite(s.mem_bytes))
  if (ok.length === 0) throw new UserError(`${source}: no memory samples`)
  const t0 = ok[0].t_us
  const tMs = ok.map((s) => (s.t_us - t0) / 1000)
  const cpu = ok.map((s) => s.cpu_pct ?? 0)
  const lifetime = ok.some((s) => s.cpu_pct_kind === 'lifetime_avg')
  return {cpuPct: lifetime ? instantCpu(cpu, tMs) : cpu, flags: ok.map((s) => s.flags ?? null), memBytes: ok.map((s) => s.mem_bytes!), name, runId, source, tMs}
}

/** Instantaneous CPU from podman's lifetime averages: the CPU time between two samples over their gap. */
export function instantCpu(avgPct: number[], tMs: number[]): number[] {
  return avgPct.map((a, i) => {
    if (i === 0) return Math.max(0, a)
    const dt = tMs[i] - tMs[i - 1]
    if (dt <= 0) return 0
    // the container's age is unknown before the first sample; measure from it
    const v = (a * (tMs[i] - tMs[0] + dt) - avgPct[i - 1] * (tMs[i - 1] - tMs[0] + dt)) / dt
    return Math.min(800, Math.max(0, v))
  })
}

export function taskOf(runId: string): string {
  const parts = runId.split('/')
  return parts.length >= 3 ? parts[parts.length - 2] : runId
}

export function traceDurationMs(t: Trace): number {
  return t.tMs[t.tMs.length - 1] - t.tMs[0]
}
