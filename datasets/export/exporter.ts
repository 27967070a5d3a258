/**
 * `agentcgroup export`: every table of the store (schema.ts TABLES, whatever it holds when this
 * runs) to one file each through DuckDB's COPY, plus manifest.json (manifest.ts). Run filters
 * (--dataset, --run) narrow the per-run tables (schema.ts RUN_TABLES); the others (replays)
 * are exported whole. The folder appears complete or not at all: files are written to a sibling temp
 * folder that is renamed into place at the end.
 */
import {existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {basename, dirname, join, resolve} from 'node:path'

import {UserError} from '../errors.js'
import {RUN_TABLES, TABLES, type TableName} from '../schema.js'
import type {SqlParam, Store} from '../store.js'
import {MANIFEST_FILE, MANIFEST_FORMAT_NAME, MANIFEST_FORMAT_VERSION, type Manifest, type ManifestTable} from './manifest.js'
import {copyOptions, type ExportFormat, tableFile} from './table-files.js'
import {packageVersion} from './package-info.js'

export interface ExportOptions {
  outDir: string
  format: ExportFormat
  datasets?: string[]
  runIds?: string[]
  /** the command line that made it, recorded in the manifest */
  command: string
  /** replace an existing non-empty folder */
  force?: boolean
}

export interface ExportResult {
  out: string
  format: ExportFormat
  schema_version: number
  runs: number
  tables: {name: string; file: string; rows: number; bytes: number}[]
  bytes: number
  elapsed_s: number
}

export async function exportStore(store: Store, opts: ExportOptions): Promise<ExportResult> {
  const t0 = performance.now()
  const out = resolve(opts.outDir)
  assertWritableTarget(out, opts.force ?? false)
  const filtered = await selectRuns(store, opts.datasets ?? [], opts.runIds ?? [])
  const schemaVersion = await store.schemaVersion()
  const present = await storeColumns(store)

  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`)
  rmSync(tmp, {force: true, recursive: true})
  mkdirSync(tmp, {recursive: true})
  try {
    const tables: ManifestTable[] = []
    for (const table of Object.keys(TABLES) as TableName[]) {
      const have = present.get(table)
      // a store older than this code may lack a table or columns added since; export what it has
      if (!have) continue
      const columns = TABLES[table].filter((c) => have.has(c.name))
      const file = tableFile(table, opts.format)
      // replay tables are not per run (replay_tenants.run_id names a trace's source): exported whole
      const where = filtered && RUN_TABLES.includes(table) ? ' WHERE run_id IN (SELECT run_id FROM temp.export_run_ids)' : ''
      const rows = await store.query(`COPY (SELECT ${columns.map((c) => c.name).join(', ')} FROM ${table}${where}) TO $file ${copyOptions(opts.format)}`, {
        file: join(tmp, file),
      })
      const bytes = statSync(join(tmp, file)).size
      tables.push({bytes, columns: columns.map((c) => ({doc: c.doc, name: c.name, type: c.type})), file, name: table, rows: Number(rows[0]?.Count ?? 0)})
    }
    const runs = tables.find((t) => t.name === 'runs')?.rows ?? 0
    const manifest: Manifest = {
      agentcgroup_version: packageVersion(),
      command: opts.command,
      created_at: new Date().toISOString(),
      filter: {datasets: opts.datasets ?? [], run_ids: opts.runIds ?? []},
      format: opts.format,
      format_name: MANIFEST_FORMAT_NAME,
      format_version: MANIFEST_FORMAT_VERSION,
      runs,
      schema_version: schemaVersion,
      store: resolve(store.path),
      tables,
    }
    writeFileSync(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n')
    moveIntoPlace(tmp, out)
    return {
      bytes: tables.reduce((s, t) => s + t.bytes, 0),
      elapsed_s: (performance.now() - t0) / 1000,
      format: opts.format,
      out,
      runs,
      schema_version: schemaVersion,
      tables: tables.map(({bytes, file, name, rows}) => ({bytes, file, name, rows})),
    }
  } catch (error) {
    rmSync(tmp, {force: true, recursive: true})
    throw error
  } finally {
    if (filtered) await store.exec('DROP TABLE IF EXISTS temp.export_run_ids')
  }
}

function assertWritableTarget(out: string, force: boolean): void {
  if (!existsSync(out)) return
  if (!statSync(out).isDirectory()) throw new UserError(`${out}: exists and is not a folder`)
  if (readdirSync(out).length > 0 && !force) throw new UserError(`${out}: folder exists and is not empty (pass --force to replace it)`)
}

/**
 * With filters, puts the chosen run ids in a temp table (every COPY filters on it) and returns
 * true; without, false. Unknown datasets or run ids, or filters that match nothing, are errors.
 */
async function selectRuns(store: Store, datasets: string[], runIds: string[]): Promise<boolean> {
  const stored = await store.query('SELECT run_id, dataset FROM runs')
  if (stored.length === 0) throw new UserError(`${store.path}: the store holds no runs; nothing to export`)
  if (datasets.length === 0 && runIds.length === 0) return false
  const known = new Map(stored.map((r) => [String(r.run_id), String(r.dataset)]))
  const knownDatasets = new Set(known.values())
  const missingDs = datasets.filter((d) => !knownDatasets.has(d))
  if (missingDs.length > 0) throw new UserError(`${store.path}: no dataset ${missingDs.join(', ')} (datasets here: ${[...knownDatasets].sort().join(', ')})`)
  const missingRuns = runIds.filter((r) => !known.has(r))
  if (missingRuns.length > 0) throw new UserError(`${store.path}: no run ${missingRuns.slice(0, 5).join(', ')}${missingRuns.length > 5 ? ` (and ${missingRuns.length - 5} more)` : ''}`)
  const chosen = [...known].filter(([id, ds]) => (datasets.length === 0 || datasets.includes(ds)) && (runIds.length === 0 || runIds.includes(id))).map(([id]) => id)
  if (chosen.length === 0) throw new UserError(`no run is in dataset ${datasets.join(', ')} and among the --run ids given; nothing to export`)
  await store.exec('CREATE OR REPLACE TEMP TABLE export_run_ids (run_id VARCHAR PRIMARY KEY)')
  // the ids are bound, a chunk at a time, never spliced into SQL
  for (let i = 0; i < chosen.length; i += 500) {
    const chunk = chosen.slice(i, i + 500)
    const params: Record<string, SqlParam> = Object.fromEntries(chunk.map((id, k) => [`r${k}`, id]))
    await store.exec(`INSERT INTO temp.export_run_ids VALUES ${chunk.map((_, k) => `($r${k})`).join(', ')}`, params)
  }
  return true
}

async function storeColumns(store: Store): Promise<Map<string, Set<string>>> {
  const rows = await store.query("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_catalog = current_database()")
  const map = new Map<string, Set<string>>()
  for (const r of rows) {
    const t = String(r.table_name)
    if (!map.has(t)) map.set(t, new Set())
    map.get(t)!.add(String(r.column_name))
  }
  return map
}

/** Renames tmp to out; an existing out (only with --force) is swapped out and removed after. */
function moveIntoPlace(tmp: string, out: string): void {
  if (!existsSync(out)) {
    renameSync(tmp, out)
    return
  }
  const old = `${tmp}.old`
  renameSync(out, old)
  renameSync(tmp, out)
  rmSync(old, {force: true, recursive: true})
}
