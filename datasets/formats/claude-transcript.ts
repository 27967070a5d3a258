/**
 * Claude Code session transcripts (JSONL, one record per line; versions 2.0.x and 2.1.x).
 * Records: `user` (prompt, or tool_result blocks), `assistant` (one content block each;
 * tool_use, text, thinking), `summary` and `last-prompt` (no timestamp: ignored for time),
 * `queue-operation` (2.1.x). Timestamps are UTC ISO with 'Z'.
 *
 * Tool calls pair tool_use.id with tool_result.tool_use_id; a call without a result keeps a
 * null end. Sub-agent records (2.0.x) are inline with isSidechain:true, chained by
 * parentUuid to a root user record that holds the Task prompt; their calls get the Task
 * call as parent_call_id. An LLM turn is one API message (records sharing message.id): it
 * starts when the thread's previous user record was appended and ends at its last block.
 */
import {isoZonedToUs} from '../clock.js'
import {RecordingError} from '../errors.js'
import type {LlmTurnRow, ToolCallRow} from '../model.js'
import {redactSecrets} from '../redact.js'
import {categorizeBash} from './bash-category.js'

export interface ParsedTranscript {
  firstUs: number | null
  lastUs: number | null
  records: number
  toolCalls: ToolCallRow[]
  llmTurns: LlmTurnRow[]
  agentVersion: string | null
  modelActual: string | null
  sessionId: string | null
  /** false when the prompt's issue text was empty (the runner's missing /issue.md) */
  issuePresent: boolean | null
  sidechainRecords: number
}

type Rec = Record<string, unknown>

interface OpenCall {
  row: ToolCallRow
  prompt: string | null
}

interface TurnAcc {
  row: LlmTurnRow
  thread: string
}

