/**
 * Where a task's recorded session comes from, first match wins: `--sessions DIR` (a file
 * `<task>.jsonl`, or the first `*.jsonl` under a folder named after the task, e.g. the
 * paper's `<task>/attempt_1/trace.jsonl`), the task's built-in session (demo), or a stored
 * run of the same task (its raw transcript from the `transcripts` table). Stored transcripts
 * are written to the attempt's scratch files so the replay process can read them.
 */
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {Store} from '../datasets/store.js'
import type {BenchTask} from './tasks.js'

export async function findSession(task: BenchTask, sessionsDir: string | null, store: Store | null, scratch: string): Promise<string[] | null> {
  if (sessionsDir) {
    const direct = join(sessionsDir, `${task.id}.jsonl`)
    if (existsSync(direct)) return [direct]
    const dir = join(sessionsDir, task.id)
    if (existsSync(dir) && statSync(dir).isDirectory()) {
      const found = firstJsonl(dir, 3)
      if (found) return [found]
    }
  }
  if (task.sessionFile) return [task.sessionFile]
  if (store) {
    const rows = await store.query(
      `SELECT t.run_id, t.file, t.content FROM transcripts t JOIN runs r USING (run_id)
       WHERE r.task_id = $task ORDER BY (r.dataset = $catalog), t.run_id, t.file`,
      {catalog: task.catalog, task: task.id},
    )
    if (rows.length > 0) {
      const runId = String(rows[0].run_id)
      const files = rows.filter((r) => r.run_id === runId)
      return files.map((r, i) => {
        const path = join(scratch, `stored-session-${i}.jsonl`)
        writeFileSync(path, String(r.content))
        return path
      })
    }
  }
  return null
}

function firstJsonl(dir: string, depth: number): string | null {
  const entries = readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))
  for (const e of entries) if (e.isFile() && e.name.endsWith('.jsonl')) return join(dir, e.name)
  if (depth <= 0) return null
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'subagents') continue
    const f = firstJsonl(join(dir, e.name), depth - 1)
    if (f) return f
  }
  return null
}
