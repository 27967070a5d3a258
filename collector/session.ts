/**
 * A recorded Claude Code session, as the replay server and the scripted agent use it: per
 * thread (the main conversation, and each sub-agent's, told apart by its prompt text), the
 * assistant turns in order with their content blocks, the recorded model latency, and the
 * tool results that followed each turn. Read from any Claude Code transcript (2.0.x inline
 * sidechains, 2.1.x `subagents/agent-*.jsonl` files beside the session) or the store's
 * `transcripts` table.
 *
 * A turn is one API message: the records sharing `message.id` (Claude Code writes each
 * content block as its own record). Its latency is from the thread's previous user record
 * (prompt or tool results) to its last block.
 */
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {isoZonedToUs} from '../datasets/clock.js'
import {RecordingError} from '../datasets/errors.js'

export type Block = Record<string, unknown>

export interface RecordedResult {
  toolUseId: string
  content: string
  isError: boolean
}

export interface RecordedTurn {
  messageId: string
  blocks: Block[]
  stopReason: string
  model: string | null
  inputTokens: number | null
  outputTokens: number | null
  /** recorded time from the request (previous user record) to the last block, ms */
  latencyMs: number | null
  /** the tool results that answered this turn's tool_use blocks, in order */
  results: RecordedResult[]
}

export interface RecordedThread {
  /** the thread's first user text (the task prompt, or the sub-agent's prompt) */
  prompt: string
  turns: RecordedTurn[]
}

export interface RecordedSession {
  name: string
  sessionId: string | null
  /** working directory of the recording (its `cwd` field), rewritten to the replay's */
  cwd: string | null
  version: string | null
  main: RecordedThread
  subagents: RecordedThread[]
}

type Rec = Record<string, unknown>

interface ThreadAcc {
  prompt: string | null
  turns: RecordedTurn[]
  byId: Map<string, RecordedTurn>
  lastUserUs: number | null
  lastTurn: RecordedTurn | null
}

