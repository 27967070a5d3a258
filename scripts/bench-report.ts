/**
 * `npm run bench:report`: imports the shipped paper data (184 runs) into a store in a temp
 * dir, then builds the full report from the warm store several times (analysis included) and
 * prints the HTML size, the time per phase and the median build time. Budget: < 5 MB, < 3 s.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {importRecordings} from '../datasets/import/importer.js'
import {Store} from '../datasets/store.js'
import {buildReport} from '../reports/build.js'
import {paperDataPath} from './paper-data.js'

const DATA = paperDataPath(process.argv[2])
const REPEATS = 5

const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-bench-report-'))
try {
  const store = await Store.open(join(dir, 'bench.duckdb'))
  await importRecordings(store, {paths: [DATA]})
  await buildReport(store) // warm-up: DuckDB caches, module loading, the runtimes read from disk
  const times: number[] = []
  let last = await buildReport(store)
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now()
    last = await buildReport(store)
    times.push((performance.now() - t0) / 1000)
  }
  store.close()
  const out = join(dir, 'report.html')
  writeFileSync(out, last.html)
  times.sort((a, b) => a - b)
  const s = last.stats
  console.log(`runs ${s.runs} (figures ${s.figure_runs}, drill-down ${s.drill_runs}, ${s.downsampled_runs} downsampled)`)
  console.log(`html ${(s.bytes / 1e6).toFixed(2)} MB, ${s.charts.length} charts, sections: ${s.sections.join(', ')}`)
  console.log(`build median ${times[Math.floor(times.length / 2)].toFixed(2)} s (min ${times[0].toFixed(2)}, max ${times.at(-1)!.toFixed(2)}; analysis ${s.analysis_s.toFixed(2)} s of the last)`)
  console.log(`budget: size ${s.bytes < 5e6 ? 'ok' : 'OVER'} (< 5 MB), time ${times[Math.floor(times.length / 2)] < 3 ? 'ok' : 'OVER'} (< 3 s)`)
} finally {
  rmSync(dir, {force: true, recursive: true})
}
