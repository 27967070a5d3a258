/**
 * The analysis working set: temp tables (connection-local, so a read-only store works)
 * that every family queries, built once per analysis.
 *
 * Runs are joined by rk, a small integer per run (faster than run_id strings).
 *   an_runs     selected runs: rk, group, runner times, the paper's active time, the corrected
 *               active window, init time, and facts (sample/call counts, transcript...)
 *   an_samples  every sample in time order, as the paper reads them: mem_mb (10^6 bytes;
 *               the exit "0B" sample is 0), cpu = the CPU percentage as stored (podman's
 *               lifetime average), lags for rates; plus the raw CPU columns and `clean`
 *   an_clean    samples without the start transient and exit 0B, with the instantaneous
 *               CPU of the interval ending at each sample and of the one before (measured,
 *               or recovered from podman's lifetime average as delta(cpu x (t - t_first)) /
 *               dt), neighbour times, interval lengths and trapezoid weights w_s (half the
 *               intervals on either side), so means are time-weighted
 *   an_calls    tool calls that have a result, with both Bash categorisations
 *   an_union    per run, the union of all call intervals (overlapping and sub-agent calls merged)
 *   an_excl     per call, its exclusive time: concurrent calls share each instant equally,
 *               and a Task call yields to the sub-agent calls it contains
 */
import {categorizeBash} from '../datasets/formats/bash-category.js'
import type {SqlParam, Store} from '../datasets/store.js'
import {bucketSql, bucketsSql} from './sql.js'
import type {RunInfo} from './types.js'

export interface Selection {
  /** dataset names; empty = all */
  datasets?: string[]
  /** 'valid' keeps the paper's filter (>= 10 samples and >= 60 s) */
  runs: 'all' | 'valid'
  /** explicit run ids (tests, reports); empty = no restriction */
  runIds?: string[]
  /** one group named 'all' instead of one per dataset */
  pool?: boolean
}

const CLEAN = "coalesce(s.flags, '') NOT LIKE '%start_transient%' AND coalesce(s.flags, '') NOT LIKE '%exit_0b%'"

export async function prepare(store: Store, sel: Selection): Promise<RunInfo[]> {
  await createRuns(store, sel)
  await createSamples(store)
  await createCalls(store)
  await createIntervals(store)
  const rows = await store.query(
    `SELECT run_id, rk, grp, dataset, task_id, valid, n_samples, n_clean, n_calls, has_transcript OR has_active_phase AS has_transcript,
            has_claude_time, has_phases, has_cpu, has_turns
     FROM an_runs ORDER BY grp, dataset, task_id, run_id`,
  )
  return rows as unknown as RunInfo[]
}

