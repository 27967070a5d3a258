/**
 * Finds the recordings under the paths given to `import`, and says why anything else was
 * skipped. Layouts are recognised by the files a folder holds, never by its name:
 *  - study run: run_manifest.json, or a swebench/ subfolder holding run files (a run that
 *    failed before its manifest was written); files in swebench/ or beside it
 *  - attempt / flat run: results.json, resources.json, trace.jsonl or tool_calls.json
 *    (an `attempt_<n>` folder is attempt n of its parent task; any other is a flat run)
 *  - pilot run: ebpf_trace.jsonl, claude_exit_code.txt or start_utc.txt only
 *  - transcripts: a folder holding only *.jsonl session files, or a .jsonl path given directly
 * Naming (DESIGN.md "The store"): each recording folder directly under a given path is a
 * dataset named after it; a given path that directly holds tasks or runs is itself the
 * dataset; a task or attempt path belongs to the dataset of its parent folder. A given path
 * is a collection of datasets when it holds runs two or more levels down: then a run folder
 * directly in it (a flat single run) is a dataset of its own. A study's `runs/` folder is
 * never a level of its own. Giving one run or task folder names it as importing the whole
 * tree would. `_retry` suffixes count as the next attempt.
 */
import {Dirent, existsSync, readdirSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, join, relative, resolve, sep} from 'node:path'

export type Layout = 'attempt' | 'study' | 'flat' | 'pilot' | 'transcript'

export interface RunFiles {
  results?: string
  resources?: string
  toolCalls?: string
  trace?: string
  stdout?: string
  stderr?: string
  manifest?: string
  ebpf?: string
  exitCode?: string
  startUtc?: string
  endUtc?: string
  cgroupPath?: string
}

export interface RunSource {
  layout: Layout
  /** folder of the run (attempt_<n>, study run, flat run) or the transcript file */
  path: string
  dataset: string
  /** dataset folder (for progress.json and sibling clock offsets), when there is one */
  datasetDir: string | null
  task: string
  attempt: number
  files: RunFiles
}

export interface Skip {
  path: string
  reason: string
}

export interface Discovery {
  runs: RunSource[]
  skipped: Skip[]
  /** distinct task folders (dataset + task) seen */
  taskFolders: number
}

const RUN_FILES: Record<string, keyof RunFiles> = {
  'claude_exit_code.txt': 'exitCode',
  'claude_output.txt': 'stdout',
  'claude_stderr.txt': 'stderr',
  'cgroup_path.txt': 'cgroupPath',
  'container_cgroup_path.txt': 'cgroupPath',
  'container_logs.txt': 'stdout',
  'ebpf_trace.jsonl': 'ebpf',
  'end_utc.txt': 'endUtc',
  'resources.json': 'resources',
  'results.json': 'results',
  'run_manifest.json': 'manifest',
  'start_utc.txt': 'startUtc',
  'tool_calls.json': 'toolCalls',
  'trace.jsonl': 'trace',
}

const AGENT_RUN_KEYS: (keyof RunFiles)[] = ['results', 'resources', 'trace', 'toolCalls']
const PILOT_KEYS: (keyof RunFiles)[] = ['ebpf', 'exitCode', 'startUtc']
const RECORDING_KEYS: (keyof RunFiles)[] = [...AGENT_RUN_KEYS, ...PILOT_KEYS, 'manifest']
const NOTHING_HERE = 'no recording inside (no results.json, resources.json, trace.jsonl, tool_calls.json, run_manifest.json, ebpf_trace.jsonl or *.jsonl transcripts)'

interface Found {
  layout: Layout
  path: string
  files: RunFiles
}

