/**
 * `agentcgroup import`: discover recordings, read each into memory, write each as one
 * transaction (replacing an earlier import of the same run_id). A recording that cannot be
 * read is listed with its error and nothing of it is written; with `strict` the import stops
 * at the first one. Runs already in the store are never touched by a failed run.
 */
import {existsSync} from 'node:fs'
import {join, resolve, sep} from 'node:path'

import {learnOffsetMin} from '../clock.js'
import {RecordingError} from '../errors.js'
import {Fields, readJsonFile} from '../formats/json-file.js'
import type {Store} from '../store.js'
import {buildRun, DatasetContext} from './build-run.js'
import {discover, RunSource, Skip} from './discover.js'
import {importExports, splitExportPaths} from './export-reader.js'

export interface ImportOptions {
  paths: string[]
  dataset?: string
  strict?: boolean
  onProgress?: (done: number, total: number, current: string) => void
}

export interface ImportFailure {
  path: string
  run_id: string
  file: string | null
  line: number | null
  field: string | null
  error: string
}

export interface ImportedRun {
  run_id: string
  status: string
  valid: boolean
  samples: number
  tool_calls: number
}

export interface ImportResult {
  store: string
  task_folders: number
  runs_found: number
  imported: ImportedRun[]
  failed: ImportFailure[]
  skipped: Skip[]
  warnings: string[]
  datasets: {dataset: string; runs: number; valid: number}[]
  elapsed_s: number
  stopped_early: boolean
}

export async function importRecordings(store: Store, opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now()
  // export folders (their manifest.json) are read by export-reader.ts, everything else here
  const {exportDirs, recordingPaths} = splitExportPaths(opts.paths)
  const found = discover(recordingPaths, opts.dataset)
  const contexts = new Map<string, DatasetContext>()
  const warnings: string[] = []
  const imported: ImportedRun[] = []
  const failed: ImportFailure[] = []
  const skipped: Skip[] = [...found.skipped]
  let stoppedEarly = false
  const stored = await store.runIds()

  const roots = opts.paths.map((p) => resolve(p))
  for (const ds of new Set(found.runs.map((r) => r.datasetDir ?? ''))) {
    // a task or attempt imported on its own says nothing about the rest of its dataset
    if (!roots.some((root) => ds === root || ds.startsWith(root + sep))) continue
    warnings.push(...progressWarnings(ds, found.runs.filter((r) => (r.datasetDir ?? '') === ds)))
  }

  for (let i = 0; i < found.runs.length; i++) {
    const src = found.runs[i]
    const runId = `${src.dataset}/${src.task}/attempt_${src.attempt}`
    opts.onProgress?.(i, found.runs.length, runId)
    const ctx = contextFor(contexts, src, found.runs)
    try {
      const outcome = buildRun(src, ctx)
      if ('skip' in outcome) {
        skipped.push({path: src.path, reason: outcome.skip})
        continue
      }
      await store.replaceRun(outcome.record, {isNew: !stored.has(runId)})
      const r = outcome.record
      imported.push({run_id: runId, samples: r.samples.length, status: r.run.status, tool_calls: r.toolCalls.length, valid: r.run.valid})
    } catch (error) {
      const failure = toFailure(src, runId, error)
      failed.push(failure)
      if (opts.strict) {
        stoppedEarly = true
        break
      }
    }
  }
  opts.onProgress?.(found.runs.length, found.runs.length, '')
  let exportRuns = 0
  if (exportDirs.length > 0 && !stoppedEarly) {
    const fromExports = await importExports(store, exportDirs, {dataset: opts.dataset, onProgress: opts.onProgress, strict: opts.strict})
    imported.push(...fromExports.imported)
    failed.push(...fromExports.failed)
    exportRuns = fromExports.runsFound
    stoppedEarly = fromExports.stoppedEarly
  }

  const byDataset = new Map<string, {runs: number; valid: number}>()
  for (const r of imported) {
    const ds = r.run_id.split('/')[0]
    const agg = byDataset.get(ds) ?? {runs: 0, valid: 0}
    agg.runs++
    if (r.valid) agg.valid++
    byDataset.set(ds, agg)
  }
  return {
    datasets: [...byDataset].map(([dataset, v]) => ({dataset, ...v})),
    elapsed_s: (performance.now() - t0) / 1000,
    failed,
    imported,
    runs_found: found.runs.length + exportRuns,
    skipped,
    stopped_early: stoppedEarly,
    store: store.path,
    task_folders: found.taskFolders,
    warnings,
  }
}

