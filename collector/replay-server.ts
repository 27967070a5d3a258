/**
 * The replay model server: speaks the Anthropic Messages API (streaming SSE, as Claude Code
 * uses it) and answers each request with the next assistant turn of a recorded session, so
 * the real agent makes the recorded tool calls deterministically and offline.
 *
 * - Thread: a request whose first user text holds a recorded sub-agent's prompt is that
 *   sub-agent; otherwise the main thread of the session whose prompt it holds (or the only
 *   session). Turn index = number of assistant messages in the request (retries are safe).
 * - Divergence: the request's latest tool results are compared with the recorded ones
 *   (numbers in durations, the working directory and whitespace normalised); a difference is
 *   reported as an event and the replay continues. A request past the recording's end is
 *   answered with a short end_turn text and reported too.
 * - Latency: `recorded` streams each turn over its recorded duration, `none` at once, a
 *   number of ms per turn otherwise.
 * - The recorded working directory is rewritten to the agent's ("Primary working directory:").
 */
import {createServer, IncomingMessage, Server, ServerResponse} from 'node:http'
import {AddressInfo} from 'node:net'

import {Block, RecordedSession, RecordedThread, RecordedTurn, resultText} from './session.js'

export type LatencyMode = 'recorded' | 'none' | number

export interface ReplayEvent {
  kind: 'request' | 'response' | 'divergence' | 'exhausted'
  t_us: number
  thread: string
  turn: number
  detail?: string
}

export interface ReplayServerOptions {
  sessions: RecordedSession[]
  latency: LatencyMode
  /** cap on one turn's recorded latency, ms (a recording may hold hour-long pauses) */
  maxLatencyMs?: number
  onEvent?: (ev: ReplayEvent) => void
}

type Rec = Record<string, unknown>

export function parseLatency(text: string): LatencyMode {
  if (text === 'recorded' || text === 'none') return text
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0) throw new Error(`--llm-latency ${text}: expected recorded, none or a number of ms`)
  return n
}

export class ReplayServer {
  private server: Server | null = null
  private seq = 0

