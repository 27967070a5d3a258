/**
 * manifest.json of an export folder: what it holds and how it was made. `import` and `merge`
 * recognise an export by it (format_name) and check every table file against it before they
 * write anything.
 *
 *   {"format_name": "agentcgroup-export", "format_version": 1,
 *    "schema_version": 2,            // datasets/schema.ts SCHEMA_VERSION of the store
 *    "agentcgroup_version": "0.1.0", "created_at": "2026-...Z",
 *    "command": "agentcgroup export --format parquet --out shard-0",
 *    "store": "/abs/path/agentcgroup.duckdb", "format": "parquet",
 *    "filter": {"datasets": [], "run_ids": []},   // empty: everything
 *    "runs": 184,
 *    "tables": [{"name": "runs", "file": "runs.parquet", "rows": 184, "bytes": 81234,
 *                "columns": [{"name": "run_id", "type": "VARCHAR", "doc": "..."}, ...]}, ...]}
 */
import {existsSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {UserError} from '../errors.js'
import {EXPORT_FORMATS, type ExportFormat} from './table-files.js'

export const MANIFEST_FILE = 'manifest.json'
export const MANIFEST_FORMAT_NAME = 'agentcgroup-export'
export const MANIFEST_FORMAT_VERSION = 1

export interface ManifestColumn {
  name: string
  type: string
  doc: string
}

export interface ManifestTable {
  name: string
  file: string
  rows: number
  bytes: number
  columns: ManifestColumn[]
}

export interface Manifest {
  format_name: typeof MANIFEST_FORMAT_NAME
  format_version: number
  schema_version: number
  agentcgroup_version: string
  created_at: string
  command: string
  store: string
  format: ExportFormat
  filter: {datasets: string[]; run_ids: string[]}
  runs: number
  tables: ManifestTable[]
}

/** True when dir holds a manifest.json that names itself an agentcgroup export. */
export function isExportDir(dir: string): boolean {
  const file = join(dir, MANIFEST_FILE)
  if (!existsSync(file) || !statSync(dir).isDirectory()) return false
  // a damaged manifest of ours still counts: readManifest then says what is wrong with it
  return readFileSync(file, 'utf8').includes(MANIFEST_FORMAT_NAME)
}

/**
 * Reads and checks a manifest and the files it lists: every file present and of the listed
 * size (a truncated copy of a shard fails here, before anything is written).
 */
export function readManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE)
  if (!existsSync(file)) throw new UserError(`${dir}: not an agentcgroup export (no ${MANIFEST_FILE})`)
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new UserError(`${file}: malformed JSON (${(error as Error).message.split('\n')[0]})`)
  }
  const m = raw as Partial<Manifest>
  const bad = (what: string) => new UserError(`${file}: ${what}`)
  if (m.format_name !== MANIFEST_FORMAT_NAME) throw bad(`format_name is ${JSON.stringify(m.format_name)}, not "${MANIFEST_FORMAT_NAME}"`)
  if (m.format_version !== MANIFEST_FORMAT_VERSION) throw bad(`format_version ${String(m.format_version)} is not supported (this agentcgroup reads ${MANIFEST_FORMAT_VERSION})`)
  if (!Number.isInteger(m.schema_version) || (m.schema_version as number) < 1) throw bad('schema_version is missing or not a positive integer')
  if (!EXPORT_FORMATS.includes(m.format as ExportFormat)) throw bad(`format ${JSON.stringify(m.format)} is not one of ${EXPORT_FORMATS.join(', ')}`)
  if (!Array.isArray(m.tables) || !m.tables.some((t) => t?.name === 'runs')) throw bad('tables is missing or lists no runs table')
  for (const [i, t] of m.tables.entries()) {
    const where = `tables[${i}]`
    if (typeof t?.name !== 'string' || typeof t.file !== 'string' || !Number.isInteger(t.rows) || !Array.isArray(t.columns)) {
      throw bad(`${where}: needs name, file, rows and columns`)
    }
    // the file name must stay inside the folder
    if (t.file.includes('/') || t.file.includes('\\') || t.file.startsWith('.')) throw bad(`${where}.file ${JSON.stringify(t.file)} is not a plain file name`)
    const path = join(dir, t.file)
    if (!existsSync(path)) throw new UserError(`${path}: missing (listed in ${file} for table ${t.name})`)
    const size = statSync(path).size
    if (Number.isInteger(t.bytes) && size !== t.bytes) {
      throw new UserError(`${path}: ${size} bytes, the manifest says ${t.bytes} (truncated or changed after export)`)
    }
  }
  return m as Manifest
}
