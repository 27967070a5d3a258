import {writeFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {Args, Flags} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {packageVersion} from '../../datasets/export/package-info.js'
import {buildTrace, loadTimelineData} from '../../datasets/export/timeline.js'
import type {Store} from '../../datasets/store.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {withStore} from '../open-store.js'

export interface TimelineResult {
  out: string
  run_id: string
  bytes: number
  events: number
  processes: number
  tool_calls: number
  llm_turns: number
  counter_points: number
  instants: number
}

export default class Timeline extends BaseCommand {
  static override args = {
    run: Args.string({description: 'run id (<dataset>/<task>/attempt_<n>, see `agentcgroup runs`)', required: true}),
  }

  static override description = `Write one run as a Perfetto / Chrome trace (JSON) to open in ui.perfetto.dev or chrome://tracing.

One track per process (exec to exit, argv and pid as args), the agent's LLM turns and tool calls as slices on the agent track (overlapping calls on extra agent lanes), the run's phases, memory and CPU as counter tracks, and OOM kills, throttling and freezes as instant events; timestamps are the run's absolute clock (UTC microseconds).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> all_images_haiku/dask__dask-11628/attempt_1',
    '<%= config.bin %> <%= command.id %> all_images_haiku/dask__dask-11628/attempt_1 --out dask.perfetto.json',
  ]

  static override flags = {
    db: dbFlag,
    out: Flags.string({description: 'output file (default: the run id with / as _, .perfetto.json)'}),
  }

  async run(): Promise<TimelineResult> {
    const {args, flags} = await this.parse(Timeline)
    const out = resolve(flags.out ?? `${args.run.replaceAll('/', '_')}.perfetto.json`)
    const trace = await withStore(flags.db, 'read', async (store) => {
      const data = await loadTimelineData(store, args.run)
      if (!data) throw new UserError(`${store.path}: no run ${args.run}${await suggestion(store, args.run)}`)
      return buildTrace(data, `agentcgroup ${packageVersion()} timeline`)
    })
    const text = JSON.stringify(trace)
    try {
      writeFileSync(out, text)
    } catch (error) {
      throw new UserError(`${out}: cannot write: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
    const count = (pred: (e: (typeof trace.traceEvents)[number]) => boolean) => trace.traceEvents.filter(pred).length
    const result: TimelineResult = {
      bytes: Buffer.byteLength(text),
      counter_points: count((e) => e.ph === 'C'),
      events: trace.traceEvents.length,
      instants: count((e) => e.ph === 'i'),
      llm_turns: count((e) => e.cat === 'llm_turn'),
      out,
      processes: count((e) => e.cat === 'process'),
      run_id: args.run,
      tool_calls: count((e) => e.cat === 'tool_call'),
    }
    if (!this.jsonEnabled()) {
      this.log(`Wrote ${out} (${result.processes} processes, ${result.tool_calls} tool calls, ${result.llm_turns} LLM turns, ${result.counter_points} counter points, ${result.instants} instant events); open it in ui.perfetto.dev or chrome://tracing.`)
    }
    return result
  }
}

async function suggestion(store: Store, runId: string): Promise<string> {
  const task = runId.split('/').find((part) => part.includes('__')) ?? runId
  const rows = await store.query("SELECT run_id FROM runs WHERE run_id ILIKE '%' || $t || '%' ORDER BY run_id LIMIT 3", {t: task})
  return rows.length > 0 ? ` (did you mean ${rows.map((r) => String(r.run_id)).join(', ')}?)` : ' (see `agentcgroup runs`)'
}