export function parseClaudeTranscript(file: string, text: string): ParsedTranscript {
  const calls = new Map<string, OpenCall>()
  const order: ToolCallRow[] = []
  const turns = new Map<string, TurnAcc>()
  const turnOrder: LlmTurnRow[] = []
  const parentOf = new Map<string, string | null>()
  const rootTask = new Map<string, string | null>()
  const lastInputUs = new Map<string, number>()
  const models = new Map<string, number>()
  let firstUs: number | null = null
  let lastUs: number | null = null
  let records = 0
  let sidechainRecords = 0
  let agentVersion: string | null = null
  let sessionId: string | null = null
  let issuePresent: boolean | null = null
  let seenPrompt = false

  const rootOf = (uuid: string): string => {
    let cur = uuid
    for (let guard = 0; guard < 100_000; guard++) {
      const parent = parentOf.get(cur)
      if (!parent || !parentOf.has(parent)) return cur
      cur = parent
    }
    return cur
  }

  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.trim() === '') continue
    const lineNo = i + 1
    let rec: Rec
    try {
      rec = JSON.parse(line) as Rec
    } catch {
      const truncated = i === lines.length - 1 && !text.endsWith('\n')
      throw new RecordingError({file, line: lineNo}, truncated ? 'truncated JSON line (file ends mid-record)' : 'malformed JSON line')
    }
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
      throw new RecordingError({file, line: lineNo}, 'record is not a JSON object')
    }
    records++
    const type = rec.type
    if (type === 'summary' || type === 'last-prompt') continue
    let tUs: number | null = null
    if (rec.timestamp !== undefined) {
      tUs = typeof rec.timestamp === 'string' ? isoZonedToUs(rec.timestamp) : null
      if (tUs === null) throw new RecordingError({field: 'timestamp', file, line: lineNo}, `not an ISO-8601 UTC time: ${JSON.stringify(rec.timestamp).slice(0, 40)}`)
      if (firstUs === null || tUs < firstUs) firstUs = tUs
      if (lastUs === null || tUs > lastUs) lastUs = tUs
    }
    if (type !== 'user' && type !== 'assistant') continue
    if (tUs === null) throw new RecordingError({field: 'timestamp', file, line: lineNo}, `${type} record without a timestamp`)
    if (typeof rec.version === 'string') agentVersion ??= rec.version
    if (typeof rec.sessionId === 'string') sessionId ??= rec.sessionId
    const uuid = typeof rec.uuid === 'string' ? rec.uuid : `line-${lineNo}`
    const parentUuid = typeof rec.parentUuid === 'string' ? rec.parentUuid : null
    const sidechain = rec.isSidechain === true
    // only sidechain records chain to a sub-agent root; main-thread records end the walk
    if (sidechain) parentOf.set(uuid, parentUuid)
    if (sidechain) sidechainRecords++
    const thread = sidechain ? rootOf(uuid) : 'main'
    const message = rec.message as Rec | undefined
    if (typeof message !== 'object' || message === null) {
      throw new RecordingError({field: 'message', file, line: lineNo}, `${type} record without a message object`)
    }
    const content = message.content

    if (type === 'user') {
      lastInputUs.set(thread, tUs)
      if (typeof content === 'string') {
        if (!sidechain && !seenPrompt) {
          seenPrompt = true
          issuePresent = issueTextPresent(content)
        }
        if (sidechain && thread === uuid) rootTask.set(uuid, findTaskForPrompt(calls, content))
        continue
      }
      if (!Array.isArray(content)) continue
      for (const [j, block] of (content as Rec[]).entries()) {
        if (block?.type === 'text' && sidechain && thread === uuid && !rootTask.has(uuid)) {
          rootTask.set(uuid, findTaskForPrompt(calls, String(block.text ?? '')))
        }
        if (block?.type !== 'tool_result') continue
        const id = block.tool_use_id
        if (typeof id !== 'string') throw new RecordingError({field: `message.content[${j}].tool_use_id`, file, line: lineNo}, 'tool_result without a tool_use_id')
        const open = calls.get(id)
        if (!open) continue
        const row = open.row
        row.end_us = tUs
        row.is_error = block.is_error === true
        row.result_bytes = resultBytes(block.content)
        if (row.tool === 'Bash') row.exit_code = bashExitCode(block, rec.toolUseResult)
      }
      continue
    }

    // assistant
    const model = typeof message.model === 'string' ? message.model : null
    const synthetic = model === '<synthetic>' || rec.isApiErrorMessage === true
    if (!synthetic) {
      if (model && !sidechain) models.set(model, (models.get(model) ?? 0) + 1)
      const msgId = typeof message.id === 'string' ? message.id : `line-${lineNo}`
      const usage = (message.usage ?? {}) as Rec
      // counts go to BIGINT columns: a float or a 1e30 would fail the whole write, not this line
      const tokens = (key: string): unknown => {
        const v = usage[key]
        if (typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0)) {
          throw new RecordingError({field: `message.usage.${key}`, file, line: lineNo}, `not a token count: ${v}`)
        }
        return v
      }
      let acc = turns.get(msgId)
      if (!acc) {
        acc = {
          row: {
            end_us: tUs,
            is_sidechain: sidechain,
            message_id: msgId,
            model,
            start_us: lastInputUs.get(thread) ?? tUs,
            turn: turnOrder.length,
          },
          thread,
        }
        turns.set(msgId, acc)
        turnOrder.push(acc.row)
      }
      const row = acc.row
      row.end_us = Math.max(row.end_us ?? tUs, tUs)
      row.input_tokens = maxNum(row.input_tokens, tokens('input_tokens'))
      row.output_tokens = maxNum(row.output_tokens, tokens('output_tokens'))
      row.cache_read_tokens = maxNum(row.cache_read_tokens, tokens('cache_read_input_tokens'))
      row.cache_creation_tokens = maxNum(row.cache_creation_tokens, tokens('cache_creation_input_tokens'))
      if (typeof message.stop_reason === 'string') row.stop_reason = message.stop_reason
    }
    if (!Array.isArray(content)) continue
    for (const [j, block] of (content as Rec[]).entries()) {
      if (block?.type !== 'tool_use') continue
      const id = block.id
      const name = block.name
      if (typeof id !== 'string' || typeof name !== 'string') {
        // name the field that is wrong, at its block index
        const key = typeof id !== 'string' ? 'id' : 'name'
        throw new RecordingError({field: `message.content[${j}].${key}`, file, line: lineNo}, `tool_use without a string ${key}`)
      }
      const input = (typeof block.input === 'object' && block.input !== null ? block.input : {}) as Rec
      const command = typeof input.command === 'string' ? redactSecrets(input.command) : null
      const row: ToolCallRow = {
        bash_category: name === 'Bash' && command !== null ? categorizeBash(command) : null,
        call_id: id,
        command: name === 'Bash' ? command : null,
        description: typeof input.description === 'string' ? redactSecrets(input.description) : null,
        end_us: null,
        input_json: redactSecrets(JSON.stringify(input)),
        is_sidechain: sidechain,
        parent_call_id: sidechain ? rootTask.get(thread) ?? null : null,
        seq: order.length,
        source: 'transcript',
        start_us: tUs,
        tool: name,
      }
      calls.set(id, {prompt: name === 'Task' && typeof input.prompt === 'string' ? input.prompt : null, row})
      order.push(row)
    }
  }

  let modelActual: string | null = null
  let best = 0
  for (const [m, n] of models) if (n > best) [modelActual, best] = [m, n]
  return {
    agentVersion,
    firstUs,
    issuePresent,
    lastUs,
    llmTurns: turnOrder,
    modelActual,
    records,
    sessionId,
    sidechainRecords,
    toolCalls: order,
  }
}

/** The open Task call whose prompt is this sub-agent's first message (else the newest open Task). */
function findTaskForPrompt(calls: Map<string, OpenCall>, prompt: string): string | null {
  let newestOpen: string | null = null
  for (const {prompt: p, row} of calls.values()) {
    if (row.tool !== 'Task' || row.end_us !== null) continue
    if (p !== null && p === prompt) return row.call_id
    newestOpen = row.call_id
  }
  return newestOpen
}

/** The paper runner's prompt is "Fix this issue: <issue text>\n\nIMPORTANT...". */
function issueTextPresent(prompt: string): boolean | null {
  const m = /^Fix this issue:([\s\S]*?)(?:\n\nIMPORTANT|$)/.exec(prompt)
  if (!m) return null
  return m[1].trim().length > 0
}

function resultBytes(content: unknown): number {
  if (typeof content === 'string') return Buffer.byteLength(content)
  if (content === undefined || content === null) return 0
  return Buffer.byteLength(JSON.stringify(content))
}

function bashExitCode(block: Rec, toolUseResult: unknown): number | null {
  const tur = (typeof toolUseResult === 'object' && toolUseResult !== null ? toolUseResult : {}) as Rec
  if (tur.interrupted === true) return null
  if (block.is_error !== true) return 0
  const text = typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '')
  const m = /Exit code (\d+)/.exec(text)
  return m ? Number(m[1]) : null
}

function maxNum(cur: number | null | undefined, v: unknown): number | null {
  if (typeof v !== 'number') return cur ?? null
  return cur === null || cur === undefined ? v : Math.max(cur, v)
}
