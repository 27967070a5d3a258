/**
 * Benchmark tasks from a catalog: `demo` (built-in, offline), `swe-rebench` (the paper's
 * instance ids; images named as the paper's runner pulled them, repository at /testbed), or a
 * user FILE of instance ids. Task ids are checked before anything uses them as a path or name.
 */
import {readCatalog} from '../datasets/catalog/catalog-file.js'
import {demoTasks} from '../datasets/catalog/demo.js'
import {UserError} from '../datasets/errors.js'

export interface BenchTask {
  id: string
  /** the catalog's name, used as the runs' dataset */
  catalog: string
  /** container image; null = the demo image (built offline on first use) */
  image: string | null
  /** host directory copied into the work dir (demo tasks); null = the repository is in the image */
  repoDir: string | null
  /** where the repository is inside the container */
  workdir: string
  problemStatement: string | null
  testCommand: string | null
  /** a recorded session that solves it (replay server, scripted agent) */
  sessionFile: string | null
  /** the prompt, when it is known verbatim (a recorded session's first message) */
  prompt?: string | null
}

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/

/** Throws a one-line UserError unless `id` is a plain task id (never a path). */
export function validateTaskId(id: string): string {
  if (!TASK_ID.test(id) || id.includes('..')) {
    throw new UserError(`task id ${JSON.stringify(id)}: not a task id (letters, digits, '.', '_' and '-' only; never a path)`)
  }
  return id
}

/** SWE-rebench image of an instance id `<owner>__<repo>-<n>` (the paper runner's naming). */
export function sweRebenchImage(instanceId: string): string {
  const m = /^(.+?)__(.+)$/.exec(instanceId)
  if (!m) throw new UserError(`task id ${instanceId}: not a SWE-rebench instance id (<owner>__<repo>-<number>)`)
  return `swerebench/sweb.eval.x86_64.${m[1]}_1776_${m[2]}`.toLowerCase()
}

export function demoCatalog(): BenchTask[] {
  return demoTasks().map((t) => ({
    catalog: 'demo',
    id: t.id,
    image: null,
    problemStatement: t.problemStatement,
    repoDir: t.repoDir,
    sessionFile: t.sessionFile,
    testCommand: t.testCommand,
    workdir: '/testbed',
  }))
}

export function sweRebenchTask(id: string, extra: Partial<BenchTask> = {}, catalog = 'swe-rebench'): BenchTask {
  validateTaskId(id)
  return {
    catalog,
    id,
    image: extra.image ?? sweRebenchImage(id),
    problemStatement: extra.problemStatement ?? null,
    repoDir: null,
    sessionFile: extra.sessionFile ?? null,
    testCommand: extra.testCommand ?? null,
    workdir: extra.workdir ?? '/testbed',
  }
}

/** `demo`, `swe-rebench` or a user's FILE (read by datasets/catalog/catalog-file.ts). */
export function loadCatalog(spec: string): {name: string; tasks: BenchTask[]} {
  if (spec === 'demo') return {name: 'demo', tasks: demoCatalog()}
  const catalog = readCatalog(spec)
  return {
    name: catalog.name,
    tasks: catalog.tasks.map((t) =>
      sweRebenchTask(t.instance_id, {image: t.image ?? undefined, problemStatement: t.problem_statement ?? null, testCommand: t.test_command ?? null}, catalog.name),
    ),
  }
}

/**
 * The tasks of one invocation, in order. `only` selects (and orders) task ids; a task listed
 * twice is two attempts. Unknown ids are one clear error naming the catalog.
 */
export function selectTasks(all: BenchTask[], only: string[] | null, catalogName: string): BenchTask[] {
  if (!only || only.length === 0) return all
  const byId = new Map(all.map((t) => [t.id, t]))
  return only.map((raw) => {
    const id = validateTaskId(raw.trim())
    const t = byId.get(id)
    if (!t) {
      const known = all.slice(0, 8).map((x) => x.id).join(', ')
      throw new UserError(`unknown task id ${id} in catalog ${catalogName} (known: ${known}${all.length > 8 ? `, ... ${all.length} in all` : ''})`)
    }
    return t
  })
}