function toFailure(src: RunSource, runId: string, error: unknown): ImportFailure {
  if (error instanceof RecordingError) {
    return {error: error.message, field: error.field ?? null, file: error.file, line: error.line ?? null, path: src.path, run_id: runId}
  }
  const msg = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')
  if (error instanceof RangeError) {
    return {error: `${src.path}: a value does not fit the store: ${msg}`, field: null, file: null, line: null, path: src.path, run_id: runId}
  }
  return {error: `${src.path}: unexpected error while reading this recording: ${msg}`, field: null, file: null, line: null, path: src.path, run_id: runId}
}

/** Per dataset: progress.json's heuristic and the naive-clock offset learned from any run. */
function contextFor(cache: Map<string, DatasetContext>, src: RunSource, all: RunSource[]): DatasetContext {
  const key = src.datasetDir ?? src.path
  const hit = cache.get(key)
  if (hit) return hit
  const progress = readProgress(src.datasetDir)
  let offset: number | null | undefined
  const ctx: DatasetContext = {
    localOffsetMin() {
      if (offset !== undefined) return offset
      offset = null
      for (const r of all) {
        if ((r.datasetDir ?? r.path) !== key || !r.files.resources) continue
        offset = firstSampleOffset(r.files.resources)
        if (offset !== null) break
      }
      return offset
    },
    successHeuristic: (task) => progress?.get(task) ?? null,
  }
  cache.set(key, ctx)
  return ctx
}

function firstSampleOffset(file: string): number | null {
  try {
    const top = Fields.of(file, readJsonFile(file))
    for (const [i, s] of (top.arr('samples') ?? []).entries()) {
      const f = top.item('samples', i, s)
      const epoch = f.num('epoch')
      const stamp = f.str('timestamp')
      if (epoch !== null && stamp !== null) return learnOffsetMin(stamp, epoch)
    }
  } catch {
    // that sibling is broken; its own import reports it
  }
  return null
}

function readProgress(datasetDir: string | null): Map<string, boolean> | null {
  if (!datasetDir) return null
  const file = join(datasetDir, 'progress.json')
  if (!existsSync(file)) return null
  try {
    const p = Fields.of(file, readJsonFile(file))
    const results = p.obj_('results')
    const map = new Map<string, boolean>()
    for (const [task, v] of Object.entries(results?.obj ?? {})) {
      if (typeof v === 'object' && v !== null && typeof (v as {success?: unknown}).success === 'boolean') {
        map.set(task, (v as {success: boolean}).success)
      }
    }
    return map
  } catch {
    return null
  }
}

function progressWarnings(datasetDir: string, runs: RunSource[]): string[] {
  if (!datasetDir) return []
  const file = join(datasetDir, 'progress.json')
  if (!existsSync(file)) return []
  try {
    const p = Fields.of(file, readJsonFile(file))
    const completed = (p.arr('completed') ?? []).filter((x): x is string => typeof x === 'string')
    const tasks = new Set(runs.map((r) => r.task))
    // a task folder holding no recording is reported as skipped, not as missing
    const missing = completed.filter((t) => !tasks.has(t) && !existsSync(join(datasetDir, t)))
    if (missing.length === 0) return []
    return [`${file}: lists ${missing.length} completed task(s) with no folder: ${missing.join(', ')}`]
  } catch (error) {
    return [`${file}: unreadable (${(error as Error).message}); success heuristics not imported`]
  }
}