export function discover(paths: string[], datasetOverride?: string): Discovery {
  const runs: RunSource[] = []
  const skipped: Skip[] = []
  for (const given of paths) {
    // a study run's swebench/ folder stands for its run folder (manifest and eBPF sit beside it)
    const root = basename(resolve(given)) === 'swebench' ? dirname(resolve(given)) : resolve(given)
    if (!existsSync(root)) {
      skipped.push({path: given, reason: 'no such file or folder'})
      continue
    }
    const st = statSync(root)
    if (st.isFile()) {
      if (root.endsWith('.jsonl')) {
        runs.push(...makeSources([{files: {trace: root}, layout: 'transcript', path: root}], root, datasetOverride))
      } else skipped.push({path: given, reason: 'not a recording: give a folder of recordings or a Claude Code transcript (*.jsonl)'})
      continue
    }
    const found: Found[] = []
    walk(root, new Set(), found, skipped)
    runs.push(...makeSources(found, root, datasetOverride))
  }
  const seen = new Map<string, RunSource>()
  for (const r of runs) {
    const key = `${r.dataset}/${r.task}/attempt_${r.attempt}`
    const prev = seen.get(key)
    if (prev) skipped.push({path: r.path, reason: `same run id ${key} as ${prev.path}; kept the first`})
    else seen.set(key, r)
  }
  const kept = [...seen.values()]
  const tasks = new Set(kept.map((r) => `${r.dataset}/${r.task}`))
  return {runs: kept, skipped, taskFolders: tasks.size}
}

/** Depth-first walk; returns how many runs were found below dir. */
function walk(dir: string, visiting: Set<string>, found: Found[], skipped: Skip[]): number {
  let real: string
  let entries: Dirent[]
  try {
    real = realpathSync(dir)
    entries = readdirSync(dir, {withFileTypes: true})
  } catch (error) {
    skipped.push({path: dir, reason: `cannot read folder: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`})
    return 0
  }
  if (visiting.has(real)) {
    skipped.push({path: dir, reason: `symlink loop: leads back to ${real}`})
    return 0
  }
  visiting.add(real)
  try {
    const files: RunFiles = {}
    const subdirs: string[] = []
    const jsonl: string[] = []
    for (const e of entries) {
      const full = join(dir, e.name)
      if (e.isSymbolicLink() && symlinkLoops(full)) {
        skipped.push({path: full, reason: 'symlink loop: the link cannot be resolved (ELOOP)'})
        continue
      }
      const isDir = e.isDirectory() || (e.isSymbolicLink() && isDirSafe(full))
      if (isDir) subdirs.push(full)
      else if (RUN_FILES[e.name]) files[RUN_FILES[e.name]] ??= full
      else if (e.name.endsWith('.jsonl')) jsonl.push(full)
    }
    subdirs.sort()
    jsonl.sort()

    const inner = subdirs.find((s) => basename(s) === 'swebench')
    const innerFiles = inner ? filesIn(inner) : {}
    // a study run that failed early has swebench/results.json and no manifest
    if (files.manifest || AGENT_RUN_KEYS.some((k) => innerFiles[k])) {
      found.push({files: {...files, ...innerFiles, manifest: files.manifest}, layout: 'study', path: dir})
      return 1
    }
    if (AGENT_RUN_KEYS.some((k) => files[k])) {
      found.push({files, layout: /^attempt_\d+$/.test(basename(dir)) ? 'attempt' : 'flat', path: dir})
      return 1
    }
    if (PILOT_KEYS.some((k) => files[k])) {
      found.push({files, layout: 'pilot', path: dir})
      return 1
    }
    let count = 0
    const childSkips: Skip[] = []
    for (const sub of subdirs) count += walk(sub, visiting, found, childSkips)
    if (count === 0 && jsonl.length > 0) {
      for (const file of jsonl) found.push({files: {trace: file}, layout: 'transcript', path: file})
      return jsonl.length
    }
    if (count === 0) {
      // collapse an empty subtree into one line, but keep problems found inside it
      skipped.push({path: dir, reason: NOTHING_HERE}, ...childSkips.filter((s) => s.reason !== NOTHING_HERE))
      return 0
    }
    skipped.push(...childSkips)
    return count
  } finally {
    visiting.delete(real)
  }
}

function filesIn(dir: string): RunFiles {
  const files: RunFiles = {}
  try {
    for (const e of readdirSync(dir, {withFileTypes: true})) {
      if (!e.isDirectory() && RUN_FILES[e.name]) files[RUN_FILES[e.name]] ??= join(dir, e.name)
    }
  } catch {
    // unreadable inner folder: the run is built from the manifest alone
  }
  return files
}

function symlinkLoops(path: string): boolean {
  try {
    statSync(path)
    return false
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ELOOP'
  }
}

