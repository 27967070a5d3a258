/**
 * Importing an export folder (datasets/export: manifest.json + one file per table) gives back
 * the rows that were exported, unchanged (run_id, source_path and imported_at_us included).
 * The whole folder is checked first (manifest, files, schema version, row counts, rows that
 * belong to no run); then each run is written as one transaction through Store.replaceRun,
 * replacing a stored run with the same id, as any import does.
 */
import {resolve} from 'node:path'

import {isExportDir, type Manifest, readManifest} from '../export/manifest.js'
import {type FileColumn, otherTablesByKey, selectFromFile} from '../export/table-files.js'
import {UserError} from '../errors.js'
import {emptyRunRecord, type RunRecord, type RunRow} from '../model.js'
import {RUN_TABLES, SCHEMA_VERSION, TABLES, type TableName} from '../schema.js'
import {RECORD_KEYS, type SqlParam, type Store} from '../store.js'
import type {ImportedRun, ImportFailure} from './importer.js'

export interface ExportImportOptions {
  dataset?: string
  strict?: boolean
  onProgress?: (done: number, total: number, current: string) => void
}

export interface ExportImportResult {
  imported: ImportedRun[]
  failed: ImportFailure[]
  runsFound: number
  stoppedEarly: boolean
}

/** Splits import paths into export folders (their manifest.json) and recordings. */
export function splitExportPaths(paths: string[]): {exportDirs: string[]; recordingPaths: string[]} {
  const exportDirs = paths.filter((p) => isExportDir(p))
  return {exportDirs, recordingPaths: paths.filter((p) => !exportDirs.includes(p))}
}

export async function importExports(store: Store, dirs: string[], opts: ExportImportOptions): Promise<ExportImportResult> {
  const out: ExportImportResult = {failed: [], imported: [], runsFound: 0, stoppedEarly: false}
  // runs stored before (or by recordings of this same import) are replaced; new ones skip the deletes
  const stored = await store.runIds()
  for (const dir of dirs) {
    let runIds: string[]
    try {
      if (opts.dataset !== undefined) throw new UserError(`${dir}: --dataset cannot rename the runs of an export (their run ids name their dataset)`)
      runIds = await stageExport(store, dir)
    } catch (error) {
      out.failed.push(failure(dir, '', error))
      await dropStaged(store)
      if (opts.strict) return {...out, stoppedEarly: true}
      continue
    }
    out.runsFound += runIds.length
    try {
      let batch = new Map<string, RunRecord>()
      for (const [i, runId] of runIds.entries()) {
        opts.onProgress?.(i, runIds.length, runId)
        try {
          // rows are read a batch of runs at a time: one query per table, not per run and table
          if (i % READ_BATCH === 0) batch = await stagedRecords(store, runIds.slice(i, i + READ_BATCH))
          const record = batch.get(runId)!
          batch.delete(runId)
          await store.replaceRun(record, {isNew: !stored.has(runId)})
          stored.add(runId)
          out.imported.push({run_id: runId, samples: record.samples.length, status: record.run.status, tool_calls: record.toolCalls.length, valid: Boolean(record.run.valid)})
        } catch (error) {
          out.failed.push(failure(dir, runId, error))
          if (opts.strict) return {...out, stoppedEarly: true}
        }
      }
      await writeOtherTables(store)
      opts.onProgress?.(runIds.length, runIds.length, '')
    } finally {
      await dropStaged(store)
    }
  }
  return out
}

const staged = (table: string) => `temp.import_export_${table}`

/**
 * Loads every table file into a temp table of the store's connection (temp tables are never
 * written to the store file) and checks it; returns the run ids, sorted.
 */
async function stageExport(store: Store, dir: string): Promise<string[]> {
  const manifest = readManifest(dir)
  if (manifest.schema_version > SCHEMA_VERSION) {
    throw new UserError(`${dir}: exported from schema version ${manifest.schema_version}, newer than this agentcgroup (${SCHEMA_VERSION}); upgrade agentcgroup`)
  }
  for (const table of Object.keys(TABLES) as TableName[]) {
    const listed = manifest.tables.find((t) => t.name === table)
    const columns = TABLES[table].map((c) => ({name: c.name, type: c.type}))
    const file = listed ? resolve(dir, listed.file) : null
    const fileColumns = listed ? knownTypes(table, listed.columns) : []
    // a table the export predates is empty
    const select = file ? selectFromFile(manifest.format, fileColumns, columns) : `SELECT ${columns.map((c) => `NULL::${c.type} AS ${c.name}`).join(', ')} LIMIT 0`
    try {
      await store.exec(`CREATE OR REPLACE TEMP TABLE import_export_${table} AS ${select}`, file ? {file} : {})
    } catch (error) {
      throw new UserError(`${file}: cannot read as ${manifest.format}: ${(error as Error).message.split('\n')[0]}`)
    }
    if (listed) await checkRowCount(store, table, listed.rows, file!)
  }
  return checkRuns(store, dir, manifest)
}

