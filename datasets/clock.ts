/**
 * Clock conversions, done once at the edge: everything in the store is absolute UTC
 * microseconds (number; safe up to 2^53 us, i.e. year 2255).
 *
 * Sources: ISO-8601 with 'Z' or an offset (Claude Code transcripts), naive local ISO
 * strings (the paper's runner: UTC-8; the offset is learned from `epoch` beside it),
 * float epoch seconds (`time.time()`), CLOCK_MONOTONIC nanoseconds (BPF; needs a sync point).
 */

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/

export interface ParsedIso {
  /** microseconds since the epoch if the string is read as UTC */
  usAsUtc: number
  /** offset in minutes east of UTC, or null for a naive string */
  offsetMin: number | null
}

export function parseIso(text: string): ParsedIso | null {
  const m = ISO_RE.exec(text.trim())
  if (!m) return null
  const [, y, mo, d, h, mi, s, frac, zone] = m
  // reject out-of-range fields instead of letting Date roll 2026-02-31 over into March
  if (Number(mo) < 1 || Number(mo) > 12 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  if (Number.isNaN(ms) || new Date(ms).getUTCDate() !== Number(d)) return null
  const fracUs = frac ? Math.round(Number(`0.${frac}`) * 1e6) : 0
  let offsetMin: number | null = null
  if (zone === 'Z') offsetMin = 0
  else if (zone) {
    const sign = zone[0] === '-' ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)))
  }
  return {usAsUtc: ms * 1000 + fracUs, offsetMin}
}

/** An ISO timestamp with a zone ('Z' or +hh:mm) to absolute UTC us; null when naive or malformed. */
export function isoZonedToUs(text: string): number | null {
  const p = parseIso(text)
  if (!p || p.offsetMin === null) return null
  return p.usAsUtc - p.offsetMin * 60_000_000
}

/** A naive local timestamp to UTC us, given the local zone's offset east of UTC in minutes. */
export function naiveLocalToUs(text: string, offsetMin: number): number | null {
  const p = parseIso(text)
  if (!p) return null
  const off = p.offsetMin ?? offsetMin
  return p.usAsUtc - off * 60_000_000
}

export function epochSecondsToUs(epoch: number): number {
  return Math.round(epoch * 1e6)
}

/**
 * The offset of a naive local clock, learned from one pair (naive string, absolute epoch),
 * rounded to the 15-minute grid that real time zones use.
 */
export function learnOffsetMin(naive: string, epochS: number): number | null {
  const p = parseIso(naive)
  if (!p || p.offsetMin !== null) return p?.offsetMin ?? null
  const diffMin = (p.usAsUtc - epochSecondsToUs(epochS)) / 60_000_000
  return Math.round(diffMin / 15) * 15
}

/** CLOCK_MONOTONIC ns to UTC us through one sync point (mono_ns, wall_ns) taken together. */
export function monoNsToUs(monoNs: bigint | number, sync: {monoNs: bigint; wallNs: bigint}): number {
  const wallNs = BigInt(monoNs) - sync.monoNs + sync.wallNs
  return Number(wallNs / 1000n)
}

export function usToIso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString()
}
