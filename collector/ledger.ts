/**
 * The run ledger of `run-benchmark`: one SQLite file beside the store (`<store>.ledger.sqlite`),
 * the only user of better-sqlite3. One row per attempt (run_id), with its state:
 *
 *   pending -> running (owner pid, start time) -> done | failed
 *
 * `done` and `failed` are final: the attempt ran and its run is in the store (failed = the
 * harness could not finish it; a run whose agent failed is still `done` here, its own status
 * is in `run_status`). A `running` row whose owner is dead (kill -9) goes back to `pending`
 * on the next start, unless the store already has its run (the crash hit between the store
 * write and the ledger update). Every state change is one statement, so a kill at any point
 * leaves a consistent file (WAL mode, synchronous=FULL).
 */
import Database from 'better-sqlite3'
import {dirname, join} from 'node:path'
import {basename} from 'node:path'

import {redactSecrets} from '../datasets/redact.js'

export type AttemptState = 'pending' | 'running' | 'done' | 'failed'

export interface AttemptRow {
  run_id: string
  catalog: string
  task_id: string
  attempt: number
  agent: string
  runtime: string
  state: AttemptState
  owner_pid: number | null
  tries: number
  run_status: string | null
  error: string | null
  started_at_us: number | null
  ended_at_us: number | null
}

export function ledgerPathFor(storePath: string): string {
  return join(dirname(storePath), `${basename(storePath).replace(/\.duckdb$/, '')}.ledger.sqlite`)
}

export class Ledger {
  private readonly db: Database.Database

  constructor(readonly path: string) {
    this.db = new Database(path, {timeout: 10_000})
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.exec(`CREATE TABLE IF NOT EXISTS attempts (
      run_id TEXT PRIMARY KEY,
      catalog TEXT NOT NULL,
      task_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      agent TEXT NOT NULL,
      runtime TEXT NOT NULL,
      state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
      owner_pid INTEGER,
      tries INTEGER NOT NULL DEFAULT 0,
      run_status TEXT,
      error TEXT,
      created_at_us INTEGER NOT NULL,
      started_at_us INTEGER,
      ended_at_us INTEGER
    )`)
  }

  close(): void {
    this.db.close()
  }

  /** Adds attempts not yet known (as pending); known ones keep their state. */
  plan(rows: Pick<AttemptRow, 'run_id' | 'catalog' | 'task_id' | 'attempt' | 'agent' | 'runtime'>[]): void {
    const ins = this.db.prepare(`INSERT INTO attempts (run_id, catalog, task_id, attempt, agent, runtime, state, created_at_us)
      VALUES (@run_id, @catalog, @task_id, @attempt, @agent, @runtime, 'pending', @now) ON CONFLICT(run_id) DO NOTHING`)
    const now = Date.now() * 1000
    this.db.transaction(() => {
      for (const r of rows) ins.run({...r, now})
    })()
  }

  /**
   * Running attempts whose owner is gone go back to pending (or to done when `stored(run_id)`
   * says the store has the run). Returns the run_ids that were reclaimed.
   */
  recover(isAlive: (pid: number) => boolean, stored: (runId: string) => boolean): string[] {
    const out: string[] = []
    // done in the ledger but not in the store (the store was deleted or replaced): run again
    const lost = this.db.prepare(`SELECT run_id FROM attempts WHERE state = 'done'`).all() as {run_id: string}[]
    for (const r of lost) {
      if (stored(r.run_id)) continue
      this.db.prepare(`UPDATE attempts SET state = 'pending', error = 'done before, but not in the store; will run again' WHERE run_id = @id`).run({id: r.run_id})
      out.push(r.run_id)
    }
    const rows = this.db.prepare(`SELECT run_id, owner_pid FROM attempts WHERE state = 'running'`).all() as {run_id: string; owner_pid: number | null}[]
    for (const r of rows) {
      if (r.owner_pid !== null && r.owner_pid !== process.pid && isAlive(r.owner_pid)) continue
      if (stored(r.run_id)) this.db.prepare(`UPDATE attempts SET state = 'done', owner_pid = NULL, ended_at_us = @now WHERE run_id = @id`).run({id: r.run_id, now: Date.now() * 1000})
      else this.db.prepare(`UPDATE attempts SET state = 'pending', owner_pid = NULL, error = 'interrupted (owner process gone); will run again' WHERE run_id = @id`).run({id: r.run_id})
      out.push(r.run_id)
    }
    return out
  }

  /** Claims a pending attempt for this process; false if another process has it. */
  claim(runId: string): boolean {
    const r = this.db
      .prepare(`UPDATE attempts SET state = 'running', owner_pid = @pid, tries = tries + 1, started_at_us = @now, error = NULL WHERE run_id = @id AND state = 'pending'`)
      .run({id: runId, now: Date.now() * 1000, pid: process.pid})
    return r.changes === 1
  }

  finish(runId: string, state: 'done' | 'failed', runStatus: string | null, error: string | null): void {
    this.db
      .prepare(`UPDATE attempts SET state = @state, run_status = @rs, error = @err, owner_pid = NULL, ended_at_us = @now WHERE run_id = @id`)
      .run({err: error === null ? null : redactSecrets(error), id: runId, now: Date.now() * 1000, rs: runStatus, state})
  }

  /** Back to pending (interrupted by Ctrl-C: it runs again on resume). */
  release(runId: string, error: string | null): void {
    this.db.prepare(`UPDATE attempts SET state = 'pending', owner_pid = NULL, error = @err WHERE run_id = @id`).run({err: error, id: runId})
  }

  /** Final attempts go back to pending (--retry-failed). */
  retry(runIds: string[], which: AttemptState[]): void {
    const st = this.db.prepare(`UPDATE attempts SET state = 'pending' WHERE run_id = @id AND state IN (${which.map((w) => `'${w}'`).join(', ')})`)
    this.db.transaction(() => {
      for (const id of runIds) st.run({id})
    })()
  }

  get(runId: string): AttemptRow | undefined {
    return this.db.prepare(`SELECT * FROM attempts WHERE run_id = ?`).get(runId) as AttemptRow | undefined
  }

  all(): AttemptRow[] {
    return this.db.prepare(`SELECT * FROM attempts ORDER BY created_at_us, run_id`).all() as AttemptRow[]
  }
}
