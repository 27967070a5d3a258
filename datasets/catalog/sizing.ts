/**
 * Pod memory from the measured peaks of a catalog's tasks (bytes, podman-stats of the task's
 * container):
 *   request = p95 of the peaks (nearest rank) + overhead
 *   limit   = max of the peaks x margin + overhead
 * The request lets the scheduler pack pods by what a typical task needs; the limit leaves
 * room above the heaviest task seen, so a pod is OOM-killed only by a task far outside the
 * measurements. overhead covers what runs beside the task in the pod (agentcgroup, DuckDB,
 * Podman); the Kubernetes quantities are whole MiB ("Mi"), rounded up.
 */
import {UserError} from '../errors.js'

export interface MemorySizing {
  request_bytes: number
  limit_bytes: number
  request: string
  limit: string
  /** peaks the sizing used (tasks with a measurement) and how many tasks had none */
  peaks_used: number
  peaks_missing: number
  p95_peak_bytes: number | null
  max_peak_bytes: number | null
  basis: string
}

export interface SizingOptions {
  quantile: number
  margin: number
  overheadBytes: number
  /** used when no task has a measured peak */
  fallbackPeakBytes: number
}

export const DEFAULT_SIZING: SizingOptions = {
  fallbackPeakBytes: 2 * 1024 ** 3,
  margin: 1.5,
  overheadBytes: 512 * 1024 ** 2,
  quantile: 0.95,
}

const MIB = 1024 ** 2

/** The q-quantile by nearest rank: the smallest value with at least q of the values at or below it. */
export function nearestRank(values: number[], q: number): number {
  if (values.length === 0) throw new Error('internal: quantile of nothing')
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]
}

export function sizeMemory(peaks: (number | null)[], opts: SizingOptions = DEFAULT_SIZING): MemorySizing {
  if (!(opts.quantile > 0 && opts.quantile <= 1)) throw new UserError(`quantile ${opts.quantile}: must be in (0, 1]`)
  if (!(opts.margin >= 1)) throw new UserError(`memory margin ${opts.margin}: must be at least 1`)
  const known = peaks.filter((p): p is number => p !== null && p > 0)
  const missing = peaks.length - known.length
  const pq = known.length > 0 ? nearestRank(known, opts.quantile) : null
  const max = known.length > 0 ? Math.max(...known) : null
  const requestBytes = ceilMib((pq ?? opts.fallbackPeakBytes) + opts.overheadBytes)
  const limitBytes = Math.max(requestBytes, ceilMib((max ?? opts.fallbackPeakBytes) * opts.margin + opts.overheadBytes))
  const pct = Math.round(opts.quantile * 100)
  const basis =
    known.length > 0
      ? `request = p${pct} of ${known.length} measured peaks (${mib(pq!)}) + ${mib(opts.overheadBytes)} overhead; limit = max peak (${mib(max!)}) x ${opts.margin} + overhead${missing > 0 ? `; ${missing} task(s) without a measured peak` : ''}`
      : `no task has a measured peak: request = ${mib(opts.fallbackPeakBytes)} + ${mib(opts.overheadBytes)} overhead, limit = ${mib(opts.fallbackPeakBytes)} x ${opts.margin} + overhead`
  return {
    basis,
    limit: `${limitBytes / MIB}Mi`,
    limit_bytes: limitBytes,
    max_peak_bytes: max,
    p95_peak_bytes: pq,
    peaks_missing: missing,
    peaks_used: known.length,
    request: `${requestBytes / MIB}Mi`,
    request_bytes: requestBytes,
  }
}

function ceilMib(bytes: number): number {
  return Math.ceil(bytes / MIB) * MIB
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MIB)} MiB`
}