/** Types come from our schema; a column it no longer has is read as text and dropped. */
function knownTypes(table: TableName, columns: {name: string; type: string}[]): FileColumn[] {
  return columns.map((c) => ({name: c.name, type: TABLES[table].find((k) => k.name === c.name)?.type ?? 'VARCHAR'}))
}

async function checkRowCount(store: Store, table: string, expected: number, file: string): Promise<void> {
  const [{n}] = await store.query(`SELECT count(*)::BIGINT AS n FROM ${staged(table)}`)
  if (Number(n) !== expected) throw new UserError(`${file}: ${String(n)} rows, the manifest says ${expected}`)
}

async function checkRuns(store: Store, dir: string, manifest: Manifest): Promise<string[]> {
  const runsFile = resolve(dir, manifest.tables.find((t) => t.name === 'runs')!.file)
  const dups = await store.query(`SELECT run_id, count(*)::INTEGER AS n FROM ${staged('runs')} GROUP BY run_id HAVING count(*) > 1 OR run_id IS NULL LIMIT 3`)
  if (dups.length > 0) throw new UserError(`${runsFile}: run id ${JSON.stringify(dups[0].run_id)} appears ${String(dups[0].n)} times`)
  for (const table of RUN_TABLES.filter((t) => t !== 'runs')) {
    const orphans = await store.query(
      `SELECT run_id, count(*)::INTEGER AS n FROM ${staged(table)} WHERE run_id IS NULL OR run_id NOT IN (SELECT run_id FROM ${staged('runs')}) GROUP BY run_id LIMIT 1`,
    )
    if (orphans.length > 0) {
      const file = manifest.tables.find((t) => t.name === table)?.file ?? table
      throw new UserError(`${resolve(dir, file)}: ${String(orphans[0].n)} row(s) of run ${JSON.stringify(orphans[0].run_id)}, which ${runsFile} does not list`)
    }
  }
  const rows = await store.query(`SELECT run_id FROM ${staged('runs')} ORDER BY run_id`)
  return rows.map((r) => String(r.run_id))
}

const READ_BATCH = 64

/** The records of some runs, built from the staged tables. */
async function stagedRecords(store: Store, runIds: string[]): Promise<Map<string, RunRecord>> {
  const params: Record<string, SqlParam> = Object.fromEntries(runIds.map((id, k) => [`r${k}`, id]))
  const inList = `run_id IN (${runIds.map((_, k) => `$r${k}`).join(', ')})`
  const records = new Map<string, RunRecord>()
  for (const run of await store.query(`SELECT * FROM ${staged('runs')} WHERE ${inList}`, params)) {
    records.set(String(run.run_id), emptyRunRecord(run as unknown as RunRow))
  }
  for (const table of RUN_TABLES.filter((t) => t !== 'runs')) {
    // staged in file order, which a filter keeps: rows come back as they were exported
    for (const row of await store.query(`SELECT * FROM ${staged(table)} WHERE ${inList}`, params)) {
      const record = records.get(String(row.run_id)) as unknown as Record<string, unknown[]>
      record[RECORD_KEYS[table]].push(row)
    }
  }
  return records
}

/**
 * Tables that are not per run (the replay tables) are written in one transaction: a unit
 * (all rows of one replay_id, across its tables) replaces the stored unit of the same id, so
 * importing an export twice keeps one copy; a table without a key is appended.
 */
async function writeOtherTables(store: Store): Promise<void> {
  const groups = otherTablesByKey()
  if (groups.size === 0) return
  await store.transaction(async () => {
    for (const [key, tables] of groups) {
      if (key !== null) {
        const ids = tables.map((t) => `SELECT ${key} FROM ${staged(t)}`).join(' UNION ')
        for (const t of tables) await store.exec(`DELETE FROM ${t} WHERE ${key} IN (${ids})`)
      }
      for (const t of tables) {
        const cols = TABLES[t].map((c) => c.name).join(', ')
        await store.exec(`INSERT INTO ${t} (${cols}) SELECT ${cols} FROM ${staged(t)}`)
      }
    }
  })
}

async function dropStaged(store: Store): Promise<void> {
  for (const table of Object.keys(TABLES)) await store.exec(`DROP TABLE IF EXISTS ${staged(table)}`)
}

function failure(dir: string, runId: string, error: unknown): ImportFailure {
  const msg = error instanceof Error ? error.message.split('\n')[0] : String(error)
  return {error: error instanceof UserError ? msg : `${dir}: ${runId ? `run ${runId}: ` : ''}${msg}`, field: null, file: null, line: null, path: dir, run_id: runId}
}
