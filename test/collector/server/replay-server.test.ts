import {afterEach, describe, expect, it} from 'vitest'

import {normalizeResult, ReplayEvent, ReplayServer} from '../../../collector/replay-server.js'
import {loadSessionFile, parseSession} from '../../../collector/session.js'
import {demoTasks} from '../../../datasets/catalog/demo.js'

type Msg = {role: 'user' | 'assistant'; content: unknown}

/** Reads an SSE response into its events and rebuilds the message the way a client does. */
async function post(port: number, messages: Msg[], system = 'Primary working directory: /testbed'): Promise<{events: {event: string; data: any}[]; blocks: any[]; stop: string | null}> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/messages?beta=true`, {
    body: JSON.stringify({max_tokens: 32000, messages, model: 'claude-sonnet-4-6', stream: true, system: [{text: system, type: 'text'}]}),
    headers: {'content-type': 'application/json'},
    method: 'POST',
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/event-stream')
  const text = await res.text()
  const events = text
    .split('\n\n')
    .filter((f) => f.trim() !== '')
    .map((f) => {
      const [e, d] = f.split('\n')
      expect(e.startsWith('event: ')).toBe(true)
      expect(d.startsWith('data: ')).toBe(true)
      return {data: JSON.parse(d.slice(6)), event: e.slice(7)}
    })
  const blocks: any[] = []
  let stop: string | null = null
  for (const {data} of events) {
    if (data.type === 'content_block_start') blocks[data.index] = {...data.content_block, _json: ''}
    if (data.type === 'content_block_delta') {
      const b = blocks[data.index]
      if (data.delta.type === 'text_delta') b.text += data.delta.text
      if (data.delta.type === 'input_json_delta') b._json += data.delta.partial_json
      if (data.delta.type === 'thinking_delta') b.thinking += data.delta.thinking
      if (data.delta.type === 'signature_delta') b.signature = data.delta.signature
    }
    if (data.type === 'content_block_stop' && blocks[data.index].type === 'tool_use') blocks[data.index].input = JSON.parse(blocks[data.index]._json)
    if (data.type === 'message_delta') stop = data.delta.stop_reason
  }
  return {blocks, events, stop}
}

const servers: ReplayServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close()
})

async function start(sessions = [loadSessionFile(demoTasks().find((t) => t.id === 'cstats')!.sessionFile!)], latency: 'none' | number = 'none') {
  const events: ReplayEvent[] = []
  const server = new ReplayServer({latency, onEvent: (e) => events.push(e), sessions})
  servers.push(server)
  return {events, port: await server.listen(0), sessions}
}

describe('replay model server', () => {
  it('compares tool results without the day they ran on (ls -l, ISO dates), but still their content', () => {
    const rec = '-rw-r--r-- 1 root root 41 Nov 25 23:04 .gitignore\ncommit on 2026-11-25'
    expect(normalizeResult('-rw-r--r-- 1 root root 41 Nov 26 00:27 .gitignore\ncommit on 2026-11-26', null, null)).toBe(normalizeResult(rec, null, null))
    expect(normalizeResult('-rw-r--r-- 1 root root 42 Nov 26 00:27 .gitignore', null, null)).not.toBe(normalizeResult(rec, null, null))
  })


  it('answers HEAD and streams the recorded turns in the Messages API event order', async () => {
    const {port, sessions} = await start()
    expect((await fetch(`http://127.0.0.1:${port}/`, {method: 'HEAD'})).status).toBe(200)
    const prompt = sessions[0].main.prompt
    const r0 = await post(port, [{content: prompt, role: 'user'}])
    const names = r0.events.map((e) => e.event)
    expect(names.slice(0, 2)).toEqual(['message_start', 'ping'])
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop'])
    expect(r0.events[0].data.message.content).toEqual([])
    expect(r0.stop).toBe('tool_use')
    const recorded = sessions[0].main.turns[0].blocks
    const tool = r0.blocks.find((b) => b.type === 'tool_use')
    expect(tool.input).toEqual(recorded.find((b) => b.type === 'tool_use')!.input)
    expect(r0.blocks.some((b) => b.type === 'thinking' && b.signature)).toBe(true)
  })

  it('takes the turn index from the assistant messages in the request, so retries get the same turn', async () => {
    const {port, sessions} = await start()
    const turns = sessions[0].main.turns
    const history: Msg[] = [{content: sessions[0].main.prompt, role: 'user'}]
    for (let i = 0; i < 2; i++) {
      history.push({content: turns[i].blocks, role: 'assistant'})
      history.push({content: turns[i].results.map((r) => ({content: r.content, is_error: r.isError, tool_use_id: r.toolUseId, type: 'tool_result'})), role: 'user'})
    }
    const a = await post(port, history)
    const b = await post(port, history)
    expect(a.blocks.map((x) => x.id ?? x.text)).toEqual(b.blocks.map((x) => x.id ?? x.text))
    expect(a.blocks.find((x) => x.type === 'tool_use')?.id).toBe(turns[2].blocks.find((x) => x.type === 'tool_use')?.id)
  })

  it('records a divergence when a tool result differs, and keeps replaying', async () => {
    const {events, port, sessions} = await start()
    const t0 = sessions[0].main.turns[0]
    const toolId = t0.results[0].toolUseId
    const r = await post(port, [
      {content: sessions[0].main.prompt, role: 'user'},
      {content: t0.blocks, role: 'assistant'},
      {content: [{content: 'something else entirely', is_error: true, tool_use_id: toolId, type: 'tool_result'}], role: 'user'},
    ])
    expect(r.blocks.length).toBeGreaterThan(0)
    const div = events.filter((e) => e.kind === 'divergence')
    expect(div).toHaveLength(1)
    expect(JSON.parse(div[0].detail!)).toMatchObject({actual: 'something else entirely', actual_is_error: true, tool_use_id: toolId})
  })

  it('answers past the recording with end_turn and reports it', async () => {
    const {events, port, sessions} = await start()
    const history: Msg[] = [{content: sessions[0].main.prompt, role: 'user'}]
    for (const t of sessions[0].main.turns) history.push({content: t.blocks, role: 'assistant'}, {content: 'ok', role: 'user'})
    const r = await post(port, history)
    expect(r.stop).toBe('end_turn')
    expect(events.some((e) => e.kind === 'exhausted')).toBe(true)
  })

  it('rewrites the recorded working directory to the agent\'s', async () => {
    const {port, sessions} = await start()
    const r = await post(port, [{content: sessions[0].main.prompt, role: 'user'}], 'x\nPrimary working directory: /tmp/agentcgroup-run-1/repo\ny')
    const read = await post(port, [
      {content: sessions[0].main.prompt, role: 'user'},
      ...sessions[0].main.turns.slice(0, 2).flatMap((t) => [{content: t.blocks, role: 'assistant' as const}, {content: 'x', role: 'user' as const}]),
    ], 'Primary working directory: /tmp/agentcgroup-run-1/repo')
    expect(r.stop).toBe('tool_use')
    const readCall = read.blocks.find((b) => b.type === 'tool_use')
    expect(readCall.name).toBe('Read')
    expect(readCall.input.file_path).toBe('/tmp/agentcgroup-run-1/repo/src/stats.c')
  })

  it('tells sub-agents apart by their prompt, each from turn 0', async () => {
    const ts = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString()
    const rec = (o: object) => JSON.stringify(o)
    const lines = [
      rec({cwd: '/w', isSidechain: false, message: {content: 'main task', role: 'user'}, parentUuid: null, sessionId: 's', timestamp: ts(0), type: 'user', uuid: 'u0'}),
      rec({isSidechain: false, message: {content: [{id: 'T1', input: {description: 'd', prompt: 'find the bug please'}, name: 'Task', type: 'tool_use'}], id: 'm0', model: 'm', role: 'assistant'}, parentUuid: 'u0', timestamp: ts(2), type: 'assistant', uuid: 'a0'}),
      rec({isSidechain: true, message: {content: 'find the bug please', role: 'user'}, parentUuid: null, timestamp: ts(3), type: 'user', uuid: 's0'}),
      rec({isSidechain: true, message: {content: [{text: 'sub answer', type: 'text'}], id: 'm1', model: 'm', role: 'assistant'}, parentUuid: 's0', timestamp: ts(5), type: 'assistant', uuid: 's1'}),
      rec({isSidechain: false, message: {content: [{content: 'sub answer', tool_use_id: 'T1', type: 'tool_result'}], role: 'user'}, parentUuid: 'a0', timestamp: ts(6), type: 'user', uuid: 'u1'}),
      rec({isSidechain: false, message: {content: [{text: 'all done', type: 'text'}], id: 'm2', model: 'm', role: 'assistant'}, parentUuid: 'u1', timestamp: ts(9), type: 'assistant', uuid: 'a1'}),
    ]
    const session = parseSession('t.jsonl', [{file: 't.jsonl', text: lines.join('\n')}])
    expect(session.subagents).toHaveLength(1)
    expect(session.main.turns.map((t) => t.latencyMs)).toEqual([2000, 3000])
    const {port} = await start([session])
    const sub = await post(port, [{content: [{text: '<system-reminder>x</system-reminder>', type: 'text'}, {text: 'find the bug please', type: 'text'}], role: 'user'}])
    expect(sub.blocks[0].text).toBe('sub answer')
    const main = await post(port, [{content: 'main task', role: 'user'}])
    expect(main.blocks[0].name).toBe('Task')
  })

  it('streams a turn over the given latency', async () => {
    const {port, sessions} = await start(undefined, 400)
    const t0 = performance.now()
    await post(port, [{content: sessions[0].main.prompt, role: 'user'}])
    expect(performance.now() - t0).toBeGreaterThanOrEqual(380)
  })
})
