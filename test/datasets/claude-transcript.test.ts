import {describe, expect, it} from 'vitest'

import {RecordingError} from '../../datasets/errors.js'
import {parseClaudeTranscript} from '../../datasets/formats/claude-transcript.js'
import {isoZ, sampleTranscript, T0, TranscriptBuilder} from '../fixtures/recordings.js'

const us = (tAfter: number) => Date.parse(isoZ(T0 + 2 + tAfter)) * 1000

describe('Claude Code transcript parsing', () => {
  it('pairs tool_use with tool_result by id, with exact start and end', () => {
    const p = parseClaudeTranscript('trace.jsonl', sampleTranscript().jsonl())
    const byId = Object.fromEntries(p.toolCalls.map((c) => [c.call_id, c]))
    expect(p.toolCalls.map((c) => c.call_id)).toEqual(['toolu_bash1', 'toolu_read1', 'toolu_task1', 'toolu_side1', 'toolu_bash2'])
    expect(byId.toolu_bash1).toMatchObject({
      bash_category: 'Test Execution',
      command: 'python -m pytest tests/ -x',
      end_us: us(10),
      exit_code: 1,
      is_error: true,
      start_us: us(3),
      tool: 'Bash',
    })
    expect(byId.toolu_bash2).toMatchObject({bash_category: 'Git Operations', exit_code: 0, is_error: false})
    expect(byId.toolu_read1.result_bytes).toBe('print(1)'.length)
    expect(p.firstUs).toBe(us(0))
    expect(p.lastUs).toBe(us(40))
  })

  it('marks sub-agent calls as sidechain and links them to the Task that contains them', () => {
    const p = parseClaudeTranscript('trace.jsonl', sampleTranscript().jsonl())
    const side = p.toolCalls.filter((c) => c.is_sidechain)
    expect(side.map((c) => [c.call_id, c.parent_call_id])).toEqual([['toolu_side1', 'toolu_task1']])
    expect(p.toolCalls.filter((c) => !c.is_sidechain).every((c) => c.parent_call_id === null)).toBe(true)
    expect(p.sidechainRecords).toBe(3)
  })

  it('picks the right Task for parallel sub-agents by their prompt', () => {
    const t = new TranscriptBuilder()
      .prompt(0)
      .toolUse(1, 'task_a', 'Task', {prompt: 'Explore A'}, {msgId: 'm1'})
      .toolUse(1.1, 'task_b', 'Task', {prompt: 'Explore B'}, {msgId: 'm1'})
      .sidePrompt(2, 'Explore A')
      .toolUse(3, 'side_a', 'Read', {file_path: 'a'}, {sidechain: true})
      .toolResult(3.5, 'side_a', 'x', {sidechain: true})
      .sidePrompt(2.5, 'Explore B')
      .toolUse(4, 'side_b', 'Read', {file_path: 'b'}, {sidechain: true})
      .toolResult(4.5, 'side_b', 'y', {sidechain: true})
      .toolResult(9, 'task_a', 'A done')
      .toolResult(10, 'task_b', 'B done')
    const p = parseClaudeTranscript('t.jsonl', t.jsonl())
    expect(Object.fromEntries(p.toolCalls.filter((c) => c.is_sidechain).map((c) => [c.call_id, c.parent_call_id]))).toEqual({side_a: 'task_a', side_b: 'task_b'})
  })

  it('keeps a call that never got a result, with a null end', () => {
    const t = new TranscriptBuilder().prompt(0).toolUse(1, 'lost', 'Bash', {command: 'sleep 999'})
    const p = parseClaudeTranscript('t.jsonl', t.jsonl())
    expect(p.toolCalls).toHaveLength(1)
    expect(p.toolCalls[0]).toMatchObject({call_id: 'lost', end_us: null})
    expect(p.toolCalls[0].exit_code ?? null).toBeNull()
  })

  it('makes one LLM turn per API message, from the request to its last block, with tokens', () => {
    const t = new TranscriptBuilder()
      .prompt(0)
      .toolUse(4, 'a', 'Read', {file_path: 'x'}, {msgId: 'm1', usage: {cache_read_input_tokens: 7, input_tokens: 10, output_tokens: 3}})
      .toolUse(5, 'b', 'Read', {file_path: 'y'}, {msgId: 'm1', usage: {input_tokens: 10, output_tokens: 30}})
      .toolResult(6, 'a', '1')
      .toolResult(6.5, 'b', '2')
      .text(9, 'done', {msgId: 'm2'})
    const p = parseClaudeTranscript('t.jsonl', t.jsonl())
    expect(p.llmTurns).toEqual([
      expect.objectContaining({cache_read_tokens: 7, end_us: us(5), input_tokens: 10, message_id: 'm1', output_tokens: 30, start_us: us(0), turn: 0}),
      expect.objectContaining({end_us: us(9), message_id: 'm2', start_us: us(6.5), turn: 1}),
    ])
    expect(p.modelActual).toBe('claude-3-5-haiku-20241022')
  })

  it('ignores summary and timestamp-less last-prompt records, counts queue-operation in the span', () => {
    const t = new TranscriptBuilder(T0 + 2, '2.1.16', 'claude-haiku-4-5-20251001')
      .raw({leafUuid: 'nowhere', summary: 'old title', type: 'summary'})
      .raw({operation: 'enqueue', timestamp: isoZ(T0 + 1), type: 'queue-operation'})
      .prompt(0)
      .text(3, 'ok')
      .raw({lastPrompt: 'x', type: 'last-prompt'})
    const p = parseClaudeTranscript('t.jsonl', t.jsonl())
    expect(p.firstUs).toBe(Date.parse(isoZ(T0 + 1)) * 1000)
    expect(p.agentVersion).toBe('2.1.16')
    expect(p.modelActual).toBe('claude-haiku-4-5-20251001')
    expect(p.records).toBe(5)
  })

  it('detects an empty issue in the runner\'s prompt', () => {
    const empty = new TranscriptBuilder().prompt(0, 'Fix this issue: \n\nIMPORTANT: run the tests')
    expect(parseClaudeTranscript('t', empty.jsonl()).issuePresent).toBe(false)
    expect(parseClaudeTranscript('t', sampleTranscript().jsonl()).issuePresent).toBe(true)
    expect(parseClaudeTranscript('t', new TranscriptBuilder().prompt(0, 'hello').jsonl()).issuePresent).toBeNull()
  })

  it('names the line of a malformed or truncated record', () => {
    const text = sampleTranscript().jsonl()
    const lines = text.split('\n')
    const broken = [...lines.slice(0, 2), '{"type": "user", ', ...lines.slice(3)].join('\n')
    expect(() => parseClaudeTranscript('trace.jsonl', broken)).toThrow(new RecordingError({file: 'trace.jsonl', line: 3}, 'malformed JSON line'))
    const truncated = text.slice(0, text.length - 30)
    const n = truncated.split('\n').length
    expect(() => parseClaudeTranscript('trace.jsonl', truncated)).toThrow(`trace.jsonl:${n}: truncated JSON line (file ends mid-record)`)
  })

  it('redacts secrets from commands and inputs', () => {
    const t = new TranscriptBuilder().prompt(0).toolUse(1, 'k', 'Bash', {command: 'ANTHROPIC_API_KEY=sk-ant-api03-AAAAAAAAAAAAAAAAAAAA claude -p hi'})
    const [call] = parseClaudeTranscript('t', t.jsonl()).toolCalls
    expect(call.command).not.toContain('sk-ant-api03')
    expect(call.input_json).not.toContain('sk-ant-api03')
  })
})
