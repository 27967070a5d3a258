/**
 * The resource samples of every run in scope, loaded once and shared by the figures
 * (traces.ts) and the drill-down: converting rows out of DuckDB is the report's costliest
 * step. Times in absolute seconds, memory in MB (10^6 bytes); numbers cast to DOUBLE in SQL.
 */
import type {Store} from '../../datasets/store.js'
import type {Scope} from './scope.js'

export interface RunSamples {
  run_id: string
  t: number[]
  mem_mb: (number | null)[]
  cpu_pct: (number | null)[]
  cpu_usec: (number | null)[]
  flags: (string | null)[]
  /** cpu_pct kinds seen (instant, lifetime_avg) */
  kinds: Set<string>
}

export async function loadSamples(store: Store, scope: Scope): Promise<Map<string, RunSamples>> {
  const rows = await store.query(
    `SELECT run_id, t_us::DOUBLE / 1e6 AS t, mem_bytes::DOUBLE / 1e6 AS mem, cpu_pct::DOUBLE AS cpu, cpu_usec::DOUBLE AS cpu_usec, flags, cpu_pct_kind AS kind
     FROM samples WHERE ${scope.all()} ORDER BY run_id, t_us`,
    scope.params,
  )
  const out = new Map<string, RunSamples>()
  let cur: RunSamples | undefined
  for (const r of rows) {
    const id = String(r.run_id)
    if (cur?.run_id !== id) {
      cur = {cpu_pct: [], cpu_usec: [], flags: [], kinds: new Set(), mem_mb: [], run_id: id, t: []}
      out.set(id, cur)
    }
    cur.t.push(Number(r.t))
    cur.mem_mb.push(r.mem === null ? null : Number(r.mem))
    cur.cpu_pct.push(r.cpu === null ? null : Number(r.cpu))
    cur.cpu_usec.push(r.cpu_usec === null ? null : Number(r.cpu_usec))
    cur.flags.push(r.flags === null ? null : String(r.flags))
    cur.kinds.add(r.kind === null ? (r.cpu_usec === null ? 'none' : 'instant') : String(r.kind))
  }
  return out
}
