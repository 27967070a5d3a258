/**
 * The run table (`agentcgroup runs`): one row per run with sample statistics recomputed
 * from the samples table (never a stored summary). MB = 10^6 bytes; peak and average are
 * over samples with memory > 0 (the exit "0B" samples are excluded). control and
 * node_memory_bytes say how run-benchmark --control ran it (null for imported runs).
 */
import {sqlInList} from './sql-in.js'
import type {SqlParam, Store} from './store.js'

export interface RunListRow {
  run_id: string
  dataset: string
  source_path: string
  task_id: string
  attempt: number
  agent: string | null
  model: string | null
  model_actual: string | null
  status: string
  valid: boolean
  samples: number
  span_s: number
  mem_peak_mb: number | null
  mem_avg_mb: number | null
  tool_calls: number
  /** run-benchmark --control of the invocation (none, static, observe, agentcgroup); null for imported runs */
  control: string | null
  /** the invocation's node memory budget, bytes (null: none) */
  node_memory_bytes: number | null
}

export interface RunFilter {
  datasets?: string[]
  valid?: boolean
  runIds?: string[]
}

export async function listRuns(store: Store, filter: RunFilter = {}): Promise<RunListRow[]> {
  const params: Record<string, SqlParam> = {}
  const where: string[] = []
  if (filter.datasets?.length) where.push(sqlInList('r.dataset', 'd', filter.datasets, params))
  if (filter.runIds?.length) where.push(sqlInList('r.run_id', 'r', filter.runIds, params))
  if (filter.valid !== undefined) {
    params.valid = filter.valid
    where.push('r.valid = $valid')
  }
  const rows = await store.query(
    `SELECT r.run_id, r.dataset, r.source_path, r.task_id, r.attempt, r.agent, r.model, r.model_actual,
            r.status, r.valid,
            coalesce(s.n, 0)::INTEGER AS samples,
            coalesce(s.span_s, 0)::DOUBLE AS span_s,
            s.peak_mb AS mem_peak_mb, s.avg_mb AS mem_avg_mb,
            coalesce(t.n, 0)::INTEGER AS tool_calls,
            r.control, r.node_memory_bytes::DOUBLE AS node_memory_bytes
     FROM runs r
     LEFT JOIN (SELECT run_id, count(*) AS n, (max(t_us) - min(t_us)) / 1e6 AS span_s,
                       (max(mem_bytes) FILTER (WHERE mem_bytes > 0)) / 1e6 AS peak_mb,
                       (avg(mem_bytes) FILTER (WHERE mem_bytes > 0)) / 1e6 AS avg_mb
                FROM samples GROUP BY run_id) s USING (run_id)
     LEFT JOIN (SELECT run_id, count(*) AS n FROM tool_calls GROUP BY run_id) t USING (run_id)
     ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY r.dataset, r.task_id, r.attempt, r.run_id`,
    params,
  )
  return rows.map((r) => ({
    ...(r as unknown as RunListRow),
    mem_avg_mb: r.mem_avg_mb === null ? null : Number(r.mem_avg_mb),
    mem_peak_mb: r.mem_peak_mb === null ? null : Number(r.mem_peak_mb),
    node_memory_bytes: r.node_memory_bytes === null ? null : Number(r.node_memory_bytes),
  }))
}
