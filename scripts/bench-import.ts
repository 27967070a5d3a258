/**
 * Import benchmark: the paper's full shipped dataset (184 runs) into a fresh store in a temp
 * dir. Prints runs/s, MB/s of recording files read, total seconds and peak RSS.
 * Usage: npm run bench:import [-- <recordings folder>] (default ../shared/datasets/agentcgroup-paper)
 */
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {cpus, tmpdir} from 'node:os'
import {join} from 'node:path'

import {importRecordings} from '../datasets/import/importer.js'
import {Store} from '../datasets/store.js'
import {recordingBytes} from './recording-bytes.js'
import {paperDataPath} from './paper-data.js'


const source = paperDataPath(process.argv[2])
if (!existsSync(source)) {
  console.error(`bench:import: ${source} is absent; pass a recordings folder`)
  process.exit(1)
}
const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-'))
try {
  const bytes = recordingBytes(source)
  const t0 = performance.now()
  const store = await Store.open(join(dir, 'bench.duckdb'))
  const result = await importRecordings(store, {paths: [source]})
  store.close()
  const seconds = (performance.now() - t0) / 1000
  const mb = bytes / 1e6
  const peakRssMb = process.resourceUsage().maxRSS / 1024
  console.log(`workload: import ${source} (${result.imported.length} runs, ${mb.toFixed(1)} MB of recording files) into a fresh store`)
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`)
  console.log(`runs/s: ${(result.imported.length / seconds).toFixed(1)}`)
  console.log(`MB/s: ${(mb / seconds).toFixed(1)}`)
  console.log(`total_s: ${seconds.toFixed(2)} (store open + import + close)`)
  console.log(`peak_rss_mb: ${peakRssMb.toFixed(0)}`)
  if (result.failed.length > 0) console.log(`failed: ${result.failed.length}`)
} finally {
  rmSync(dir, {force: true, recursive: true})
}
