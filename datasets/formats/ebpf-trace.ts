/**
 * ebpf_trace.jsonl of the paper's study runs: JSON lines whose `timestamp` is
 * CLOCK_MONOTONIC ns. CLOCK_SYNC records {mono_ns, wall_time_ns} place them on the wall
 * clock. EXEC {pid, ppid, comm, filename, full_command, rss_kb} starts a process,
 * EXIT {pid, exit_code, duration_ms, vm_hwm_kb} ends it (peak RSS = VmHWM). The event type is
 * in `event` (or `type`). Other events (FILE_OPEN, RESOURCE_*, SUMMARY) are not processes.
 * Without a CLOCK_SYNC record the events cannot be placed on the run's clock: an error.
 */
import {monoNsToUs} from '../clock.js'
import {RecordingError} from '../errors.js'
import type {ProcessRow} from '../model.js'
import {redactSecrets} from '../redact.js'

export interface ParsedEbpfTrace {
  processes: ProcessRow[]
  clockOffsetNs: bigint
  events: number
}

type Rec = Record<string, unknown>

/** integers the store's INTEGER/BIGINT columns hold; anything else is not taken as a value */
const int32 = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? v : null)
const kbToBytes = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v * 1024) && v >= 0 ? v * 1024 : null)

const big = (v: unknown): bigint | null => {
  if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.round(v))
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v)
  return null
}

export function parseEbpfTrace(file: string, text: string): ParsedEbpfTrace {
  const recs: {rec: Rec; line: number}[] = []
  let sync: {monoNs: bigint; wallNs: bigint} | null = null
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    let rec: Rec
    try {
      rec = JSON.parse(lines[i]) as Rec
    } catch {
      const truncated = i === lines.length - 1 && !text.endsWith('\n')
      throw new RecordingError({file, line: i + 1}, truncated ? 'truncated JSON line (file ends mid-record)' : 'malformed JSON line')
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) throw new RecordingError({file, line: i + 1}, 'record is not a JSON object')
    const kind = rec.event ?? rec.type
    if (kind === 'CLOCK_SYNC' && !sync) {
      const mono = big(rec.mono_ns)
      const wall = big(rec.wall_time_ns)
      if (mono === null || wall === null) throw new RecordingError({field: 'mono_ns/wall_time_ns', file, line: i + 1}, 'CLOCK_SYNC without integer mono_ns and wall_time_ns')
      sync = {monoNs: mono, wallNs: wall}
    }
    recs.push({line: i + 1, rec})
  }
  if (!sync) throw new RecordingError({file}, 'no CLOCK_SYNC record: events cannot be placed on the run clock')
  const open = new Map<number, ProcessRow>()
  const done: ProcessRow[] = []
  for (const {line, rec} of recs) {
    const kind = rec.event ?? rec.type
    if (kind !== 'EXEC' && kind !== 'EXIT') continue
    const ts = big(rec.timestamp)
    const pid = int32(rec.pid)
    if (ts === null || pid === null) throw new RecordingError({field: ts === null ? 'timestamp' : 'pid', file, line}, `${String(kind)} event without an integer ${ts === null ? 'timestamp' : 'pid'}`)
    const tUs = monoNsToUs(ts, sync)
    if (!Number.isSafeInteger(tUs)) throw new RecordingError({field: 'timestamp', file, line}, `timestamp ${ts} is out of range for the CLOCK_SYNC record`)
    if (kind === 'EXEC') {
      const prev = open.get(pid)
      if (prev) done.push(prev)
      const argv = typeof rec.full_command === 'string' ? rec.full_command : typeof rec.filename === 'string' ? rec.filename : null
      open.set(pid, {
        argv: argv === null ? null : redactSecrets(argv),
        comm: typeof rec.comm === 'string' ? rec.comm : null,
        end_us: null,
        peak_rss_bytes: kbToBytes(rec.rss_kb),
        pid,
        ppid: int32(rec.ppid),
        source: 'ebpf_trace.jsonl',
        start_us: tUs,
      })
    } else {
      const row: ProcessRow = open.get(pid) ?? {
        comm: typeof rec.comm === 'string' ? rec.comm : null,
        pid,
        ppid: int32(rec.ppid),
        source: 'ebpf_trace.jsonl',
        start_us: typeof rec.duration_ms === 'number' && Math.abs(rec.duration_ms) < 1e12 ? tUs - Math.round(rec.duration_ms * 1000) : null,
      }
      open.delete(pid)
      row.end_us = tUs
      row.exit_code = int32(rec.exit_code)
      const hwm = kbToBytes(rec.vm_hwm_kb)
      if (hwm !== null) row.peak_rss_bytes = Math.max(row.peak_rss_bytes ?? 0, hwm)
      done.push(row)
    }
  }
  done.push(...open.values())
  done.sort((a, b) => (a.start_us ?? 0) - (b.start_us ?? 0))
  return {clockOffsetNs: sync.wallNs - sync.monoNs, events: recs.length, processes: done}
}
