/**
 * Replay results for the policy comparison (the replay tables of schema.ts), read only when
 * those tables exist and hold rows: detected through information_schema, so older stores and
 * stores without replays work unchanged. Times are on each replay's own clock (ms from its
 * start); memory in MB (10^6 bytes). A policy label names the scenario too when there are
 * several.
 */
import type {Store} from '../../datasets/store.js'
import {envelope} from '../downsample.js'
import {cleanText} from '../escape.js'

export interface TenantOutcome {
  policy: string
  replay: string
  tenant: string
  priority: string
  survived: boolean
  end_state: string
  completion_s: number | null
}

export interface LatencyQuantile {
  policy: string
  latency_ms: number
  cdf: number
}

export interface TenantMemPoint {
  policy: string
  tenant: string
  t: number
  mb: number
}

export interface PolicyEvent {
  policy: string
  tenant: string
  kind: string
  detail: string
  t: number
}

export interface ReplayData {
  replays: number
  tenants: TenantOutcome[]
  latency: LatencyQuantile[]
  memory: TenantMemPoint[]
  events: PolicyEvent[]
}

const REQUIRED: Record<string, string[]> = {
  replay_allocs: ['replay_id', 'tenant', 'achieved_bytes', 'start_ms', 'end_ms'],
  replay_events: ['replay_id', 't_ms', 'tenant', 'kind', 'detail'],
  replay_tenants: ['replay_id', 'tenant', 'priority', 'survived', 'end_state', 'completion_s'],
  replays: ['replay_id', 'scenario', 'policy', 'repeat_index'],
}

/** True when every replay table exists with the columns read here, and replays has rows. */
export async function hasReplays(store: Store): Promise<boolean> {
  const rows = await store.query(
    "SELECT table_name, list(column_name) AS cols FROM information_schema.columns WHERE table_name IN ('replays', 'replay_tenants', 'replay_events', 'replay_allocs') GROUP BY table_name",
  )
  const cols = new Map(rows.map((r) => [String(r.table_name), new Set((r.cols as string[]).map(String))]))
  if (!Object.entries(REQUIRED).every(([t, need]) => need.every((c) => cols.get(t)?.has(c)))) return false
  const n = await store.query('SELECT count(*)::DOUBLE AS n FROM replays')
  return Number(n[0]?.n ?? 0) > 0
}

// the policy of each replay, with the scenario when the store holds several
const LABELS = `labels AS (
  SELECT replay_id, repeat_index,
         CASE WHEN (SELECT count(DISTINCT scenario) FROM replays) > 1 THEN policy || ' · ' || scenario ELSE policy END AS policy
  FROM replays)`

export async function loadReplay(store: Store): Promise<ReplayData | null> {
  if (!(await hasReplays(store))) return null
  const count = await store.query('SELECT count(*)::DOUBLE AS n FROM replays')
  const tenantRows = await store.query(
    `WITH ${LABELS}
     SELECT l.policy, t.replay_id, t.tenant, coalesce(t.priority, '') AS priority, coalesce(t.survived, false) AS survived,
            coalesce(t.end_state, '') AS end_state, t.completion_s::DOUBLE AS completion_s
     FROM replay_tenants t JOIN labels l USING (replay_id) ORDER BY l.policy, t.replay_id, t.tenant`,
  )
  const tenants = tenantRows.map((r) => ({
    completion_s: r.completion_s === null ? null : Number(r.completion_s),
    end_state: cleanText(String(r.end_state), 40),
    policy: cleanText(String(r.policy), 80),
    priority: cleanText(String(r.priority), 20),
    replay: cleanText(String(r.replay_id), 160),
    survived: Boolean(r.survived),
    tenant: cleanText(String(r.tenant), 80),
  }))

  // allocation latency: every step that grew the tenant, as a CDF per policy
  const lat = await store.query(
    `WITH ${LABELS}
     SELECT l.policy, list((a.end_ms - a.start_ms)::DOUBLE ORDER BY a.end_ms - a.start_ms) AS v
     FROM replay_allocs a JOIN labels l USING (replay_id)
     WHERE a.end_ms IS NOT NULL AND a.start_ms IS NOT NULL AND a.target_bytes > 0
     GROUP BY l.policy`,
  )
  const latency: LatencyQuantile[] = []
  for (const r of lat) {
    const v = (r.v as unknown[]).map(Number)
    for (let k = 0; k <= 100 && v.length > 0; k++) {
      const p = 1 - Math.pow(1 - k / 100, 3)
      latency.push({cdf: p, latency_ms: v[Math.min(v.length - 1, Math.floor(p * (v.length - 1)))], policy: cleanText(String(r.policy), 80)})
    }
  }

  // memory per tenant over time: the first repeat of each policy, min/max envelope per tenant
  const memRows = await store.query(
    `WITH ${LABELS}, first AS (SELECT policy, min(replay_id) AS replay_id FROM labels WHERE repeat_index = (SELECT min(repeat_index) FROM labels) GROUP BY policy)
     SELECT f.policy, a.tenant, a.end_ms::DOUBLE / 1000 AS t, a.achieved_bytes::DOUBLE / 1e6 AS mb
     FROM replay_allocs a JOIN first f USING (replay_id) WHERE a.end_ms IS NOT NULL ORDER BY f.policy, a.tenant, a.end_ms`,
  )
  const series = new Map<string, {policy: string; tenant: string; pts: {t: number; v: number}[]}>()
  for (const r of memRows) {
    const key = `${String(r.policy)}\u0000${String(r.tenant)}`
    if (!series.has(key)) series.set(key, {policy: cleanText(String(r.policy), 80), pts: [], tenant: cleanText(String(r.tenant), 80)})
    series.get(key)!.pts.push({t: Number(r.t), v: Number(r.mb ?? 0)})
  }
  const memory: TenantMemPoint[] = []
  for (const s of series.values()) for (const p of envelope(s.pts, 400)) memory.push({mb: Math.round(p.v * 10) / 10, policy: s.policy, t: Math.round(p.t * 1000) / 1000, tenant: s.tenant})

  const eventRows = await store.query(
    `WITH ${LABELS}, first AS (SELECT policy, min(replay_id) AS replay_id FROM labels WHERE repeat_index = (SELECT min(repeat_index) FROM labels) GROUP BY policy)
     SELECT f.policy, coalesce(e.tenant, 'budget') AS tenant, e.kind, coalesce(e.detail, '') AS detail, e.t_ms::DOUBLE / 1000 AS t
     FROM replay_events e JOIN first f USING (replay_id) ORDER BY f.policy, e.t_ms LIMIT 20000`,
  )
  const events = eventRows.map((r) => ({
    detail: cleanText(String(r.detail), 160),
    kind: cleanText(String(r.kind), 40),
    policy: cleanText(String(r.policy), 80),
    t: Number(r.t),
    tenant: cleanText(String(r.tenant), 80),
  }))
  return {events, latency, memory, replays: Number(count[0]?.n ?? 0), tenants}
}
