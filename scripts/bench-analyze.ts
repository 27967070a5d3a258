/**
 * Analysis benchmark: the full analysis (both rule sets) of every shipped run (184, valid or
 * not) from a warm store. The recordings are imported into a temp store first (not timed),
 * one analysis warms DuckDB and the page cache, then RUNS analyses are timed. Prints the
 * median wall seconds, per metric family too, and the CPU seconds (DuckDB's threads included).
 * Usage: npm run bench:analyze [-- <recordings folder>] (default ../shared/datasets/agentcgroup-paper)
 */
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'

import {analyze} from '../analysis/analyze.js'
import {median} from '../analysis/stats.js'
import {importRecordings} from '../datasets/import/importer.js'
import {Store} from '../datasets/store.js'
import {paperDataPath} from './paper-data.js'

const RUNS = 5
const TARGET_S = 0.85

const source = paperDataPath(process.argv[2])
if (!existsSync(source)) {
  console.error(`bench:analyze: ${source} is absent; pass a recordings folder`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-'))
try {
  const db = join(dir, 'bench.duckdb')
  const writer = await Store.open(db)
  const imported = await importRecordings(writer, {paths: [source]})
  writer.close()

  const store = await Store.open(db, {readOnly: true})
  const opts = {rules: 'both', runs: 'all'} as const
  await analyze(store, opts)
  const totals: number[] = []
  const cpuTotals: number[] = []
  const perFamily = new Map<string, number[]>()
  for (let i = 0; i < RUNS; i++) {
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const {timings_s} = await analyze(store, opts)
    totals.push((performance.now() - t0) / 1000)
    const cpu = process.cpuUsage(cpu0)
    cpuTotals.push((cpu.user + cpu.system) / 1e6)
    for (const [name, s] of Object.entries(timings_s)) perFamily.set(name, [...(perFamily.get(name) ?? []), s])
  }
  store.close()

  const total = median(totals)!
  console.log(`workload: analyze --runs all --rules both over ${imported.imported.length} runs of ${source} (warm store, median of ${RUNS})`)
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`)
  for (const [name, values] of perFamily) console.log(`  ${name.padEnd(28)} ${median(values)!.toFixed(3)} s`)
  console.log(`total_s: ${total.toFixed(3)} (runs: ${totals.map((t) => t.toFixed(3)).join(', ')}; target < ${TARGET_S})`)
  console.log(`cpu_s: ${median(cpuTotals)!.toFixed(3)} (all threads)`)
  if (total >= TARGET_S) console.log(`over target: ${total.toFixed(3)} s >= ${TARGET_S} s`)
} finally {
  rmSync(dir, {force: true, recursive: true})
}