/** Parses transcript texts (the session file first, sub-agent files after) into threads. */
export function parseSession(name: string, files: {file: string; text: string}[]): RecordedSession {
  const threads = new Map<string, ThreadAcc>()
  const parentOf = new Map<string, string | null>()
  let sessionId: string | null = null
  let cwd: string | null = null
  let version: string | null = null

  const rootOf = (uuid: string): string => {
    let cur = uuid
    for (let guard = 0; guard < 100_000; guard++) {
      const p = parentOf.get(cur)
      if (!p || !parentOf.has(p)) return cur
      cur = p
    }
    return cur
  }

  for (const [fileIndex, {file, text}] of files.entries()) {
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === '') continue
      let rec: Rec
      try {
        rec = JSON.parse(lines[i]) as Rec
      } catch {
        throw new RecordingError({file, line: i + 1}, 'malformed JSON line')
      }
      if (rec.type !== 'user' && rec.type !== 'assistant') continue
      const message = rec.message as Rec | undefined
      if (!message || typeof message !== 'object') continue
      if (fileIndex === 0 && !rec.isSidechain) {
        sessionId ??= typeof rec.sessionId === 'string' ? rec.sessionId : null
        cwd ??= typeof rec.cwd === 'string' ? rec.cwd : null
        version ??= typeof rec.version === 'string' ? rec.version : null
      }
      const uuid = typeof rec.uuid === 'string' ? rec.uuid : `${file}:${i}`
      // a sub-agent file is one thread; inline sidechains chain to their root by parentUuid
      let key = 'main'
      if (fileIndex > 0) key = `file:${fileIndex}`
      else if (rec.isSidechain === true) {
        parentOf.set(uuid, typeof rec.parentUuid === 'string' ? rec.parentUuid : null)
        key = `side:${rootOf(uuid)}`
      }
      let t = threads.get(key)
      if (!t) {
        t = {byId: new Map(), lastTurn: null, lastUserUs: null, prompt: null, turns: []}
        threads.set(key, t)
      }
      const tUs = typeof rec.timestamp === 'string' ? isoZonedToUs(rec.timestamp) : null
      const content = message.content
      if (rec.type === 'user') {
        if (tUs !== null) t.lastUserUs = tUs
        if (typeof content === 'string') {
          t.prompt ??= content
          continue
        }
        if (!Array.isArray(content)) continue
        for (const b of content as Block[]) {
          if (b?.type === 'text' && t.prompt === null) t.prompt = String(b.text ?? '')
          if (b?.type === 'tool_result' && t.lastTurn) {
            t.lastTurn.results.push({content: resultText(b.content), isError: b.is_error === true, toolUseId: String(b.tool_use_id ?? '')})
          }
        }
        continue
      }
      if (message.model === '<synthetic>' || rec.isApiErrorMessage === true) continue
      const id = typeof message.id === 'string' ? message.id : uuid
      let turn = t.byId.get(id)
      if (!turn) {
        turn = {
          blocks: [],
          inputTokens: null,
          latencyMs: null,
          messageId: id,
          model: typeof message.model === 'string' ? message.model : null,
          outputTokens: null,
          results: [],
          stopReason: 'end_turn',
        }
        t.byId.set(id, turn)
        t.turns.push(turn)
        ;(turn as RecordedTurn & {startUs?: number | null}).startUs = t.lastUserUs
      }
      t.lastTurn = turn
      if (Array.isArray(content)) for (const b of content as Block[]) if (b && typeof b === 'object') turn.blocks.push(b)
      const startUs = (turn as RecordedTurn & {startUs?: number | null}).startUs
      if (tUs !== null && startUs !== null && startUs !== undefined) turn.latencyMs = Math.max(0, (tUs - startUs) / 1000)
      const usage = (message.usage ?? {}) as Rec
      if (typeof usage.input_tokens === 'number') turn.inputTokens = usage.input_tokens
      if (typeof usage.output_tokens === 'number') turn.outputTokens = Math.max(turn.outputTokens ?? 0, usage.output_tokens)
      turn.stopReason = turn.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : typeof message.stop_reason === 'string' ? message.stop_reason : 'end_turn'
    }
  }
  const main = threads.get('main')
  if (!main || main.turns.length === 0) throw new RecordingError({file: files[0]?.file ?? name}, 'no assistant turns on the main thread: not a replayable session')
  const toThread = (t: ThreadAcc): RecordedThread => ({
    prompt: t.prompt ?? '',
    turns: t.turns.map((x) => {
      const {startUs: _s, ...rest} = x as RecordedTurn & {startUs?: number | null}
      return rest
    }),
  })
  return {
    cwd,
    main: toThread(main),
    name,
    sessionId,
    subagents: [...threads.entries()].filter(([k, t]) => k !== 'main' && t.turns.length > 0).map(([, t]) => toThread(t)),
    version,
  }
}

/** A session file plus its 2.1.x sub-agent files (`<file without .jsonl>/subagents/*.jsonl`). */
export function loadSessionFile(path: string): RecordedSession {
  if (!existsSync(path)) throw new RecordingError({file: path}, 'no such session file')
  const files = [{file: path, text: readFileSync(path, 'utf8')}]
  const subDir = join(dirname(path), basename(path, '.jsonl'), 'subagents')
  if (existsSync(subDir)) {
    for (const f of readdirSync(subDir).filter((n) => n.endsWith('.jsonl')).sort()) {
      files.push({file: join(subDir, f), text: readFileSync(join(subDir, f), 'utf8')})
    }
  }
  return parseSession(basename(path), files)
}

/** Text of a tool_result's content (a string, or text blocks). */
export function resultText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((c) => (c && typeof c === 'object' && (c as Rec).type === 'text' ? String((c as Rec).text ?? '') : JSON.stringify(c)))
      .join('\n')
  }
  return content === undefined || content === null ? '' : JSON.stringify(content)
}
