/**
 * The trace store: one DuckDB file (default ./agentcgroup.duckdb). This is the only module
 * that imports @duckdb/node-api. Writes go through the appender inside one transaction per
 * run, so a run is either all there or not at all; readers open the file read-only.
 * Tables and units: schema.ts.
 */
import {existsSync} from 'node:fs'
import {DuckDBAppender, DuckDBConnection, DuckDBInstance} from '@duckdb/node-api'

import {UserError} from './errors.js'
import type {RunRecord} from './model.js'
import {Column, MIGRATIONS, RUN_TABLES, SCHEMA_VERSION, TABLES, TableName} from './schema.js'

export type SqlParam = string | number | boolean | null
export type JsonRow = Record<string, unknown>

/** Which RunRecord field holds each run table's rows (the export reader builds records with it). */
// only RUN_TABLES have one; the replay tables are keyed by replay_id (insertRows)
export const RECORD_KEYS = {
  events: 'events',
  llm_turns: 'llmTurns',
  phases: 'phases',
  processes: 'processes',
  runs: 'run',
  samples: 'samples',
  tool_calls: 'toolCalls',
  transcripts: 'transcripts',
} as Record<TableName, keyof RunRecord>

export interface OpenOptions {
  readOnly?: boolean
}

export class Store {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  /** Opens (and for writers creates and migrates) the store; clear errors for a missing or locked file. */
  static async open(path: string, opts: OpenOptions = {}): Promise<Store> {
    const readOnly = opts.readOnly ?? false
    if (readOnly && !existsSync(path)) {
      throw new UserError(`${path}: no store here (import or record runs first, or pass --db)`)
    }
    let instance: DuckDBInstance
    try {
      instance = await DuckDBInstance.create(path, readOnly ? {access_mode: 'READ_ONLY'} : {})
    } catch (error) {
      throw storeOpenError(path, error)
    }
    const conn = await instance.connect()
    const store = new Store(path, instance, conn, readOnly)
    if (readOnly) await store.checkVersion()
    else await store.migrate()
    return store
  }

  close(): void {
    this.conn.closeSync()
    this.instance.closeSync()
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.query(
      "SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = 'schema_version'",
    )
    if (rows[0]?.n === 0) return 0
    const v = await this.query('SELECT coalesce(max(version), 0)::INTEGER AS v FROM schema_version')
    return Number(v[0]?.v ?? 0)
  }

  private async checkVersion(): Promise<void> {
    const v = await this.schemaVersion()
    if (v > SCHEMA_VERSION) {
      throw new UserError(`${this.path}: store schema version ${v} is newer than this agentcgroup (${SCHEMA_VERSION}); upgrade agentcgroup`)
    }
    if (v === 0) throw new UserError(`${this.path}: not an agentcgroup store (no schema_version table)`)
  }

  private async migrate(): Promise<void> {
    await this.conn.run(
      'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at_us BIGINT, description VARCHAR)',
    )
    const current = await this.schemaVersion()
    if (current > SCHEMA_VERSION) {
      throw new UserError(`${this.path}: store schema version ${current} is newer than this agentcgroup (${SCHEMA_VERSION}); upgrade agentcgroup`)
    }
    for (const m of MIGRATIONS.filter((mig) => mig.version > current)) {
      await this.transaction(async () => {
        for (const sql of m.sql) await this.conn.run(sql)
        await this.conn.run('INSERT INTO schema_version VALUES ($v, $t, $d)', {
          d: m.description,
          t: Date.now() * 1000,
          v: m.version,
        })
      })
    }
  }

  /** Runs fn in one transaction; rolls back on any error and rethrows it. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION')
    try {
      const result = await fn()
      await this.conn.run('COMMIT')
      return result
    } catch (error) {
      await this.conn.run('ROLLBACK')
      throw error
    }
  }

  /**
   * Replaces every row of the run atomically (delete then append, one transaction).
   * `isNew` (the caller knows the run is not stored) skips the deletes: a fresh import of
   * 184 runs spends a third of its write time on them otherwise.
   */
  async replaceRun(record: RunRecord, opts: {isNew?: boolean} = {}): Promise<void> {
    this.assertWritable()
    const runId = record.run.run_id
    await this.transaction(async () => {
      if (!opts.isNew) {
        for (const table of RUN_TABLES) await this.conn.run(`DELETE FROM ${table} WHERE run_id = $id`, {id: runId})
      }
      for (const table of RUN_TABLES) {
        const value = record[RECORD_KEYS[table]]
        const rows = (Array.isArray(value) ? value : [value]) as object[]
        if (rows.length > 0) await this.appendRows(table, rows, runId)
      }
    })
  }