function isDirSafe(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function splitRetry(name: string): {base: string; retries: number} {
  let base = name
  let retries = 0
  while (base.endsWith('_retry')) {
    base = base.slice(0, -'_retry'.length)
    retries++
  }
  return {base, retries}
}

/** Layouts whose folder is the run itself (no task level above it). */
const RUN_FOLDER_LAYOUTS = new Set<Layout>(['flat', 'pilot', 'study'])

interface Placed {
  found: Found
  taskPath: string
  task: string
  attempt: number
}

function place(f: Found): Placed {
  if (f.layout === 'attempt') {
    const taskPath = dirname(f.path)
    return {attempt: Number(/^attempt_(\d+)$/.exec(basename(f.path))![1]), found: f, task: basename(taskPath), taskPath}
  }
  if (f.layout === 'transcript') return {attempt: 1, found: f, task: basename(f.path).replace(/\.jsonl$/, ''), taskPath: f.path}
  const {base, retries} = splitRetry(basename(f.path))
  return {attempt: 1 + retries, found: f, task: base, taskPath: f.path}
}

/** Folders from root down to the task, without a study's `runs/` level; null when the task is root or above it. */
function segmentsBelow(root: string, taskPath: string): string[] | null {
  const rel = relative(root, taskPath)
  if (rel === '' || rel.startsWith('..')) return null
  return rel.split(sep).filter((s, i, all) => !(s === 'runs' && i === all.length - 2))
}

function makeSources(found: Found[], root: string, datasetOverride?: string): RunSource[] {
  const placed = found.map(place)
  const segments = placed.map((p) => segmentsBelow(root, p.taskPath))
  const collection = segments.some((s) => s !== null && s.length >= 2)
  return placed.map((p, i) => {
    const segs = segments[i]
    let datasetDir: string
    if (segs === null) datasetDir = datasetOfGivenRun(p)
    else if (segs.length >= 2) datasetDir = join(root, segs[0])
    else if (collection && RUN_FOLDER_LAYOUTS.has(p.found.layout)) datasetDir = p.taskPath
    else datasetDir = notRunsFolder(root)
    return {
      attempt: p.attempt,
      dataset: datasetOverride ?? basename(datasetDir),
      datasetDir,
      files: p.found.files,
      layout: p.found.layout,
      path: p.found.path,
      task: p.task,
    }
  })
}

/** A run or task given by itself: the dataset its folder would get from importing the tree above it. */
function datasetOfGivenRun(p: Placed): string {
  const parent = dirname(p.taskPath)
  if (basename(parent) === 'runs') return dirname(parent)
  if (RUN_FOLDER_LAYOUTS.has(p.found.layout) && holdsDatasets(parent, p.taskPath)) return p.taskPath
  return parent
}

/** A study's `runs/` folder given as the root: the study folder above it is the dataset. */
function notRunsFolder(dir: string): string {
  return basename(dir) === 'runs' ? dirname(dir) : dir
}

/** Folders the collection probe may read: a run given from a big folder (e.g. $HOME) stays cheap. */
const PROBE_BUDGET = 500

/** Whether dir holds a recording two or more levels down beside `except` (a collection of datasets). */
function holdsDatasets(dir: string, except: string): boolean {
  const budget = {left: PROBE_BUDGET}
  for (const child of subfoldersOf(dir)) {
    if (child === except || basename(child) === 'runs' || holdsRecording(child)) continue
    if (recordingWithin(child, 3, budget)) return true
  }
  return false
}

/** A bounded look for a recording folder up to `depth` levels below dir; stops at the first. */
function recordingWithin(dir: string, depth: number, budget: {left: number}): boolean {
  for (const sub of subfoldersOf(dir)) {
    if (--budget.left < 0) return false
    if (holdsRecording(sub)) return true
    if (depth > 1 && recordingWithin(sub, depth - 1, budget)) return true
  }
  return false
}

function holdsRecording(dir: string): boolean {
  const files = filesIn(dir)
  return RECORDING_KEYS.some((k) => files[k])
}

function subfoldersOf(dir: string): string[] {
  try {
    return readdirSync(dir, {withFileTypes: true})
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name))
      .sort()
  } catch {
    return []
  }
}
