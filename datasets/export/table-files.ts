/**
 * One file per table, written and read by DuckDB itself (COPY ... TO, read_parquet/read_csv/
 * read_json), so what pandas, Polars, Spark or another DuckDB reads is exactly what a later
 * `import` or `merge` reads back.
 *
 *   parquet  <table>.parquet  zstd; column types from the schema (BIGINT stays INT64)
 *   csv      <table>.csv      RFC 4180: header row, ',' and '"' (doubled inside quotes);
 *                             NULL is an empty field, the empty string is "" (read back with
 *                             allow_quoted_nulls=false, so the two stay apart)
 *   json     <table>.json     newline-delimited JSON, one object per row, null for NULL
 *
 * CSV and JSON carry no types: readers take the column names and types from the manifest
 * and schema.ts, never from sniffing.
 */
import {RUN_TABLES, TABLES, type ColumnType, type TableName} from '../schema.js'

export const EXPORT_FORMATS = ['parquet', 'csv', 'json'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** A transcript line is a few MB; DuckDB's CSV/JSON readers stop at 2 MB / 16 MB by default. */
const MAX_FIELD_BYTES = 512 * 1024 * 1024

const IDENT_RE = /^[a-z_][a-z0-9_]*$/
const TYPE_RE = /^[A-Z][A-Z0-9_]*$/

export function tableFile(table: string, format: ExportFormat): string {
  return `${table}.${format}`
}

/** COPY options per format (the statement's file name is a bound parameter). */
export function copyOptions(format: ExportFormat): string {
  switch (format) {
    case 'parquet':
      return "(FORMAT parquet, COMPRESSION zstd)"
    case 'csv':
      return "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"')"
    case 'json':
      return '(FORMAT json)'
  }
}

export interface FileColumn {
  name: string
  type: string
}

/**
 * A SELECT over one exported file ($file bound by the caller) giving `columns` in that order:
 * a column the file lacks (an older export) reads as NULL, one it has beyond them is ignored.
 */
export function selectFromFile(format: ExportFormat, fileColumns: FileColumn[], columns: {name: string; type: ColumnType}[]): string {
  for (const c of fileColumns) {
    // names and types are spliced into SQL: only plain identifiers pass
    if (!IDENT_RE.test(c.name) || !TYPE_RE.test(c.type)) throw new Error(`bad column ${JSON.stringify(c)}`)
  }
  const present = new Set(fileColumns.map((c) => c.name))
  const list = columns.map((c) => (present.has(c.name) ? c.name : `NULL::${c.type} AS ${c.name}`)).join(', ')
  return `SELECT ${list} FROM ${readFunction(format, fileColumns)}`
}

function readFunction(format: ExportFormat, fileColumns: FileColumn[]): string {
  const struct = `{${fileColumns.map((c) => `'${c.name}': '${c.type}'`).join(', ')}}`
  switch (format) {
    case 'parquet':
      return 'read_parquet($file)'
    case 'csv':
      return `read_csv($file, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = ${MAX_FIELD_BYTES}, columns = ${struct})`
    case 'json':
      return `read_json($file, format = 'newline_delimited', auto_detect = false, maximum_object_size = ${MAX_FIELD_BYTES}, columns = ${struct})`
  }
}

/** The columns a table's file holds, as written by this version (schema.ts order). */
export function schemaColumns(table: TableName): FileColumn[] {
  return TABLES[table].map((c) => ({name: c.name, type: c.type}))
}

/**
 * The column that groups a table's rows into units replaced or merged as a whole: run_id for
 * the per-run tables, else the table's leading *_id column (replay_id of the replay tables),
 * else none (rows are appended).
 */
export function unitKey(table: TableName): string | null {
  if (RUN_TABLES.includes(table)) return 'run_id'
  const first = TABLES[table][0]?.name
  return first !== undefined && first.endsWith('_id') ? first : null
}

/** Tables outside RUN_TABLES, grouped by their unit key (null: no key). */
export function otherTablesByKey(): Map<string | null, TableName[]> {
  const groups = new Map<string | null, TableName[]>()
  for (const table of Object.keys(TABLES) as TableName[]) {
    if (RUN_TABLES.includes(table)) continue
    const key = unitKey(table)
    groups.set(key, [...(groups.get(key) ?? []), table])
  }
  return groups
}
