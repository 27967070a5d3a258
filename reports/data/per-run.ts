/**
 * Per-run values behind the distribution figures (execution time, memory baseline,
 * peak/average, CPU-memory correlation, peak memory), under the paper's rules: baseline =
 * mean of the first 60 samples, peak/avg = max / mean of samples with memory > 0,
 * correlation = Pearson over all raw samples. MB = 10^6 bytes.
 */
import type {Store} from '../../datasets/store.js'
import {cleanText} from '../escape.js'
import type {Scope} from './scope.js'

export interface RunFigureRow {
  run_id: string
  dataset: string
  task: string
  attempt: number
  model: string
  exec_s: number | null
  active_s: number | null
  peak_mb: number | null
  avg_mb: number | null
  baseline_mb: number | null
  peak_to_avg: number | null
  cpu_mem_r: number | null
  tool_s: number | null
  permission_fix_s: number | null
}

export async function loadRunFigures(store: Store, scope: Scope): Promise<RunFigureRow[]> {
  const rows = await store.query(
    `WITH s AS (
       SELECT run_id, mem_bytes::DOUBLE AS mem, cpu_pct,
              row_number() OVER (PARTITION BY run_id ORDER BY t_us) AS i
       FROM samples WHERE ${scope.figures()}),
     agg AS (
       SELECT run_id,
              max(mem) FILTER (WHERE mem > 0) / 1e6 AS peak_mb,
              avg(mem) FILTER (WHERE mem > 0) / 1e6 AS avg_mb,
              avg(mem) FILTER (WHERE i <= 60) / 1e6 AS baseline_mb,
              corr(cpu_pct, mem) AS cpu_mem_r
       FROM s GROUP BY run_id),
     act AS (SELECT run_id, sum(end_us - start_us)::DOUBLE / 1e6 AS active_s FROM phases WHERE phase = 'agent_active' AND ${scope.figures()} GROUP BY run_id),
     tools AS (SELECT run_id, sum(greatest(end_us - start_us, 0))::DOUBLE / 1e6 AS tool_s FROM tool_calls WHERE end_us IS NOT NULL AND ${scope.figures()} GROUP BY run_id)
     SELECT r.run_id, r.dataset, r.task_id, r.attempt::DOUBLE AS attempt, coalesce(r.model_actual, r.model, '?') AS model,
            coalesce(r.claude_time_s, (r.ended_at_us - r.started_at_us)::DOUBLE / 1e6) AS exec_s,
            act.active_s, agg.peak_mb, agg.avg_mb, agg.baseline_mb,
            agg.peak_mb / nullif(agg.avg_mb, 0) AS peak_to_avg, agg.cpu_mem_r, tools.tool_s, r.permission_fix_time_s AS permission_fix_s
     FROM runs r LEFT JOIN agg USING (run_id) LEFT JOIN act USING (run_id) LEFT JOIN tools USING (run_id)
     WHERE ${scope.figures('r.run_id')}
     ORDER BY r.dataset, r.task_id, r.attempt`,
    scope.params,
  )
  const num = (v: unknown) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v))
  return rows.map((r) => ({
    active_s: num(r.active_s),
    attempt: Number(r.attempt),
    avg_mb: num(r.avg_mb),
    baseline_mb: num(r.baseline_mb),
    cpu_mem_r: num(r.cpu_mem_r),
    dataset: cleanText(String(r.dataset), 120),
    exec_s: num(r.exec_s),
    model: cleanText(String(r.model), 120),
    peak_mb: num(r.peak_mb),
    permission_fix_s: num(r.permission_fix_s),
    peak_to_avg: num(r.peak_to_avg),
    run_id: cleanText(String(r.run_id), 300),
    task: cleanText(String(r.task_id), 160),
    tool_s: num(r.tool_s),
  }))
}
