/**
 * Min/max envelope downsampling for time series. Plain decimation (every k-th point) hides
 * the short spikes that are the point of these traces, so each bucket of the time axis keeps
 * its minimum and its maximum (in time order), plus the first and last points of the series.
 * A series at or under the budget is returned unchanged.
 */
export interface Point {
  t: number
  v: number
}

export function envelope<P extends Point>(points: P[], maxPoints: number): P[] {
  if (points.length <= maxPoints || maxPoints < 4) return points
  const buckets = Math.floor((maxPoints - 2) / 2)
  const t0 = points[0].t
  const span = points.at(-1)!.t - t0 || 1
  const out: P[] = [points[0]]
  let i = 1
  const last = points.length - 1
  for (let b = 0; b < buckets && i < last; b++) {
    const end = t0 + (span * (b + 1)) / buckets
    let lo: P | null = null
    let hi: P | null = null
    for (; i < last && (points[i].t <= end || b === buckets - 1); i++) {
      const p = points[i]
      if (lo === null || p.v < lo.v) lo = p
      if (hi === null || p.v > hi.v) hi = p
    }
    if (lo && hi) {
      if (lo === hi) out.push(lo)
      else if (lo.t <= hi.t) out.push(lo, hi)
      else out.push(hi, lo)
    }
  }
  out.push(points[last])
  return out
}
