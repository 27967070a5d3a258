/**
 * The `demo` catalog: small real repositories with a real bug each, shipped as data under
 * datasets/catalog/demo/<task>/ (repo/, task.json, session.jsonl), run offline in one image
 * built from image.json (debootstrap + podman import, see collector/image.ts).
 *
 * task.json: id, title, shows (the behaviours of the paper it exercises), test_command (run in
 * the repository after the agent; exit 0 = fixed; fails before the fix), problem_statement.
 * session.jsonl: a Claude Code transcript that solves the task, served by the replay server.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export interface DemoTask {
  id: string
  title: string
  shows: string[]
  testCommand: string
  problemStatement: string
  /** host directory of the repository (copied before each run, never changed) */
  repoDir: string
  /** the built-in recorded session, when shipped */
  sessionFile: string | null
}

export interface DemoImageRecipe {
  suite: string
  variant: string
  mirror: string
  include: string[]
  workdir: string
}

/** The package's root (holds package.json), from src (ts) or dist (js) alike. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'datasets'))) return dir
    dir = dirname(dir)
  }
  throw new Error('internal: cannot find the agentcgroup package root')
}

export function demoDir(): string {
  return join(packageRoot(), 'datasets', 'catalog', 'demo')
}

export function demoImageRecipe(): DemoImageRecipe {
  const raw = JSON.parse(readFileSync(join(demoDir(), 'image.json'), 'utf8')) as DemoImageRecipe & {comment?: string}
  const {comment: _comment, ...recipe} = raw
  return recipe
}

export function demoTasks(): DemoTask[] {
  const root = demoDir()
  return readdirSync(root, {withFileTypes: true})
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'task.json')))
    .map((e) => {
      const dir = join(root, e.name)
      const t = JSON.parse(readFileSync(join(dir, 'task.json'), 'utf8')) as Record<string, unknown>
      const session = join(dir, 'session.jsonl')
      return {
        id: String(t.id),
        problemStatement: String(t.problem_statement),
        repoDir: join(dir, 'repo'),
        sessionFile: existsSync(session) ? session : null,
        shows: (t.shows as string[]) ?? [],
        testCommand: String(t.test_command),
        title: String(t.title),
      }
    })
    .sort((a, b) => a.id.localeCompare(b.id))
}
