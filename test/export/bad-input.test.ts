/**
 * Bad inputs to merge and to importing an export: schema-version mismatches, duplicate run
 * ids, missing, truncated or corrupt files, rows without their run. Each gives one line naming
 * the file and the problem, and writes nothing: no OUT store appears, an existing one is
 * unchanged, an import target keeps no run of the bad export.
 */
import {copyFileSync, cpSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {exportStore} from '../../datasets/export/exporter.js'
import type {Manifest} from '../../datasets/export/manifest.js'
import {mergeInto} from '../../datasets/export/merge.js'
import {importRecordings, type ImportResult} from '../../datasets/import/importer.js'
import {SCHEMA_VERSION} from '../../datasets/schema.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'
import {addOtherRows, cleanup, diffStores, expectIdentical, exportOf, shardStore, writeRecordings} from './helpers.js'

const dirs: string[] = []
afterAll(() => cleanup(dirs))

let dir: string
let a: string
let b: string
let exportA: string
let existing: string
let existingCopy: string

beforeAll(async () => {
  dir = tempDir()
  dirs.push(dir)
  const [alpha, beta] = writeRecordings(join(dir, 'recordings'))
  a = join(dir, 'shard-0.duckdb')
  b = join(dir, 'shard-1.duckdb')
  await shardStore(a, alpha, 'edge/tricky__values-1/attempt_1')
  await shardStore(b, beta, 'edge/tricky__values-2/attempt_1')
  exportA = await exportOf(a, join(dir, 'export-0'))
  existing = join(dir, 'existing.duckdb')
  await mergeInto(existing, [b])
  existingCopy = join(dir, 'existing-copy.duckdb')
  copyFileSync(existing, existingCopy)
})

/** A copy of export-0 to damage. */
function damaged(name: string, fn: (dir: string, manifest: Manifest) => void): string {
  const target = join(dir, name)
  cpSync(exportA, target, {recursive: true})
  const file = join(target, 'manifest.json')
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as Manifest
  fn(target, manifest)
  writeFileSync(file, JSON.stringify(manifest))
  return target
}

/** The manifest's size for a file changed on purpose (so the size check passes). */
function resize(manifest: Manifest, exportDir: string, table: string): void {
  const t = manifest.tables.find((x) => x.name === table)!
  t.bytes = statSync(join(exportDir, t.file)).size
}

async function expectMergeRefused(inputs: string[], message: RegExp): Promise<void> {
  const fresh = join(dir, 'never.duckdb')
  await expect(mergeInto(fresh, inputs)).rejects.toThrow(message)
  expect(existsSync(fresh)).toBe(false)
  expect(existsSync(`${fresh}.wal`)).toBe(false)
  await expect(mergeInto(existing, inputs)).rejects.toThrow(message)
  expectIdentical(await diffStores(existing, existingCopy))
}

describe('merge refuses bad inputs and writes nothing', () => {
  it('a store of another schema version', async () => {
    const old = join(dir, 'old.duckdb')
    copyFileSync(a, old)
    const store = await Store.open(old)
    await store.exec('DELETE FROM schema_version WHERE version = $v', {v: SCHEMA_VERSION})
    store.close()
    await expectMergeRefused([old], new RegExp(`old\\.duckdb: schema version ${SCHEMA_VERSION - 1}, this agentcgroup writes ${SCHEMA_VERSION}; merge only shards made by the same agentcgroup version`))
  })

  it('an export of another schema version', async () => {
    const newer = damaged('newer', (_, m) => {
      m.schema_version = SCHEMA_VERSION + 1
    })
    await expectMergeRefused([newer], new RegExp(`newer: schema version ${SCHEMA_VERSION + 1}, this agentcgroup writes ${SCHEMA_VERSION}`))
  })

  it('the same run in two inputs, or already in OUT', async () => {
    await expectMergeRefused([a, exportA], /duplicate run id alpha\/dask__dask-11628\/attempt_1 in .*shard-0\.duckdb and .*export-0 \(and 2 more\); merge keeps every run once and will not pick one; nothing written/)
    await expect(mergeInto(existing, [b])).rejects.toThrow(/duplicate run id beta\/.* in .*existing\.duckdb \(the output\) and .*shard-1\.duckdb/)
    expectIdentical(await diffStores(existing, existingCopy))
  })

  it('the same replay in two inputs', async () => {
    const c = join(dir, 'shard-2.duckdb')
    await shardStore(c, join(dir, 'recordings', 'nothing-here'), 'edge/tricky__values-3/attempt_1')
    const store = await Store.open(c)
    await addOtherRows(store, 'replay-of/edge/tricky__values-1/attempt_1')
    store.close()
    await expectMergeRefused([a, c], /duplicate replay id replay-of\/edge\/tricky__values-1\/attempt_1 in .*shard-0\.duckdb and .*shard-2\.duckdb; merge keeps every replay once/)
  })

  it('a file the manifest lists is missing, truncated or not Parquet', async () => {
    const missing = damaged('missing', (d) => rmSync(join(d, 'samples.parquet')))
    await expectMergeRefused([missing], /missing\/samples\.parquet: missing \(listed in .*missing\/manifest\.json for table samples\)/)
    const truncated = damaged('truncated', (d) => truncateSync(join(d, 'tool_calls.parquet'), 100))
    await expectMergeRefused([truncated], /truncated\/tool_calls\.parquet: 100 bytes, the manifest says \d+ \(truncated or changed after export\)/)
    const garbage = damaged('garbage', (d, m) => {
      writeFileSync(join(d, 'llm_turns.parquet'), 'this is not parquet at all')
      resize(m, d, 'llm_turns')
    })
    await expectMergeRefused([garbage], /garbage\/llm_turns\.parquet: cannot read as parquet: /)
  })

  it('inputs that are not there, not stores, or OUT itself', async () => {
    await expectMergeRefused([join(dir, 'nope.duckdb')], /nope\.duckdb: no such store or export folder/)
    await expectMergeRefused([join(dir, 'recordings')], /recordings: not an export folder \(no manifest\.json of agentcgroup export\) and not a store file/)
    const text = join(dir, 'notes.txt')
    writeFileSync(text, 'hello')
    await expectMergeRefused([text], /notes\.txt: cannot open as a DuckDB store/)
    await expect(mergeInto(a, [a])).rejects.toThrow(/shard-0\.duckdb: is both the output and an input/)
    const bad = damaged('bad-json', () => {})
    writeFileSync(join(bad, 'manifest.json'), '{"format_name": "agentcgroup-export", ')
    await expectMergeRefused([bad], /bad-json\/manifest\.json: malformed JSON/)
  })
})

describe('importing a bad export writes none of its runs', () => {
  async function importInto(paths: string[], opts: {dataset?: string} = {}): Promise<{result: ImportResult; runs: number}> {
    const target = join(dir, `import-${Math.random().toString(36).slice(2)}.duckdb`)
    const store = await Store.open(target)
    try {
      const result = await importRecordings(store, {paths, ...opts})
      return {result, runs: (await store.runIds()).size}
    } finally {
      store.close()
    }
  }

  it('rows that belong to no run', async () => {
    // runs.parquet of a one-run export in place of the full one: the other runs' rows are orphans
    const one = join(dir, 'one-run')
    const store = await Store.open(a, {readOnly: true})
    await exportStore(store, {command: 'test', format: 'parquet', outDir: one, runIds: ['edge/tricky__values-1/attempt_1']})
    store.close()
    const orphans = damaged('orphans', (d, m) => {
      copyFileSync(join(one, 'runs.parquet'), join(d, 'runs.parquet'))
      resize(m, d, 'runs')
      m.tables.find((t) => t.name === 'runs')!.rows = 1
    })
    const {result, runs} = await importInto([orphans])
    expect(runs).toBe(0)
    expect(result.failed).toHaveLength(1)
    expect(result.failed[0].error).toMatch(/orphans\/phases\.parquet: \d+ row\(s\) of run "alpha\/.*", which .*orphans\/runs\.parquet does not list/)
  })

  it('row counts that disagree with the manifest, a newer schema, a renaming --dataset', async () => {
    const counts = damaged('counts', (_, m) => {
      m.tables.find((t) => t.name === 'samples')!.rows += 1
    })
    let r = await importInto([counts])
    expect(r.runs).toBe(0)
    expect(r.result.failed[0].error).toMatch(/counts\/samples\.parquet: \d+ rows, the manifest says \d+$/)

    const newer = damaged('newer-import', (_, m) => {
      m.schema_version = SCHEMA_VERSION + 1
    })
    r = await importInto([newer])
    expect(r.runs).toBe(0)
    expect(r.result.failed[0].error).toMatch(new RegExp(`newer-import: exported from schema version ${SCHEMA_VERSION + 1}, newer than this agentcgroup \\(${SCHEMA_VERSION}\\); upgrade agentcgroup`))

    r = await importInto([exportA], {dataset: 'renamed'})
    expect(r.runs).toBe(0)
    expect(r.result.failed[0].error).toMatch(/export-0: --dataset cannot rename the runs of an export/)
  })

  it('a missing file, reported before anything is read', async () => {
    const missing = damaged('missing-import', (d) => rmSync(join(d, 'transcripts.parquet')))
    const {result, runs} = await importInto([missing])
    expect(runs).toBe(0)
    expect(result.failed.map((f) => f.error)).toEqual([expect.stringMatching(/missing-import\/transcripts\.parquet: missing \(listed in .*manifest\.json for table transcripts\)$/)])
  })
})
