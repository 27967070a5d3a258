/**
 * tool_calls.json of the paper's runner, used only when the transcript is missing.
 * Full schema: [{timestamp, tool, id, input, end_timestamp, result_preview}] (UTC 'Z').
 * Old batch schema: [{timestamp, tool, id}] (no end, no input). It has no sidechain flag.
 */
import {isoZonedToUs, naiveLocalToUs} from '../clock.js'
import {RecordingError} from '../errors.js'
import type {ToolCallRow} from '../model.js'
import {redactSecrets} from '../redact.js'
import {categorizeBash} from './bash-category.js'
import {Fields, readJsonFile} from './json-file.js'

export interface ParsedToolCalls {
  calls: ToolCallRow[]
  schema: 'full' | 'old'
  assumedUtc: boolean
}

export function readToolCallsJson(file: string, localOffsetMin: number | null): ParsedToolCalls {
  const top = readJsonFile(file)
  if (!Array.isArray(top)) throw new RecordingError({file}, 'top level must be a JSON array of tool calls')
  // an empty key: fields read `[3].tool`, as the file has no key above the array
  const holder = new Fields(file, {'': top})
  let assumedUtc = false
  let full = false
  const time = (c: Fields, key: string, i: number): number | null => {
    const s = c.str(key)
    if (s === null) return null
    const zoned = isoZonedToUs(s)
    if (zoned !== null) return zoned
    if (localOffsetMin === null) assumedUtc = true
    const naive = naiveLocalToUs(s, localOffsetMin ?? 0)
    if (naive === null) throw new RecordingError({field: `[${i}].${key}`, file}, `not an ISO-8601 time: ${JSON.stringify(s).slice(0, 40)}`)
    return naive
  }
  const calls = top.map((item, i): ToolCallRow => {
    const c = holder.item('', i, item)
    const input = c.obj_('input')
    if (input || c.has('end_timestamp')) full = true
    const tool = c.reqStr('tool')
    const command = input?.str('command') ?? null
    return {
      bash_category: tool === 'Bash' && command !== null ? categorizeBash(command) : null,
      call_id: c.reqStr('id'),
      command: tool === 'Bash' && command !== null ? redactSecrets(command) : null,
      description: input?.str('description') ? redactSecrets(input.str('description')!) : null,
      end_us: time(c, 'end_timestamp', i),
      input_json: input ? redactSecrets(JSON.stringify(input.obj)) : null,
      is_sidechain: null,
      seq: i,
      source: 'tool_calls.json',
      start_us: time(c, 'timestamp', i),
      tool,
    }
  })
  return {assumedUtc, calls, schema: full ? 'full' : 'old'}
}
