import {rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import {UserError} from '../../datasets/errors.js'
import {emptyRunRecord, RunRecord} from '../../datasets/model.js'
import {REPLAY_TABLES, RUN_TABLES, SCHEMA_VERSION, TABLES} from '../../datasets/schema.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {force: true, recursive: true})
})

function newDb(): string {
  const d = tempDir()
  dirs.push(d)
  return join(d, 'store.duckdb')
}

function record(runId: string, samples = 3): RunRecord {
  const r = emptyRunRecord({attempt: 1, dataset: 'ds', kind: 'agent', layout: 'attempt', run_id: runId, source_path: '/x', status: 'done', task_id: 't', valid: false})
  r.samples = Array.from({length: samples}, (_, i) => ({mem_bytes: 1e6 * (i + 1), source: 'test', t_us: 1_770_000_000_000_000 + i * 1e6}))
  r.toolCalls = [{call_id: 'c1', end_us: 2, is_sidechain: false, seq: 0, source: 'test', start_us: 1, tool: 'Bash'}]
  return r
}

describe('the DuckDB store', () => {
  it('creates every documented table and records the schema version', async () => {
    const db = newDb()
    const store = await Store.open(db)
    const tables = await store.query("SELECT table_name FROM information_schema.tables ORDER BY table_name")
    expect(tables.map((t) => t.table_name)).toEqual([...RUN_TABLES, ...REPLAY_TABLES, 'schema_version'].sort())
    for (const t of [...RUN_TABLES, ...REPLAY_TABLES]) {
      const cols = await store.query('SELECT column_name FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position', {t})
      expect(cols.map((c) => c.column_name)).toEqual(TABLES[t].map((c) => c.name))
    }
    expect(await store.schemaVersion()).toBe(SCHEMA_VERSION)
    store.close()
    // opening again applies nothing twice
    const again = await Store.open(db)
    expect(await again.query('SELECT count(*)::INTEGER AS n FROM schema_version')).toEqual([{n: SCHEMA_VERSION}])
    again.close()
  })

  it('replaces a run atomically and leaves it intact when a replacement fails', async () => {
    const store = await Store.open(newDb())
    await store.replaceRun(record('ds/t/attempt_1', 3))
    await store.replaceRun(record('ds/t/attempt_1', 5))
    expect(await store.query("SELECT count(*)::INTEGER AS n FROM samples")).toEqual([{n: 5}])
    const bad = record('ds/t/attempt_1', 7)
    ;(bad.toolCalls[0] as unknown as Record<string, unknown>).no_such_column = 1
    await expect(store.replaceRun(bad)).rejects.toThrow(/no column no_such_column/)
    expect(await store.query("SELECT count(*)::INTEGER AS n FROM samples")).toEqual([{n: 5}])
    expect(await store.query("SELECT count(*)::INTEGER AS n FROM runs")).toEqual([{n: 1}])
    store.close()
  })

  it('migrates a version-4 store to version 5 and keeps its rows (tool-call domains, run control)', async () => {
    const db = newDb()
    // a v4 store: today's tables less the columns version 5 added, and no version-5 row
    const v5 = {runs: ['control', 'node_memory_bytes', 'memory_limit_bytes'], tool_calls: ['domain', 'throttled_ms', 'frozen_ms', 'oom_kills']}
    const old = await Store.open(db)
    await old.replaceRun(record('ds/t/attempt_1'))
    for (const [table, columns] of Object.entries(v5)) for (const c of columns) await old.exec(`ALTER TABLE ${table} DROP COLUMN ${c}`)
    await old.exec('DELETE FROM schema_version WHERE version >= 5')
    expect(await old.schemaVersion()).toBe(4)
    old.close()
    // opening it for writing migrates it
    const store = await Store.open(db)
    expect(await store.schemaVersion()).toBe(SCHEMA_VERSION)
    for (const t of ['runs', 'tool_calls'] as const) {
      const cols = await store.query('SELECT column_name FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position', {t})
      expect(cols.map((c) => c.column_name)).toEqual(TABLES[t].map((c) => c.name))
    }
    expect(await store.query('SELECT call_id, domain, throttled_ms, frozen_ms, oom_kills FROM tool_calls')).toEqual([{call_id: 'c1', domain: null, frozen_ms: null, oom_kills: null, throttled_ms: null}])
    expect(await store.query('SELECT run_id, control, node_memory_bytes, memory_limit_bytes FROM runs')).toEqual([{control: null, memory_limit_bytes: null, node_memory_bytes: null, run_id: 'ds/t/attempt_1'}])
    // and takes a run with the new columns filled
    const r = record('ds/t/attempt_2')
    r.run = {...r.run, control: 'agentcgroup', memory_limit_bytes: 2 ** 31, node_memory_bytes: 3 * 2 ** 30}
    r.toolCalls = [{...r.toolCalls[0], cpu_usec: 1500, domain: 'tool-0', frozen_ms: 250.5, oom_kills: 1, peak_mem_bytes: 3e8, throttled_ms: 1200}]
    await store.replaceRun(r)
    expect(await store.query("SELECT domain, throttled_ms, frozen_ms, oom_kills, peak_mem_bytes::DOUBLE AS peak FROM tool_calls WHERE run_id = 'ds/t/attempt_2'")).toEqual([{domain: 'tool-0', frozen_ms: 250.5, oom_kills: 1, peak: 3e8, throttled_ms: 1200}])
    expect(await store.query("SELECT control, node_memory_bytes::DOUBLE AS node, memory_limit_bytes::DOUBLE AS lim FROM runs WHERE run_id = 'ds/t/attempt_2'")).toEqual([{control: 'agentcgroup', lim: 2 ** 31, node: 3 * 2 ** 30}])
    store.close()
  })

  it('refuses a store written by a newer agentcgroup', async () => {
    const db = newDb()
    const store = await Store.open(db)
    await store.query('INSERT INTO schema_version VALUES (99, 0, $d)', {d: 'from the future'})
    store.close()
    await expect(Store.open(db)).rejects.toThrow(/schema version 99 is newer/)
    await expect(Store.open(db, {readOnly: true})).rejects.toThrow(/schema version 99 is newer/)
  })

  it('gives one clear error for a missing store, a non-store file and a read-only write', async () => {
    const db = newDb()
    await expect(Store.open(db, {readOnly: true})).rejects.toThrow(new UserError(`${db}: no store here (import or record runs first, or pass --db)`))
    const w = await Store.open(db)
    w.close()
    const r = await Store.open(db, {readOnly: true})
    await expect(r.replaceRun(record('ds/t/attempt_1'))).rejects.toThrow(/opened read-only/)
    r.close()
  })
})
