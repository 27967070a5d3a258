/** SQL fragments the families share. */

/**
 * Length of the overlap of [s1, e1] and [s2, e2] (same unit as the inputs), NULL when any
 * bound is NULL: DuckDB's least/greatest skip NULL arguments, which would otherwise turn a
 * missing bound into the other interval's.
 */
export function overlapSql(s1: string, e1: string, s2: string, e2: string): string {
  return `CASE WHEN ${s1} IS NOT NULL AND ${e1} IS NOT NULL AND ${s2} IS NOT NULL AND ${e2} IS NOT NULL
          THEN greatest(0, least(${e1}, ${e2}) - greatest(${s1}, ${s2})) END`
}

/**
 * Range joins ("samples inside a call") become equi-joins on (run, bucket) plus the range
 * test: each interval gets one row per BUCKET_US slice it touches, each point its slice.
 * DuckDB otherwise compares every pair of a run.
 */
const BUCKET_US = 60e6

/** The slice a point falls in. */
export function bucketSql(t: string): string {
  return `(${t} // ${BUCKET_US})::BIGINT`
}

/** One value per slice an interval touches, for `unnest(...) AS bucket`. */
export function bucketsSql(start: string, end: string): string {
  return `range(${bucketSql(start)}, ${bucketSql(end)} + 1)`
}
