/**
 * Export and merge benchmark on the paper's shipped dataset (184 runs), all in a temp dir:
 *   1. import the raw recordings into a fresh store (the baseline, and the bytes of raw JSON);
 *   2. export it as Parquet, CSV and JSON: seconds and bytes, against the raw JSON;
 *   3. import the Parquet export back: seconds, and that every table matches row for row;
 *   4. cut the store into 16 shards (shardSlice over run ids, each shard exported and imported
 *      as its own store, as 16 pods would leave them), then merge the 16 shard stores, and
 *      the 16 shard exports: seconds, and that the merge equals the source.
 * Usage: npm run bench:export [-- <recordings folder>] (default ../shared/datasets/agentcgroup-paper)
 */
import {existsSync, mkdtempSync, rmSync, statSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'

import {shardSlice} from '../datasets/catalog/shard.js'
import {exportStore} from '../datasets/export/exporter.js'
import {mergeInto} from '../datasets/export/merge.js'
import {EXPORT_FORMATS} from '../datasets/export/table-files.js'
import {importRecordings} from '../datasets/import/importer.js'
import {TABLES} from '../datasets/schema.js'
import {sqlString, Store} from '../datasets/store.js'
import {recordingBytes} from './recording-bytes.js'
import {paperDataPath} from './paper-data.js'

const SHARDS = 16

async function timed<T>(fn: () => Promise<T>): Promise<{s: number; value: T}> {
  const t0 = performance.now()
  const value = await fn()
  return {s: (performance.now() - t0) / 1000, value}
}

async function withStore<T>(path: string, readOnly: boolean, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(path, {readOnly})
  try {
    return await fn(store)
  } finally {
    store.close()
  }
}

/** Tables whose rows differ between two stores (EXCEPT ALL both ways); [] when identical. */
async function differing(a: string, b: string): Promise<string[]> {
  return withStore(':memory:', false, async (s) => {
    await s.exec(`ATTACH ${sqlString(a)} AS a (READ_ONLY)`)
    await s.exec(`ATTACH ${sqlString(b)} AS b (READ_ONLY)`)
    const bad: string[] = []
    for (const [t, columns] of Object.entries(TABLES)) {
      const cols = columns.map((c) => c.name).join(', ')
      const [r] = await s.query(
        `SELECT (SELECT count(*) FROM (SELECT ${cols} FROM a.${t} EXCEPT ALL SELECT ${cols} FROM b.${t})) + (SELECT count(*) FROM (SELECT ${cols} FROM b.${t} EXCEPT ALL SELECT ${cols} FROM a.${t}))::BIGINT AS n`,
      )
      if (Number(r.n) !== 0) bad.push(t)
    }
    return bad
  })
}

const source = paperDataPath(process.argv[2])
if (!existsSync(source)) {
  console.error(`bench:export: ${source} is absent; pass a recordings folder`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-export-'))
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
try {
  const rawBytes = recordingBytes(source)
  const db = join(dir, 'paper.duckdb')
  const imp = await timed(() => withStore(db, false, (s) => importRecordings(s, {paths: [source]})))
  const runIds = (await withStore(db, true, async (s) => [...(await s.runIds())])).sort()
  console.log(`workload: ${source}: ${runIds.length} runs, ${mb(rawBytes)} of raw recording files (JSON, JSONL, text)`)
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`)
  console.log(`baseline: import of the raw recordings ${imp.s.toFixed(2)} s; store file ${mb(statSync(db).size)}`)

  for (const format of EXPORT_FORMATS) {
    const out = join(dir, `export-${format}`)
    const r = await timed(() => withStore(db, true, (s) => exportStore(s, {command: 'bench', format, outDir: out})))
    console.log(`export ${format}: ${r.s.toFixed(2)} s, ${mb(r.value.bytes)} (${((100 * r.value.bytes) / rawBytes).toFixed(1)} % of the raw JSON)`)
  }

  const back = join(dir, 'back.duckdb')
  const rt = await timed(() => withStore(back, false, (s) => importRecordings(s, {paths: [join(dir, 'export-parquet')]})))
  const rtDiff = await differing(db, back)
  console.log(`import of the Parquet export: ${rt.s.toFixed(2)} s, ${rt.value.imported.length} runs, ${rtDiff.length === 0 ? 'identical row for row' : `DIFFERS in ${rtDiff.join(', ')}`}`)

  // 16 shards as 16 pods leave them: a Parquet export each, and a store each
  const shardExports: string[] = []
  const shardStores: string[] = []
  for (let i = 0; i < SHARDS; i++) {
    const ids = shardSlice(runIds, i, SHARDS, (id) => id)
    const out = join(dir, `shard-${i}`)
    await withStore(db, true, (s) => exportStore(s, {command: 'bench', format: 'parquet', outDir: out, runIds: ids}))
    const store = join(dir, `shard-${i}.duckdb`)
    await withStore(store, false, (s) => importRecordings(s, {paths: [out]}))
    shardExports.push(out)
    shardStores.push(store)
  }
  for (const [label, inputs] of [['stores', shardStores], ['Parquet exports', shardExports]] as const) {
    const out = join(dir, `merged-${label.split(' ')[0]}.duckdb`)
    const m = await timed(() => mergeInto(out, [...inputs]))
    const diff = await differing(db, out)
    console.log(`merge of ${SHARDS} shard ${label}: ${m.s.toFixed(2)} s, ${m.value.runs_added} runs, ${diff.length === 0 ? 'identical to the source row for row' : `DIFFERS in ${diff.join(', ')}`}`)
  }
  console.log(`peak_rss_mb: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)}`)
} finally {
  rmSync(dir, {force: true, recursive: true})
}
