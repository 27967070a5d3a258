/**
 * Shared by the export tests: stores built from recordings and from hand-made records that
 * hold every awkward value a file format can lose (NULL vs '', quotes, newlines, CR, commas,
 * unicode, BIGINTs past 2^53, extreme doubles), and a row-for-row comparison of two stores.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {exportStore} from '../../datasets/export/exporter.js'
import {type ExportFormat, unitKey} from '../../datasets/export/table-files.js'
import {importRecordings} from '../../datasets/import/importer.js'
import {emptyRunRecord, type RunRecord} from '../../datasets/model.js'
import {RUN_TABLES, TABLES, type TableName} from '../../datasets/schema.js'
import {type SqlParam, sqlString, Store} from '../../datasets/store.js'
import {T0, writeAttempt} from '../fixtures/recordings.js'

export const TRICKY = ['line1\nline2', 'a "quoted", comma', '', 'NULL', '  padded  ', 'cr\r\nlf', 'ünïcødé ✓ 日本', '\\N', 'tab\there']

/** A run that fills every run table, processes and events included, with tricky values. */
export function edgeRecord(runId: string, t0Us = T0 * 1e6): RunRecord {
  const [dataset, task] = runId.split('/')
  const r = emptyRunRecord({
    attempt: Number(runId.split('_').at(-1)),
    bpf_clock_offset_ns: '1770428831123456789' as unknown as number, // 19 digits: past 2^53
    control: 'agentcgroup',
    dataset,
    ended_at_us: t0Us + 60e6,
    kind: 'agent',
    layout: 'attempt',
    memory_limit_bytes: null,
    node_memory_bytes: 3 * 1024 ** 3,
    notes: TRICKY.join('|'),
    run_id: runId,
    sampler_overhead_pct: 1e-300,
    source_path: `/data/${task}/with 'quote'`,
    started_at_us: t0Us,
    status: 'done',
    task_id: task,
    tests_passed: null,
    valid: true,
  })
  r.phases = [
    {end_us: t0Us + 5e6, phase: 'container_create', source: 'test', start_us: t0Us},
    {end_us: t0Us + 60e6, phase: 'agent_active', source: 'test', start_us: t0Us + 5e6},
  ]
  r.samples = Array.from({length: 40}, (_, i) => ({
    cpu_pct: i === 3 ? 0.1 + 0.2 : 12.5 * i,
    cpu_pct_kind: 'instant' as const,
    cpu_usec: i * 700_000,
    flags: i === 0 ? 'start_transient' : null,
    mem_anon_bytes: 1e8 + i * 1e6,
    mem_bytes: i === 7 ? 0 : 2e8 + i * 3e6,
    mem_file_bytes: i % 2 === 0 ? null : 5e7,
    mem_limit_bytes: 4 * 1024 ** 3,
    source: 'cgroupfs',
    t_us: t0Us + i * 1.5e6,
  }))
  r.toolCalls = TRICKY.map((text, i) => ({
    bash_category: i % 2 === 0 ? 'test' : null,
    call_id: `toolu_${i}`,
    command: text,
    cpu_usec: i * 10,
    description: i === 2 ? '' : null,
    domain: i % 3 === 0 ? null : `tool-${i}`,
    end_us: t0Us + (10 + i * 4 + 3) * 1e6,
    exit_code: i === 1 ? -1 : 0,
    frozen_ms: i % 3 === 0 ? null : i === 4 ? 1e-3 : 1250.5 * i,
    input_json: JSON.stringify({command: text}),
    is_error: i === 1,
    is_sidechain: i > 5,
    oom_kills: i % 3 === 0 ? null : i === 2 ? 1 : 0,
    parent_call_id: i > 5 ? 'toolu_5' : null,
    peak_mem_bytes: 2 ** 31 + i,
    result_bytes: i * 1000,
    seq: i,
    source: 'transcript',
    start_us: t0Us + (10 + i * 4) * 1e6,
    throttled_ms: i % 3 === 0 ? null : 0.1 + 0.2 * i,
    tool: i === 5 ? 'Task' : 'Bash',
  }))
  r.llmTurns = [0, 1, 2].map((turn) => ({
    cache_creation_tokens: null,
    cache_read_tokens: 900 + turn,
    end_us: t0Us + (8 + turn * 10) * 1e6,
    input_tokens: 1200,
    is_sidechain: false,
    message_id: `msg_${turn}`,
    model: 'claude-haiku',
    output_tokens: 80,
    start_us: t0Us + (6 + turn * 10) * 1e6,
    stop_reason: turn === 2 ? 'end_turn' : 'tool_use',
    turn,
  }))
  r.processes = [
    {argv: 'bash -c "python -m pytest, -x"', call_id: 'toolu_0', comm: 'bash', end_us: t0Us + 13e6, exit_code: 1, peak_rss_bytes: 4e6, pid: 4242, ppid: 1, source: 'bpf', start_us: t0Us + 10e6},
    {argv: 'python -m pytest\n-x', call_id: 'toolu_0', comm: 'python', end_us: t0Us + 12.9e6, exit_code: 1, peak_rss_bytes: 3e8, pid: 4243, ppid: 4242, source: 'bpf', start_us: t0Us + 10.1e6},
    {argv: null, call_id: null, comm: 'sleep', end_us: null, exit_code: null, peak_rss_bytes: null, pid: 4300, ppid: 1, source: 'bpf', start_us: t0Us + 50e6},
  ]
  r.events = [
    {detail: 'victim python pid 4243', kind: 'oom_kill', t_us: t0Us + 12.9e6},
    {detail: null, kind: 'throttle', t_us: t0Us + 20e6},
    {detail: '', kind: 'freeze', t_us: t0Us + 21e6},
    {detail: 'after 3 s', kind: 'thaw', t_us: t0Us + 24e6},
    {detail: '{"domain": "tool-2", "reason": "memory.high"}', kind: 'kill', t_us: t0Us + 25e6},
  ]
  r.transcripts = [{content: `{"type":"user","message":"${'x'.repeat(2_200_000)}"}\n{"a":"b,\\"c\\"\\n"}\n`, file: 'trace.jsonl'}]
  return r
}

