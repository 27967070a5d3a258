/**
 * The Parquet files as another tool sees them: a fresh DuckDB instance of its own (not the
 * Store, not the manifest) reads each file's schema and rows, and finds the documented
 * columns of datasets/schema.ts with their types, and the manifest's row counts.
 */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {exportStore} from '../../datasets/export/exporter.js'
import type {Manifest} from '../../datasets/export/manifest.js'
import {TABLES, type TableName} from '../../datasets/schema.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'
import {buildStore, cleanup} from './helpers.js'

const dirs: string[] = []
afterAll(() => cleanup(dirs))

describe('Parquet export read by a fresh DuckDB connection', () => {
  let out: string
  let manifest: Manifest

  beforeAll(async () => {
    const dir = tempDir()
    dirs.push(dir)
    const db = join(dir, 'store.duckdb')
    await buildStore(db, join(dir, 'recordings'))
    const store = await Store.open(db, {readOnly: true})
    out = join(dir, 'pq')
    await exportStore(store, {command: 'test', format: 'parquet', outDir: out})
    store.close()
    manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest
  })

  it('finds every documented column with its type, in schema order, and the listed row counts', async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    try {
      for (const table of Object.keys(TABLES) as TableName[]) {
        const file = join(out, `${table}.parquet`)
        const described = await conn.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($f)', {f: file})
        const columns = described.getRowObjectsJson().map((r) => ({name: r.column_name, type: r.column_type}))
        expect(columns, table).toEqual(TABLES[table].map((c) => ({name: c.name, type: c.type})))
        const count = await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM read_parquet($f)', {f: file})
        expect(count.getRowObjectsJson()[0].n, table).toBe(manifest.tables.find((t) => t.name === table)!.rows)
      }
      // values come out as written: absolute UTC µs, bytes, booleans, NULLs
      const rows = await conn.runAndReadAll(
        "SELECT pid, comm, argv, end_us, peak_rss_bytes FROM read_parquet($f) WHERE run_id = 'edge/tricky__values-1/attempt_1' ORDER BY pid",
        {f: join(out, 'processes.parquet')},
      )
      expect(rows.getRowObjectsJson()).toEqual([
        {argv: 'bash -c "python -m pytest, -x"', comm: 'bash', end_us: '1770428844000000', peak_rss_bytes: '4000000', pid: 4242},
        {argv: 'python -m pytest\n-x', comm: 'python', end_us: '1770428843900000', peak_rss_bytes: '300000000', pid: 4243},
        {argv: null, comm: 'sleep', end_us: null, peak_rss_bytes: null, pid: 4300},
      ])
      const runs = await conn.runAndReadAll('SELECT count(*)::INTEGER AS n, count(DISTINCT run_id)::INTEGER AS ids FROM read_parquet($f)', {f: join(out, 'runs.parquet')})
      expect(runs.getRowObjectsJson()).toEqual([{ids: 7, n: 7}])
    } finally {
      conn.closeSync()
      instance.closeSync()
    }
  })

  it('writes zstd-compressed Parquet', async () => {
    const instance = await DuckDBInstance.create(':memory:')
    const conn = await instance.connect()
    const meta = await conn.runAndReadAll('SELECT DISTINCT compression FROM parquet_metadata($f)', {f: join(out, 'samples.parquet')})
    expect(meta.getRowsJson()).toEqual([['ZSTD']])
    conn.closeSync()
    instance.closeSync()
  })
})