  constructor(private readonly opts: ReplayServerOptions) {
    if (opts.sessions.length === 0) throw new Error('replay server: no recorded session to serve')
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, apiError('api_error', `replay server: ${(error as Error).message}`))
        else res.end()
      })
    })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => resolve())
    })
    return (server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    const s = this.server
    this.server = null
    if (!s) return
    s.closeAllConnections()
    await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  private emit(ev: Omit<ReplayEvent, 't_us'>): void {
    this.opts.onEvent?.({...ev, t_us: Date.now() * 1000})
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method === 'HEAD' || (req.method === 'GET' && url.pathname === '/')) {
      res.writeHead(200).end()
      return
    }
    if (req.method !== 'POST') {
      sendJson(res, 404, apiError('not_found_error', `${req.method} ${url.pathname}`))
      return
    }
    const body = JSON.parse(await readBody(req)) as Rec
    if (url.pathname === '/v1/messages/count_tokens') {
      sendJson(res, 200, {input_tokens: Math.ceil(JSON.stringify(body).length / 4)})
      return
    }
    if (url.pathname !== '/v1/messages') {
      sendJson(res, 404, apiError('not_found_error', url.pathname))
      return
    }
    const messages = (Array.isArray(body.messages) ? body.messages : []) as Rec[]
    const cwd = workingDirectory(body.system)
    const {session, thread, name} = this.pick(messages)
    const turnIndex = messages.filter((m) => m.role === 'assistant').length
    this.emit({kind: 'request', thread: name, turn: turnIndex})
    if (turnIndex > 0) this.compareResults(name, thread.turns[turnIndex - 1], messages.at(-1), session.cwd, cwd, turnIndex)
    const turn = thread.turns[turnIndex]
    let blocks: Block[]
    let stopReason: string
    let latencyMs = 0
    if (!turn) {
      this.emit({detail: `the recording has ${thread.turns.length} turns`, kind: 'exhausted', thread: name, turn: turnIndex})
      blocks = [{text: `[agentcgroup replay] The recorded session has no turn ${turnIndex}; stopping.`, type: 'text'}]
      stopReason = 'end_turn'
    } else {
      blocks = rewriteCwd(turn.blocks, session.cwd, cwd).filter((b) => ['text', 'tool_use', 'thinking', 'redacted_thinking'].includes(String(b.type)))
      stopReason = turn.stopReason
      latencyMs = this.latencyOf(turn)
    }
    const model = typeof body.model === 'string' ? body.model : turn?.model ?? 'claude-sonnet-4-6'
    const id = `msg_replay_${process.pid}_${++this.seq}`
    const usage = {input_tokens: turn?.inputTokens ?? 0, output_tokens: turn?.outputTokens ?? 1}
    if (body.stream === true) await streamMessage(res, {blocks, id, latencyMs, model, stopReason, usage})
    else sendJson(res, 200, {content: blocks, id, model, role: 'assistant', stop_reason: stopReason, stop_sequence: null, type: 'message', usage})
    this.emit({kind: 'response', thread: name, turn: turnIndex})
  }

  private latencyOf(turn: RecordedTurn): number {
    const mode = this.opts.latency
    if (mode === 'none') return 0
    if (typeof mode === 'number') return mode
    return Math.min(turn.latencyMs ?? 0, this.opts.maxLatencyMs ?? 120_000)
  }

  /** Which recorded thread a request continues (see the header). */
  private pick(messages: Rec[]): {session: RecordedSession; thread: RecordedThread; name: string} {
    const first = normalizeSpace(userText(messages.find((m) => m.role === 'user')))
    const holds = (prompt: string) => prompt.trim() !== '' && first.includes(normalizeSpace(prompt))
    for (const session of this.opts.sessions) {
      for (const [i, sub] of session.subagents.entries()) {
        if (holds(sub.prompt)) return {name: `subagent-${i}`, session, thread: sub}
      }
    }
    const session = this.opts.sessions.find((s) => holds(s.main.prompt)) ?? this.opts.sessions[0]
    return {name: 'main', session, thread: session.main}
  }

  private compareResults(name: string, recorded: RecordedTurn | undefined, last: Rec | undefined, recCwd: string | null, cwd: string | null, turn: number): void {
    if (!recorded || !last || last.role !== 'user' || !Array.isArray(last.content)) return
    const actual = (last.content as Block[]).filter((b) => b?.type === 'tool_result')
    const expected = recorded.results
    if (actual.length !== expected.length) {
      this.emit({detail: `expected ${expected.length} tool results, got ${actual.length}`, kind: 'divergence', thread: name, turn})
    }
    for (let i = 0; i < Math.min(actual.length, expected.length); i++) {
      const a = normalizeResult(resultText(actual[i].content), cwd, recCwd)
      const e = normalizeResult(expected[i].content, null, null)
      const aErr = actual[i].is_error === true
      if (a !== e || aErr !== expected[i].isError) {
        // show where they part, not just how they start
        let at = 0
        while (at < a.length && at < e.length && a[at] === e[at]) at++
        const from = Math.max(0, at - 60)
        const detail = JSON.stringify({
          actual: a.slice(from, at + 240),
          actual_is_error: aErr,
          at,
          expected: e.slice(from, at + 240),
          expected_is_error: expected[i].isError,
          tool_use_id: expected[i].toolUseId,
        })
        this.emit({detail, kind: 'divergence', thread: name, turn})
      }
    }
  }
}

interface StreamSpec {
  id: string
  model: string
  blocks: Block[]
  stopReason: string
  usage: {input_tokens: number; output_tokens: number}
  latencyMs: number
}

/** SSE as the Messages API streams it, the blocks spread evenly over the turn's latency. */
async function streamMessage(res: ServerResponse, spec: StreamSpec): Promise<void> {
  res.writeHead(200, {'cache-control': 'no-cache', connection: 'keep-alive', 'content-type': 'text/event-stream'})
  const events: [string, Rec][] = []
  events.push(['message_start', {message: {content: [], id: spec.id, model: spec.model, role: 'assistant', stop_reason: null, stop_sequence: null, type: 'message', usage: {cache_creation_input_tokens: 0, cache_read_input_tokens: 0, input_tokens: spec.usage.input_tokens, output_tokens: 1}}, type: 'message_start'}])
  events.push(['ping', {type: 'ping'}])
  for (const [index, b] of spec.blocks.entries()) {
    for (const ev of blockEvents(b, index)) events.push([String(ev.type), ev])
  }
  events.push(['message_delta', {delta: {stop_reason: spec.stopReason, stop_sequence: null}, type: 'message_delta', usage: {output_tokens: spec.usage.output_tokens}}])
  events.push(['message_stop', {type: 'message_stop'}])
  // the agent records a block when its content_block_stop arrives: spread the events so the
  // last block completes at the recorded latency, and end the message right after it
  const lastStop = events.map(([name]) => name).lastIndexOf('content_block_stop')
  const gap = lastStop > 0 ? spec.latencyMs / lastStop : 0
  for (const [i, [name, data]] of events.entries()) {
    if (i > 0 && i <= lastStop && gap > 0) await sleep(gap)
    if (res.destroyed) return
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
  }
  res.end()
}