  /** Bulk append through DuckDB's appender; `runId`, when given, fills run_id of every row. */
  private async appendRows(table: TableName, rows: object[], runId: string | null): Promise<void> {
    const columns = TABLES[table]
    assertKnownColumns(table, columns, rows[0])
    const appender = await this.conn.createAppender(table)
    try {
      for (const row of rows) {
        const r = row as Record<string, unknown>
        for (const col of columns) appendValue(appender, col, runId !== null && col.name === 'run_id' ? runId : r[col.name], table)
        appender.endRow()
      }
    } finally {
      appender.closeSync()
    }
  }

  /** Appends rows to a table that is not per run (replay results), in one transaction. */
  async insertRows(table: TableName, rows: object[]): Promise<void> {
    this.assertWritable()
    if (rows.length === 0) return
    await this.transaction(() => this.appendRows(table, rows, null))
  }

  /** Parameterised query; BIGINTs come back as strings (cast in SQL where numbers are wanted). */
  async query(sql: string, params: Record<string, SqlParam> = {}): Promise<JsonRow[]> {
    const reader = await this.conn.runAndReadAll(sql, params as Record<string, never>)
    return reader.getRowObjectsJson() as JsonRow[]
  }

  /**
   * Runs one statement for its effect: COPY ... TO, ATTACH, CREATE TEMP TABLE, INSERT ... SELECT
   * (bulk statements the exporter and merge need). Bind parameters wherever DuckDB takes them;
   * ATTACH takes none, so its path goes through sqlString().
   */
  async exec(sql: string, params: Record<string, SqlParam> = {}): Promise<void> {
    await this.conn.run(sql, params as Record<string, never>)
  }

  /** A query with column names and rows as arrays (for table printing). */
  async queryColumns(sql: string): Promise<{columns: string[]; rows: unknown[][]}> {
    const reader = await this.conn.runAndReadAll(sql)
    return {columns: reader.columnNames(), rows: reader.getRowsJson() as unknown[][]}
  }

  async runIds(): Promise<Set<string>> {
    const rows = await this.query('SELECT run_id FROM runs')
    return new Set(rows.map((r) => String(r.run_id)))
  }

  async deleteRun(runId: string): Promise<void> {
    this.assertWritable()
    await this.transaction(async () => {
      for (const table of RUN_TABLES) await this.conn.run(`DELETE FROM ${table} WHERE run_id = $id`, {id: runId})
    })
  }

  private assertWritable(): void {
    if (this.readOnly) throw new UserError(`${this.path}: opened read-only`)
  }
}

function assertKnownColumns(table: string, columns: Column[], sample: object | undefined): void {
  if (!sample) return
  const names = new Set(columns.map((c) => c.name))
  for (const key of Object.keys(sample)) {
    if (!names.has(key)) throw new Error(`internal: ${table} has no column ${key}`)
  }
}

function appendValue(appender: DuckDBAppender, col: Column, value: unknown, table: string): void {
  if (value === null || value === undefined) {
    appender.appendNull()
    return
  }
  switch (col.type) {
    case 'VARCHAR':
      appender.appendVarchar(String(value))
      break
    case 'BIGINT': {
      if (typeof value === 'bigint') {
        appender.appendBigInt(value)
        break
      }
      // rows read back from the store (an export being imported) carry BIGINTs as strings: keep every digit
      if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) {
        const b = BigInt(value)
        if (b >= -(2n ** 63n) && b < 2n ** 63n) {
          appender.appendBigInt(b)
          break
        }
      }
      // int64; large ns values (clock offsets) may exceed 2^53 and lose sub-us precision only
      const n = Math.round(Number(value))
      if (!Number.isFinite(n) || Math.abs(n) >= 2 ** 63) throw new RangeError(`${table}.${col.name}: value ${String(value)} is out of range`)
      appender.appendBigInt(BigInt(n))
      break
    }
    case 'INTEGER': {
      const n = Math.round(Number(value))
      if (!Number.isInteger(n) || Math.abs(n) > 2 ** 31 - 1) throw new RangeError(`${table}.${col.name}: value ${String(value)} is out of range`)
      appender.appendInteger(n)
      break
    }
    case 'DOUBLE':
      appender.appendDouble(Number(value))
      break
    case 'BOOLEAN':
      appender.appendBoolean(Boolean(value))
      break
    default:
      throw new Error(`internal: ${table}.${col.name} has unsupported type ${String(col.type)}`)
  }
}

/** A string as a SQL literal, only for the statements that take no parameters (ATTACH paths). */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

function storeOpenError(path: string, error: unknown): UserError {
  const msg = error instanceof Error ? error.message : String(error)
  if (/lock/i.test(msg)) {
    return new UserError(`${path}: the store is in use by another process (DuckDB allows one writer); wait for it to finish or use another --db`)
  }
  if (/not a valid DuckDB database|Invalid Input Error|unable to open/i.test(msg)) {
    return new UserError(`${path}: cannot open as a DuckDB store: ${msg.split('\n')[0]}`)
  }
  return new UserError(`${path}: cannot open the store: ${msg.split('\n')[0]}`)
}