async function createRuns(store: Store, sel: Selection): Promise<void> {
  const params: Record<string, SqlParam> = {pool: Boolean(sel.pool), valid_only: sel.runs === 'valid'}
  const where = ['(NOT $valid_only OR r.valid)']
  const inList = (col: string, prefix: string, values: string[] | undefined) => {
    if (!values?.length) return
    where.push(`${col} IN (${values.map((v, i) => {
      params[`${prefix}${i}`] = v
      return `$${prefix}${i}`
    }).join(', ')})`)
  }
  inList('r.dataset', 'd', sel.datasets)
  inList('r.run_id', 'r', sel.runIds)

  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_runs AS
     WITH ph AS (
       SELECT run_id,
              max(start_us) FILTER (phase = 'agent_active')::DOUBLE AS act_start_us,
              max(end_us) FILTER (phase = 'agent_active')::DOUBLE AS act_end_us,
              (sum(end_us - start_us) FILTER (phase IN ('container_create', 'agent_start')))::DOUBLE / 1e6 AS init_s,
              count(*) FILTER (phase = 'container_create') > 0 AS has_create
       FROM phases GROUP BY run_id),
     sm AS (
       SELECT run_id, count(*)::INTEGER AS n_samples,
              (count(*) FILTER (${CLEAN}))::INTEGER AS n_clean,
              min(t_us) FILTER (${CLEAN})::DOUBLE AS clean_start_us,
              max(t_us) FILTER (${CLEAN})::DOUBLE AS clean_end_us,
              count(cpu_pct) + count(cpu_usec) > 0 AS has_cpu
       FROM samples s GROUP BY run_id),
     tc AS (SELECT run_id, (count(*) FILTER (end_us IS NOT NULL AND start_us IS NOT NULL))::INTEGER AS n_calls FROM tool_calls GROUP BY run_id),
     lt AS (SELECT run_id, count(*) > 0 AS has_turns FROM llm_turns GROUP BY run_id),
     tr AS (SELECT DISTINCT run_id, true AS has_transcript FROM transcripts),
     -- the paper's code looks the permission-fix time up by task name across its datasets, the
     -- last one winning (all_images_local over all_images_haiku): reproduced for the paper rules only
     pf AS (SELECT task_id, max(dataset) AS last_dataset, arg_max(permission_fix_time_s, dataset || lpad(attempt::VARCHAR, 9, '0')) AS last_permfix_s
            FROM runs WHERE permission_fix_time_s IS NOT NULL GROUP BY task_id)
     SELECT r.run_id, (row_number() OVER (ORDER BY r.run_id))::INTEGER AS rk,
            CASE WHEN $pool THEN 'all' ELSE r.dataset END AS grp, r.dataset, r.task_id, r.valid,
            r.claude_time_s AS claude_s, r.image_bytes::DOUBLE AS image_bytes,
            CASE WHEN pf.last_dataset > r.dataset THEN pf.last_permfix_s ELSE r.permission_fix_time_s END AS permfix_p_s,
            r.permission_fix_time_s AS permfix_c_s,
            -- the paper: transcript first to last record, else claude_time
            CASE WHEN ph.act_end_us > ph.act_start_us THEN (ph.act_end_us - ph.act_start_us) / 1e6 ELSE r.claude_time_s END AS act_p_s,
            -- corrected: the transcript's window, else the span of clean samples
            coalesce(ph.act_start_us, sm.clean_start_us) AS win_start_us,
            coalesce(ph.act_end_us, sm.clean_end_us) AS win_end_us,
            (coalesce(ph.act_end_us, sm.clean_end_us) - coalesce(ph.act_start_us, sm.clean_start_us)) / 1e6 AS win_s,
            CASE WHEN ph.has_create THEN ph.init_s END AS init_c_s,
            coalesce(sm.n_samples, 0) AS n_samples, coalesce(sm.n_clean, 0) AS n_clean, coalesce(tc.n_calls, 0) AS n_calls,
            ph.act_start_us IS NOT NULL AS has_active_phase,
            coalesce(tr.has_transcript, false) AS has_transcript,
            r.claude_time_s IS NOT NULL AND r.claude_time_s > 0 AS has_claude_time,
            coalesce(ph.has_create, false) AS has_phases,
            coalesce(sm.has_cpu, false) AS has_cpu,
            coalesce(lt.has_turns, false) AS has_turns
     FROM runs r LEFT JOIN ph USING (run_id) LEFT JOIN sm USING (run_id) LEFT JOIN tc USING (run_id)
          LEFT JOIN lt USING (run_id) LEFT JOIN tr USING (run_id) LEFT JOIN pf ON pf.task_id = r.task_id
     WHERE ${where.join(' AND ')}`,
    params,
  )
}

/** The CPU as sampled: the percentage, or for a sampler that only counted CPU time its interval's rate. */
function sampledCpuSql(lagBy: number): string {
  const l = (col: string, n: number) => (n === 0 ? `s.${col}` : `lag(s.${col}, ${n}) OVER w`)
  return `coalesce(${l('cpu_pct', lagBy)}, 100 * (${l('cpu_usec', lagBy)} - ${l('cpu_usec', lagBy + 1)}) / (${l('t_us', lagBy)} - ${l('t_us', lagBy + 1)}))`
}

/**
 * Instantaneous CPU (100 = one core) over the clean interval ending `back` clean samples ago
 * (0: at this sample): measured, or recovered from podman's lifetime average; lags of one
 * window, so the previous interval's value costs no second pass.
 */
function instantCpuSql(back: number): string {
  const l = (col: string, n: number) => (n === 0 ? col : `lag(${col}, ${n}) OVER w`)
  const [t, pt] = [l('t_us', back), l('t_us', back + 1)]
  const [usec, pusec] = [l('cpu_usec', back), l('cpu_usec', back + 1)]
  const [pct, ppct] = [l('cpu_pct', back), l('cpu_pct', back + 1)]
  const kind = l('cpu_pct_kind', back)
  return `CASE WHEN ${pt} IS NULL OR ${t} <= ${pt} THEN NULL
            WHEN ${usec} IS NOT NULL AND ${pusec} IS NOT NULL THEN 100 * (${usec} - ${pusec}) / (${t} - ${pt})
            WHEN ${kind} = 'instant' THEN ${pct}
            -- the first interval after the start is left out: its value hangs on the unknown container start
            WHEN ${kind} = 'lifetime_avg' AND row_number() OVER w - 1 - ${back} >= 2 THEN (${pct} * (${t} - t0_us) - ${ppct} * (${pt} - t0_us)) / (${t} - ${pt})
       END`
}

async function createSamples(store: Store): Promise<void> {
  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_samples AS
     SELECT r.rk, r.grp, s.t_us::DOUBLE AS t_us, s.mem_bytes::DOUBLE / 1e6 AS mem_mb,
            ${sampledCpuSql(0)} AS cpu, ${sampledCpuSql(1)} AS pcpu,
            s.cpu_pct, s.cpu_pct_kind, s.cpu_usec::DOUBLE AS cpu_usec, ${CLEAN} AS clean,
            (row_number() OVER w - 1)::INTEGER AS i, r.n_samples AS n,
            lag(s.t_us) OVER w::DOUBLE AS pt_us, lag(s.mem_bytes) OVER w::DOUBLE / 1e6 AS pmem_mb,
            -- podman's lifetime average is CPU since the container started; the first sample is the nearest known start
            first_value(s.t_us) OVER w::DOUBLE AS t0_us
     FROM samples s JOIN an_runs r USING (run_id)
     WINDOW w AS (PARTITION BY r.rk ORDER BY s.t_us)`,
  )

  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_clean AS
     SELECT rk, grp, (row_number() OVER w - 1)::INTEGER AS ci, t_us, mem_mb,
            lag(t_us) OVER w AS pt_us, lead(t_us) OVER w AS nt_us, lag(mem_mb) OVER w AS pmem_mb,
            (t_us - lag(t_us) OVER w) / 1e6 AS dt_s, (lag(t_us) OVER w - lag(t_us, 2) OVER w) / 1e6 AS pdt_s,
            -- trapezoid weight: half the intervals on either side
            ((coalesce(lead(t_us) OVER w, t_us) - coalesce(lag(t_us) OVER w, t_us)) / 2e6) AS w_s,
            ${instantCpuSql(0)} AS cpu_inst,
            ${instantCpuSql(1)} AS pcpu_inst
     FROM an_samples WHERE clean
     WINDOW w AS (PARTITION BY rk ORDER BY t_us)`,
  )
}

async function createCalls(store: Store): Promise<void> {
  // the burst-profile categorisation is not stored; categorise each distinct command once
  const commands = await store.query(
    `SELECT DISTINCT c.command FROM tool_calls c JOIN an_runs r USING (run_id) WHERE c.tool = 'Bash' AND c.command IS NOT NULL`,
  )
  const pairs = commands.map((c) => [String(c.command), categorizeBash(String(c.command), 'burst')])
  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_burst_cat AS SELECT p[1] AS command, p[2] AS cat FROM (SELECT unnest(CAST(json($j) AS VARCHAR[][])) AS p)`,
    {j: JSON.stringify(pairs)},
  )

  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_calls AS
     SELECT r.rk, r.grp, c.call_id, c.seq, c.tool, c.start_us::DOUBLE AS s_us, c.end_us::DOUBLE AS e_us,
            (c.end_us - c.start_us)::DOUBLE / 1e6 AS raw_dur_s,
            greatest(0, (c.end_us - c.start_us)::DOUBLE / 1e6) AS dur_s,
            coalesce(c.is_sidechain, false) AS side, c.parent_call_id,
            CASE WHEN c.tool = 'Bash' THEN coalesce(c.bash_category, 'Other') END AS cat_ts,
            CASE WHEN c.tool = 'Bash' THEN coalesce(b.cat, 'Other') END AS cat_burst
     -- an equality alone, so DuckDB hashes it (with the tool test too it loops over every pair)
     FROM tool_calls c JOIN an_runs r USING (run_id) LEFT JOIN an_burst_cat b ON b.command = c.command
     WHERE c.start_us IS NOT NULL AND c.end_us IS NOT NULL`,
  )
}

async function createIntervals(store: Store): Promise<void> {
  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_union AS
     WITH o AS (
       SELECT rk, s_us, greatest(s_us, e_us) AS e_us,
              max(greatest(s_us, e_us)) OVER (PARTITION BY rk ORDER BY s_us, e_us ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach_us
       FROM an_calls),
     g AS (SELECT *, sum(CASE WHEN s_us > reach_us THEN 1 ELSE 0 END) OVER (PARTITION BY rk ORDER BY s_us, e_us ROWS UNBOUNDED PRECEDING) AS island FROM o)
     SELECT rk, min(s_us) AS s_us, max(e_us) AS e_us FROM g GROUP BY rk, island`,
  )

  await store.query(
    `CREATE OR REPLACE TEMP TABLE an_excl AS
     WITH b AS (SELECT rk, s_us AS t FROM an_calls UNION SELECT rk, e_us FROM an_calls),
     seg AS (SELECT rk, t AS s_us, lead(t) OVER (PARTITION BY rk ORDER BY t) AS e_us FROM b),
     act AS (
       SELECT g.rk, g.s_us, g.e_us, c.call_id, c.tool, c.parent_call_id
       FROM seg g JOIN (SELECT *, unnest(${bucketsSql('s_us', 'e_us')}) AS bucket FROM an_calls) c
            ON c.rk = g.rk AND c.bucket = ${bucketSql('g.s_us')} AND c.s_us <= g.s_us AND c.e_us >= g.e_us
       WHERE g.e_us > g.s_us),
     own AS (
       SELECT a.* FROM act a
       WHERE NOT EXISTS (SELECT 1 FROM act k WHERE k.rk = a.rk AND k.s_us = a.s_us AND k.parent_call_id = a.call_id))
     SELECT rk, call_id, sum((e_us - s_us) / 1e6 / n) AS excl_s
     FROM (SELECT *, count(*) OVER (PARTITION BY rk, s_us) AS n FROM own)
     GROUP BY rk, call_id`,
  )
}