function blockEvents(b: Block, index: number): Rec[] {
  const start = (content_block: Rec): Rec => ({content_block, index, type: 'content_block_start'})
  const delta = (d: Rec): Rec => ({delta: d, index, type: 'content_block_delta'})
  const stop: Rec = {index, type: 'content_block_stop'}
  switch (b.type) {
    case 'text':
      return [start({text: '', type: 'text'}), ...chunks(String(b.text ?? ''), 400).map((text) => delta({text, type: 'text_delta'})), stop]
    case 'tool_use': {
      const json = JSON.stringify(b.input ?? {})
      return [start({id: b.id, input: {}, name: b.name, type: 'tool_use'}), ...chunks(json, 400).map((p) => delta({partial_json: p, type: 'input_json_delta'})), stop]
    }
    case 'thinking':
      return [
        start({signature: '', thinking: '', type: 'thinking'}),
        ...chunks(String(b.thinking ?? ''), 400).map((thinking) => delta({thinking, type: 'thinking_delta'})),
        delta({signature: typeof b.signature === 'string' && b.signature !== '' ? b.signature : 'agentcgroup-replay', type: 'signature_delta'}),
        stop,
      ]
    default:
      return [start(b), stop]
  }
}

function chunks(s: string, n: number): string[] {
  if (s === '') return ['']
  const out: string[] = []
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n))
  return out
}

/** The agent's cwd, from the system prompt's "Primary working directory: <dir>". */
export function workingDirectory(system: unknown): string | null {
  const text = typeof system === 'string' ? system : Array.isArray(system) ? system.map((s) => String((s as Rec)?.text ?? '')).join('\n') : ''
  const m = /Primary working directory: (\S+)/.exec(text)
  return m ? m[1] : null
}

function rewriteCwd(blocks: Block[], from: string | null, to: string | null): Block[] {
  if (!from || !to || from === to) return blocks
  return blocks.map((b) => (b.type === 'tool_use' ? {...b, input: JSON.parse(JSON.stringify(b.input ?? {}).split(from).join(to)) as unknown} : b))
}

/** Tool output that legitimately changes between runs: durations, temp names, cwd, spacing. */
export function normalizeResult(text: string, cwd: string | null, recordedCwd: string | null): string {
  let t = cwd && recordedCwd && cwd !== recordedCwd ? text.split(cwd).join(recordedCwd) : text
  // the CLI appends reminders to tool results in the request that its transcript does not keep
  t = t
    .replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '')
    .replace(/\b\d+(\.\d+)?(s|ms| seconds?)\b/g, 'N$2')
    .replace(/\b\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\b/g, 'HH:MM')
    // dates too (ls -l, git log): a recording replayed on another day is not a divergence
    .replace(/\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2}\b/g, 'MON DD')
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, 'YYYY-MM-DD')
    .replace(/\/tmp\/[\w.-]+/g, '/tmp/X')
    .replace(/\b(0x)?[0-9a-f]{7,40}\b/g, 'HASH')
  return t.replace(/\s+/g, ' ').trim()
}

function userText(m: Rec | undefined): string {
  if (!m) return ''
  if (typeof m.content === 'string') return m.content
  if (!Array.isArray(m.content)) return ''
  return (m.content as Block[]).filter((b) => b?.type === 'text').map((b) => String(b.text ?? '')).join('\n')
}

function normalizeSpace(s: string): string {
  return s.replace(/\s+/g, ' ').trim()
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
}

function apiError(type: string, message: string): Rec {
  return {error: {message, type}, type: 'error'}
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
