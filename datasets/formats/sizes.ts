/**
 * Size strings as podman and the paper's runner wrote them. Podman prints decimal SI units
 * (go-units HumanSize: "185.3MB", "1.362GB", "0B", "12.5kB"); other tools print binary ones
 * ("512MiB"). Both, with or without a space, are accepted; anything else is an error, never 0.
 */
const UNIT_BYTES: Record<string, number> = {
  B: 1,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
}

const SIZE_RE = /^\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*([A-Za-z]+)\s*$/

/** Bytes for "185.3MB" / "12 kB" / "1GiB"; throws with the offending text on an unknown unit. */
export function parseSizeBytes(text: string): number {
  const m = SIZE_RE.exec(text)
  if (!m) throw new Error(`not a size: ${JSON.stringify(text.trim())}`)
  const mult = UNIT_BYTES[m[2]]
  if (mult === undefined) throw new Error(`unknown size unit ${JSON.stringify(m[2])} in ${JSON.stringify(text.trim())}`)
  const bytes = Math.round(Number(m[1]) * mult)
  // "1e400MB" is Infinity; past 2^53 bytes (8 PiB) a BIGINT column gets a rounded value or none
  if (!Number.isSafeInteger(bytes)) throw new Error(`size out of range: ${JSON.stringify(text.trim())}`)
  return bytes
}

/** podman's MemUsage "used / limit"; a limit of 0B (exited container) becomes null. */
export function parseMemUsage(text: string): {usedBytes: number; limitBytes: number | null} {
  const parts = text.split('/')
  if (parts.length !== 2) throw new Error(`expected "<used> / <limit>", got ${JSON.stringify(text)}`)
  const usedBytes = parseSizeBytes(parts[0])
  const limit = parseSizeBytes(parts[1])
  return {usedBytes, limitBytes: limit === 0 ? null : limit}
}

/** "8.16%" -> 8.16; throws on anything else. */
export function parsePercent(text: string): number {
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*%\s*$/.exec(text)
  if (!m) throw new Error(`not a percentage: ${JSON.stringify(text)}`)
  return Number(m[1])
}

/**
 * Flag sizes follow cgroup conventions (as the paper's scripts wrote memory.max):
 * "1100M" = 1100 MiB, "4g" = 4 GiB, a bare number is bytes. Decimal SI units are accepted too.
 */
export function parseCgroupSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT])?\s*$/.exec(text)
  if (m) {
    const pow = {k: 1, m: 2, g: 3, t: 4}[(m[2] ?? '').toLowerCase() as 'k'] ?? 0
    return Math.round(Number(m[1]) * 1024 ** pow)
  }
  return parseSizeBytes(text)
}