/**
 * Rows for every table that is not per run (the replay tables, and whatever comes later),
 * made from the schema alone: the unit key (replay_id) set, every type filled, some NULLs.
 */
export async function addOtherRows(store: Store, unitId: string): Promise<void> {
  for (const table of (Object.keys(TABLES) as TableName[]).filter((t) => !RUN_TABLES.includes(t))) {
    const key = unitKey(table)
    for (let row = 0; row < 2; row++) {
      const params: Record<string, SqlParam> = {}
      const values = TABLES[table].map((c, i) => {
        const name = `c${i}`
        if (c.name === key) params[name] = unitId
        else if ((i + row) % 5 === 4) params[name] = null
        else if (c.type === 'VARCHAR') params[name] = TRICKY[(i + row) % TRICKY.length]
        else if (c.type === 'BIGINT') params[name] = '9007199254740993'
        else if (c.type === 'DOUBLE') params[name] = 0.1 + row
        else if (c.type === 'INTEGER') params[name] = -7 + row
        else params[name] = row === 0
        return `$${name}::${c.type}`
      })
      await store.exec(`INSERT INTO ${table} (${TABLES[table].map((c) => c.name).join(', ')}) VALUES (${values.join(', ')})`, params)
    }
  }
}

/** Recordings of two datasets (five runs) written under dir, as the paper's runner lays them out. */
export function writeRecordings(dir: string): string[] {
  writeAttempt(join(dir, 'alpha', 'dask__dask-11628', 'attempt_1'))
  writeAttempt(join(dir, 'alpha', 'pydicom__pydicom-1000', 'attempt_1'))
  writeAttempt(join(dir, 'beta', 'dask__dask-11628', 'attempt_1'))
  writeAttempt(join(dir, 'beta', 'sigmavirus24__github3.py-673', 'attempt_1'))
  writeAttempt(join(dir, 'beta', 'sigmavirus24__github3.py-673', 'attempt_2'))
  return [join(dir, 'alpha'), join(dir, 'beta')]
}

/** A store with the recordings of writeRecordings and two edge-case runs. */
export async function buildStore(db: string, recordingsDir: string, edgeRuns = ['edge/tricky__values-1/attempt_1', 'edge/tricky__values-2/attempt_1']): Promise<void> {
  const store = await Store.open(db)
  try {
    const result = await importRecordings(store, {paths: writeRecordings(recordingsDir)})
    if (result.failed.length > 0) throw new Error(`fixture import failed: ${result.failed[0].error}`)
    for (const id of edgeRuns) await store.replaceRun(edgeRecord(id))
    await addOtherRows(store, 'paper/agentcgroup/1770428831000000/0')
  } finally {
    store.close()
  }
}

/** A shard store: one dataset of recordings plus one edge-case run. */
export async function shardStore(db: string, recordings: string, edgeRun: string): Promise<void> {
  const store = await Store.open(db)
  await importRecordings(store, {paths: [recordings]})
  await store.replaceRun(edgeRecord(edgeRun))
  await addOtherRows(store, `replay-of/${edgeRun}`)
  store.close()
}

export async function exportOf(db: string, outDir: string, format: ExportFormat = 'parquet'): Promise<string> {
  const store = await Store.open(db, {readOnly: true})
  await exportStore(store, {command: 'test', format, outDir})
  store.close()
  return outDir
}

export interface TableDiff {
  table: string
  left: number
  right: number
  onlyLeft: number
  onlyRight: number
}

/** Per table: row counts and rows (with multiplicity) present on one side only. */
export async function diffStores(left: string, right: string): Promise<TableDiff[]> {
  const scratch = await Store.open(':memory:')
  try {
    await scratch.exec(`ATTACH ${sqlString(left)} AS l (READ_ONLY)`)
    await scratch.exec(`ATTACH ${sqlString(right)} AS r (READ_ONLY)`)
    const out: TableDiff[] = []
    for (const table of Object.keys(TABLES) as TableName[]) {
      const cols = TABLES[table].map((c) => c.name).join(', ')
      const [row] = await scratch.query(
        `SELECT (SELECT count(*) FROM l.${table})::INTEGER AS left, (SELECT count(*) FROM r.${table})::INTEGER AS right,
                (SELECT count(*) FROM (SELECT ${cols} FROM l.${table} EXCEPT ALL SELECT ${cols} FROM r.${table}))::INTEGER AS only_left,
                (SELECT count(*) FROM (SELECT ${cols} FROM r.${table} EXCEPT ALL SELECT ${cols} FROM l.${table}))::INTEGER AS only_right`,
      )
      out.push({left: Number(row.left), onlyLeft: Number(row.only_left), onlyRight: Number(row.only_right), right: Number(row.right), table})
    }
    return out
  } finally {
    scratch.close()
  }
}

/** Every table identical, and not trivially (the left side holds rows). */
export function expectIdentical(diff: TableDiff[]): void {
  const bad = diff.filter((d) => d.left !== d.right || d.onlyLeft !== 0 || d.onlyRight !== 0)
  if (bad.length > 0) throw new Error(`stores differ: ${JSON.stringify(bad)}`)
  if (diff.find((d) => d.table === 'runs')!.left === 0) throw new Error('stores are both empty')
}

export function cleanup(dirs: string[]): void {
  for (const d of dirs.splice(0)) rmSync(d, {force: true, recursive: true})
}
