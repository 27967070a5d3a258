/**
 * Finds the recordings under the paths given to `import`, and says why anything else was
 * skipped. Layouts are recognised by the files a folder holds, never by its name:
 *  - study run: run_manifest.json (files in its swebench/ subfolder, or beside it)
 *  - attempt / flat run: results.json, resources.json, trace.jsonl or tool_calls.json
 *    (an `attempt_<n>` folder is attempt n of its parent task; any other is a flat run)
 *  - pilot run: ebpf_trace.jsonl, claude_exit_code.txt or start_utc.txt only
 *  - transcripts: a folder holding only *.jsonl session files, or a .jsonl path given directly
 * Naming (DESIGN.md "The store"): each recording folder directly under a given path is a
 * dataset named after it; a given path that directly holds tasks is itself the dataset; a
 * task or attempt path belongs to the dataset of its parent folder. `_retry` suffixes count
 * as the next attempt.
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
    const root = resolve(given)
    if (!existsSync(root)) {
      skipped.push({path: given, reason: 'no such file or folder'})
      continue
    }
    const st = statSync(root)
    if (st.isFile()) {
      if (root.endsWith('.jsonl')) {
        runs.push(makeSource({files: {trace: root}, layout: 'transcript', path: root}, root, datasetOverride))
      } else skipped.push({path: given, reason: 'not a recording: give a folder of recordings or a Claude Code transcript (*.jsonl)'})
      continue
    }
    const found: Found[] = []
    walk(root, new Set(), found, skipped)
    for (const f of found) runs.push(makeSource(f, root, datasetOverride))
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
      const isDir = e.isDirectory() || (e.isSymbolicLink() && isDirSafe(full))
      if (isDir) subdirs.push(full)
      else if (RUN_FILES[e.name]) files[RUN_FILES[e.name]] ??= full
      else if (e.name.endsWith('.jsonl')) jsonl.push(full)
    }
    subdirs.sort()
    jsonl.sort()

    if (files.manifest) {
      const inner = subdirs.find((s) => basename(s) === 'swebench')
      const innerFiles = inner ? filesIn(inner) : {}
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

function makeSource(f: Found, root: string, datasetOverride?: string): RunSource {
  let taskPath: string
  let task: string
  let attempt: number
  if (f.layout === 'attempt') {
    taskPath = dirname(f.path)
    task = basename(taskPath)
    attempt = Number(/^attempt_(\d+)$/.exec(basename(f.path))![1])
  } else if (f.layout === 'transcript') {
    taskPath = f.path
    task = basename(f.path).replace(/\.jsonl$/, '')
    attempt = 1
  } else {
    taskPath = f.path
    const {base, retries} = splitRetry(basename(f.path))
    task = base
    attempt = 1 + retries
  }
  const rel = relative(root, taskPath)
  // the study layout keeps its runs in a `runs/` folder: that folder is not a dataset
  const segments = rel === '' ? [] : rel.split(sep).filter((s, i, all) => !(s === 'runs' && i === all.length - 2))
  let datasetDir: string | null
  if (rel === '' || rel.startsWith('..')) datasetDir = dirname(taskPath)
  else if (segments.length <= 1) datasetDir = root
  else datasetDir = join(root, segments[0])
  if (f.layout === 'transcript' && datasetDir === dirname(taskPath) && rel === '') datasetDir = dirname(f.path)
  return {
    attempt,
    dataset: datasetOverride ?? basename(datasetDir),
    datasetDir,
    files: f.files,
    layout: f.layout,
    path: f.path,
    task,
  }
}
