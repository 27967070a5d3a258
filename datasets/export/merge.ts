/**
 * `agentcgroup merge OUT IN...`: unions the stores and export folders of shards into one
 * store. Every input is checked before OUT is opened (exists, is a store or an export,
 * same schema version as this agentcgroup, its files complete, no run id (nor replay id)
 * twice across the inputs and OUT), so a bad input writes nothing; the rows are then copied by DuckDB
 * (INSERT ... SELECT from an ATTACHed store or from the exported files) in one transaction.
 */
import {existsSync, rmSync, statSync} from 'node:fs'
import {resolve} from 'node:path'

import {UserError} from '../errors.js'
import {SCHEMA_VERSION, TABLES, type TableName} from '../schema.js'
import {sqlString, Store} from '../store.js'
import {isExportDir, type Manifest, readManifest} from './manifest.js'
import {otherTablesByKey, selectFromFile} from './table-files.js'

export interface MergeInput {
  path: string
  kind: 'store' | 'export'
  schema_version: number
  runs: number
}

export interface MergeResult {
  out: string
  created: boolean
  inputs: MergeInput[]
  runs_added: number
  tables: {name: string; rows_added: number}[]
  elapsed_s: number
}

interface Checked extends MergeInput {
  /** per unit key (run_id, replay_id), the ids this input holds */
  keys: Map<string, string[]>
  manifest?: Manifest
}

export async function mergeInto(outPath: string, inputPaths: string[]): Promise<MergeResult> {
  const t0 = performance.now()
  const out = resolve(outPath)
  if (inputPaths.length === 0) throw new UserError('merge: name at least one input store or export folder')
  const paths = inputPaths.map((p) => resolve(p))
  if (paths.includes(out)) throw new UserError(`${out}: is both the output and an input`)
  const again = paths.find((p, i) => paths.indexOf(p) !== i)
  if (again) throw new UserError(`${again}: given twice`)

  const inputs: Checked[] = []
  for (const p of paths) inputs.push(await checkInput(p))
  const existed = existsSync(out)
  const outKeys = existed ? (await checkInput(out)).keys : new Map<string, string[]>()
  assertNoDuplicates(out, outKeys, inputs)

  let store: Store | undefined
  try {
    store = await Store.open(out)
    const added = await copyAll(store, inputs)
    store.close()
    store = undefined
    return {
      created: !existed,
      elapsed_s: (performance.now() - t0) / 1000,
      inputs: inputs.map(({kind, path, runs, schema_version}) => ({kind, path, runs, schema_version})),
      out,
      runs_added: added.get('runs') ?? 0,
      tables: [...added].map(([name, rows_added]) => ({name, rows_added})),
    }
  } catch (error) {
    store?.close()
    // a store that merge created is removed again: nothing written
    if (!existed) for (const f of [out, `${out}.wal`]) rmSync(f, {force: true})
    throw error
  }
}

/** What an input is, its schema version and unit ids; every failure is one line naming it. */
async function checkInput(path: string): Promise<Checked> {
  if (!existsSync(path)) throw new UserError(`${path}: no such store or export folder`)
  if (statSync(path).isDirectory()) {
    if (!isExportDir(path)) throw new UserError(`${path}: not an export folder (no manifest.json of agentcgroup export) and not a store file`)
    const manifest = readManifest(path)
    assertVersion(path, manifest.schema_version)
    const scratch = await Store.open(':memory:')
    try {
      const keys = await unitIds(path, (table, key) => {
        const listed = manifest.tables.find((t) => t.name === table)
        if (!listed) return null
        const file = resolve(path, listed.file)
        return {
          file,
          read: () => scratch.query(`SELECT DISTINCT ${key} AS id FROM (${selectFromFile(manifest.format, listed.columns, [{name: key, type: 'VARCHAR'}])})`, {file}),
        }
      })
      return {keys, kind: 'export', manifest, path, runs: keys.get('run_id')?.length ?? 0, schema_version: manifest.schema_version}
    } finally {
      scratch.close()
    }
  }
  const store = await Store.open(path, {readOnly: true})
  try {
    const version = await store.schemaVersion()
    assertVersion(path, version)
    const keys = await unitIds(path, (table, key) => ({file: path, read: () => store.query(`SELECT DISTINCT ${key} AS id FROM ${table}`)}))
    return {keys, kind: 'store', path, runs: keys.get('run_id')?.length ?? 0, schema_version: version}
  } finally {
    store.close()
  }
}

