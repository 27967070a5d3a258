import {Flags} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {Store} from '../../datasets/store.js'
import {parseLatency, ReplayEvent, ReplayServer} from '../../collector/replay-server.js'
import {loadSessionFile, parseSession, RecordedSession} from '../../collector/session.js'
import {demoTasks} from '../../datasets/catalog/demo.js'
import {BaseCommand} from '../base-command.js'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

export interface ServeReplayResult {
  port: number
  sessions: number
  requests: number
  divergences: number
}

export default class ServeReplay extends BaseCommand {
  static override description = `Serve recorded agent sessions as an Anthropic Messages API (streaming), offline.

Each request is answered with the next assistant turn of a recorded session (turn = number of assistant messages in the request; sub-agents are told apart by their prompt), so the real Claude Code CLI makes the recorded tool calls. Point it here with ANTHROPIC_BASE_URL=http://127.0.0.1:<port>. Tool results that differ from the recording are reported as divergences; the replay continues. Stops on Ctrl-C (or after --max-requests).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --port 8787',
    '<%= config.bin %> <%= command.id %> --sessions ../shared/datasets/agentcgroup-paper/all_images_haiku/dask__dask-11628 --llm-latency none',
    '<%= config.bin %> <%= command.id %> --db study.duckdb --run demo/cstats/attempt_1',
  ]

  static override flags = {
    db: Flags.string({description: 'read sessions from this store (transcripts table)'}),
    host: Flags.string({default: '127.0.0.1', description: 'address to listen on'}),
    'llm-latency': Flags.string({default: 'recorded', description: 'recorded, none, or ms per turn'}),
    'max-requests': Flags.integer({description: 'stop after this many requests (tests, scripts)'}),
    port: Flags.integer({default: 8787, description: 'port (0: any free port)'}),
    run: Flags.string({description: 'with --db: the run_id whose transcript to serve (default: every stored transcript)'}),
    sessions: Flags.string({description: 'a session file, or a folder searched for *.jsonl (default: the demo tasks\' sessions)'}),
  }

  async run(): Promise<ServeReplayResult> {
    const {flags} = await this.parse(ServeReplay)
    let latency
    try {
      latency = parseLatency(flags['llm-latency'])
    } catch (error) {
      throw new UserError((error as Error).message)
    }
    const sessions = await loadSessions(flags)
    if (sessions.length === 0) throw new UserError('no recorded session found to serve')
    let requests = 0
    let divergences = 0
    let stop: () => void = () => {}
    const stopped = new Promise<void>((resolve) => {
      stop = resolve
    })
    const json = this.jsonEnabled()
    const server = new ReplayServer({
      latency,
      onEvent: (ev: ReplayEvent) => {
        if (ev.kind === 'request') requests++
        if (ev.kind === 'divergence' || ev.kind === 'exhausted') divergences++
        if (!json) this.logToStderr(`${new Date(ev.t_us / 1000).toISOString()} ${ev.kind} ${ev.thread} turn ${ev.turn}${ev.detail ? ` ${ev.detail.slice(0, 200)}` : ''}`)
        if (ev.kind === 'response' && flags['max-requests'] && requests >= flags['max-requests']) stop()
      },
      sessions,
    })
    const port = await server.listen(flags.port, flags.host)
    // on stderr also with --json (oclif mutes logToStderr then): a caller of --port 0 must learn the port
    process.stderr.write(`replaying ${sessions.length} session(s) on http://${flags.host}:${port} (ANTHROPIC_BASE_URL=http://${flags.host}:${port}); Ctrl-C stops\n`)
    const onSignal = () => stop()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    await stopped
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await server.close()
    return {divergences, port, requests, sessions: sessions.length}
  }
}

async function loadSessions(flags: {db?: string; run?: string; sessions?: string}): Promise<RecordedSession[]> {
  if (flags.db) {
    const store = await Store.open(flags.db, {readOnly: true})
    try {
      const rows = await store.query(
        `SELECT run_id, file, content FROM transcripts ${flags.run ? 'WHERE run_id = $run' : ''} ORDER BY run_id, file`,
        flags.run ? {run: flags.run} : {},
      )
      const byRun = new Map<string, {file: string; text: string}[]>()
      for (const r of rows) byRun.set(String(r.run_id), [...(byRun.get(String(r.run_id)) ?? []), {file: String(r.file), text: String(r.content)}])
      if (flags.run && byRun.size === 0) throw new UserError(`${flags.db}: no transcript stored for run ${flags.run}`)
      return [...byRun].map(([id, files]) => parseSession(id, files))
    } finally {
      store.close()
    }
  }
  if (flags.sessions) {
    if (!existsSync(flags.sessions)) throw new UserError(`${flags.sessions}: no such file or folder`)
    if (statSync(flags.sessions).isFile()) return [loadSessionFile(flags.sessions)]
    return findJsonl(flags.sessions).map((f) => loadSessionFile(f))
  }
  return demoTasks().filter((t) => t.sessionFile).map((t) => loadSessionFile(t.sessionFile!))
}

function findJsonl(dir: string, depth = 4): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, {withFileTypes: true}).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.isFile() && e.name.endsWith('.jsonl')) out.push(join(dir, e.name))
    else if (e.isDirectory() && e.name !== 'subagents' && depth > 0) out.push(...findJsonl(join(dir, e.name), depth - 1))
  }
  return out
}
