/** The overview section: per dataset, runs, valid runs, models, machines and totals. */
import type {Store} from '../../datasets/store.js'
import {cleanText} from '../escape.js'
import type {Scope} from './scope.js'

export interface DatasetOverview {
  dataset: string
  runs: number
  valid_runs: number
  models: string[]
  machines: string[]
  samplers: string[]
  samples: number
  tool_calls: number
  llm_turns: number
  processes: number
  agent_hours: number
  statuses: Record<string, number>
}

export async function loadOverview(store: Store, scope: Scope): Promise<DatasetOverview[]> {
  const rows = await store.query(
    `WITH r AS (SELECT * FROM runs WHERE ${scope.all()}),
          s AS (SELECT run_id, count(*)::DOUBLE AS n FROM samples WHERE ${scope.all()} GROUP BY run_id),
          c AS (SELECT run_id, count(*)::DOUBLE AS n FROM tool_calls WHERE ${scope.all()} GROUP BY run_id),
          l AS (SELECT run_id, count(*)::DOUBLE AS n FROM llm_turns WHERE ${scope.all()} GROUP BY run_id),
          p AS (SELECT run_id, count(*)::DOUBLE AS n FROM processes WHERE ${scope.all()} GROUP BY run_id)
     SELECT r.dataset,
            count(*)::DOUBLE AS runs,
            count(*) FILTER (WHERE r.valid)::DOUBLE AS valid_runs,
            coalesce(list(DISTINCT r.model_actual) FILTER (WHERE r.model_actual IS NOT NULL), list(DISTINCT r.model) FILTER (WHERE r.model IS NOT NULL)) AS models,
            list(DISTINCT r.host) FILTER (WHERE r.host IS NOT NULL) AS machines,
            list(DISTINCT r.sampler) FILTER (WHERE r.sampler IS NOT NULL) AS samplers,
            coalesce(sum(s.n), 0)::DOUBLE AS samples,
            coalesce(sum(c.n), 0)::DOUBLE AS tool_calls,
            coalesce(sum(l.n), 0)::DOUBLE AS llm_turns,
            coalesce(sum(p.n), 0)::DOUBLE AS processes,
            (coalesce(sum(r.claude_time_s), sum((r.ended_at_us - r.started_at_us) / 1e6)) / 3600)::DOUBLE AS agent_hours,
            to_json(histogram(r.status))::VARCHAR AS statuses
     FROM r LEFT JOIN s USING (run_id) LEFT JOIN c USING (run_id) LEFT JOIN l USING (run_id) LEFT JOIN p USING (run_id)
     GROUP BY r.dataset ORDER BY r.dataset`,
    scope.params,
  )
  const strings = (v: unknown) => (Array.isArray(v) ? v.map((x) => cleanText(String(x), 120)).sort() : [])
  return rows.map((r) => ({
    agent_hours: Number(r.agent_hours ?? 0),
    dataset: cleanText(String(r.dataset), 120),
    llm_turns: Number(r.llm_turns),
    machines: strings(r.machines),
    models: strings(r.models),
    processes: Number(r.processes),
    runs: Number(r.runs),
    samplers: strings(r.samplers),
    samples: Number(r.samples),
    statuses: JSON.parse(String(r.statuses ?? '{}')) as Record<string, number>,
    tool_calls: Number(r.tool_calls),
    valid_runs: Number(r.valid_runs),
  }))
}