type Reader = (table: TableName, key: string) => {file: string; read: () => Promise<Record<string, unknown>[]>} | null

/**
 * Per unit key, the ids an input holds: run ids from its runs table, replay ids from every
 * replay table (a replay is one unit across them).
 */
async function unitIds(path: string, reader: Reader): Promise<Map<string, string[]>> {
  const groups = new Map<string, TableName[]>([['run_id', ['runs']]])
  for (const [key, tables] of otherTablesByKey()) if (key !== null) groups.set(key, tables)
  const out = new Map<string, string[]>()
  for (const [key, tables] of groups) {
    const ids = new Set<string>()
    for (const table of tables) {
      const r = reader(table, key)
      if (!r) continue
      try {
        for (const row of await r.read()) if (row.id !== null) ids.add(String(row.id))
      } catch (error) {
        throw new UserError(`${r.file}: cannot read ${table}: ${(error as Error).message.split('\n')[0]}`)
      }
    }
    out.set(key, [...ids].sort())
  }
  return out
}

function assertVersion(path: string, version: number): void {
  if (version !== SCHEMA_VERSION) {
    throw new UserError(`${path}: schema version ${version}, this agentcgroup writes ${SCHEMA_VERSION}; merge only shards made by the same agentcgroup version (re-export them with it)`)
  }
}

/** No run (or replay) may come from two inputs, or from an input and OUT. */
function assertNoDuplicates(out: string, outKeys: Map<string, string[]>, inputs: Checked[]): void {
  for (const key of new Set([...outKeys.keys(), ...inputs.flatMap((i) => [...i.keys.keys()])])) {
    const owner = new Map<string, string>((outKeys.get(key) ?? []).map((id) => [id, `${out} (the output)`]))
    const dups: string[] = []
    for (const input of inputs) {
      for (const id of input.keys.get(key) ?? []) {
        const first = owner.get(id)
        if (first !== undefined) dups.push(`${id} in ${first} and ${input.path}`)
        else owner.set(id, input.path)
      }
    }
    if (dups.length > 0) {
      const what = key.replace(/_id$/, '')
      throw new UserError(`duplicate ${what} id ${dups[0]}${dups.length > 1 ? ` (and ${dups.length - 1} more)` : ''}; merge keeps every ${what} once and will not pick one; nothing written`)
    }
  }
}

/** Copies every table of every input in one transaction; returns rows added per table. */
async function copyAll(store: Store, inputs: Checked[]): Promise<Map<string, number>> {
  const added = new Map<string, number>()
  const stores = inputs.filter((i) => i.kind === 'store')
  for (const [k, input] of stores.entries()) await store.exec(`ATTACH ${sqlString(input.path)} AS merge_in${k} (READ_ONLY)`)
  try {
    await store.transaction(async () => {
      for (const table of Object.keys(TABLES) as TableName[]) {
        const cols = TABLES[table].map((c) => c.name).join(', ')
        for (const input of inputs) {
          let n: number
          if (input.kind === 'store') {
            const rows = await store.query(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM merge_in${stores.indexOf(input)}.${table}`)
            n = Number(rows[0]?.Count ?? 0)
          } else {
            n = await copyExportTable(store, input, table, cols)
          }
          added.set(table, (added.get(table) ?? 0) + n)
        }
      }
    })
  } finally {
    for (const k of stores.keys()) await store.exec(`DETACH DATABASE IF EXISTS merge_in${k}`)
  }
  return added
}

async function copyExportTable(store: Store, input: Checked, table: TableName, cols: string): Promise<number> {
  const listed = input.manifest!.tables.find((t) => t.name === table)
  // a table the export predates adds nothing
  if (!listed) return 0
  const file = resolve(input.path, listed.file)
  const columns = TABLES[table].map((c) => ({name: c.name, type: c.type}))
  let n: number
  try {
    const rows = await store.query(`INSERT INTO ${table} (${cols}) ${selectFromFile(input.manifest!.format, listed.columns, columns)}`, {file})
    n = Number(rows[0]?.Count ?? 0)
  } catch (error) {
    throw new UserError(`${file}: cannot read as ${input.manifest!.format}: ${(error as Error).message.split('\n')[0]}`)
  }
  if (n !== listed.rows) throw new UserError(`${file}: ${n} rows, the manifest says ${listed.rows}; nothing written`)
  return n
}
