/**
 * Small statistics over per-run values, matching what the paper's scripts use
 * (statistics.mean/median/stdev, numpy's linear percentile and corrcoef), plus the
 * seeded random numbers of the concurrency simulation. Nulls are skipped.
 */

function finite(values: (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
}

export function mean(values: (number | null | undefined)[]): number | null {
  const v = finite(values)
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length
}

/** numpy.percentile's default (linear interpolation between closest ranks), q in 0-100. */
export function percentile(values: (number | null | undefined)[], q: number): number | null {
  const v = finite(values).sort((a, b) => a - b)
  return v.length === 0 ? null : percentileOfSorted(v, q)
}

/** percentile() of values already sorted ascending and finite (many quantiles of one set). */
export function percentileOfSorted(sorted: number[], q: number): number {
  const pos = ((sorted.length - 1) * q) / 100
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/**
 * The weighted q-th percentile (q in 0-100): the smallest value whose cumulative weight
 * reaches q % of the total, pairs with a null value left out. A binary search over the
 * sorted values (a typed-array sort, no comparator) keeps it fast on 10^5 values.
 */
export function weightedPercentile(values: (number | null)[], weights: number[], q: number): number | null {
  const v: number[] = []
  const w: number[] = []
  for (let i = 0; i < values.length; i++) {
    const x = values[i]
    if (typeof x === 'number' && Number.isFinite(x) && weights[i] > 0) {
      v.push(x)
      w.push(weights[i])
    }
  }
  if (v.length === 0) return null
  const target = (q / 100) * w.reduce((a, b) => a + b, 0)
  const sorted = Float64Array.from(v).sort()
  const weightUpTo = (x: number) => {
    let sum = 0
    for (let i = 0; i < v.length; i++) if (v[i] <= x) sum += w[i]
    return sum
  }
  let lo = 0
  let hi = sorted.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (weightUpTo(sorted[mid]) >= target) hi = mid
    else lo = mid + 1
  }
  return sorted[lo]
}

export function median(values: (number | null | undefined)[]): number | null {
  return percentile(values, 50)
}

/** The median gap between consecutive times (µs, in order), in ms; null with fewer than 2. */
export function medianGapMs(timesUs: number[]): number | null {
  const gap = median(timesUs.slice(1).map((t, i) => t - timesUs[i]))
  return gap === null ? null : gap / 1000
}

export function min(values: (number | null | undefined)[]): number | null {
  const v = finite(values)
  return v.length === 0 ? null : Math.min(...v)
}

export function max(values: (number | null | undefined)[]): number | null {
  const v = finite(values)
  return v.length === 0 ? null : Math.max(...v)
}

/** Sample standard deviation (n - 1), as statistics.stdev. */
export function stdev(values: (number | null | undefined)[]): number | null {
  const v = finite(values)
  if (v.length < 2) return null
  const m = v.reduce((a, b) => a + b, 0) / v.length
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1))
}

/** Pearson r over pairs where both are numbers; null for fewer than 3 pairs or no variance. */
export function pearson(xs: (number | null)[], ys: (number | null)[]): number | null {
  const pairs: [number, number][] = []
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]
    const y = ys[i]
    if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) pairs.push([x, y])
  }
  if (pairs.length < 3) return null
  const mx = pairs.reduce((a, p) => a + p[0], 0) / pairs.length
  const my = pairs.reduce((a, p) => a + p[1], 0) / pairs.length
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my)
    sxx += (x - mx) ** 2
    syy += (y - my) ** 2
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy)
}

/** mulberry32: a tiny deterministic PRNG, so the simulation gives the same numbers every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
