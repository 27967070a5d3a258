import {ChildProcess, spawn} from 'node:child_process'

import {afterEach, describe, expect, it} from 'vitest'

import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {demoTasks} from '../../../datasets/catalog/demo.js'
import {tempDir} from '../../fixtures/recordings.js'
import {BIN, cli, testEnv} from '../helpers.js'

const children: ChildProcess[] = []
function serve(args: string[]): ChildProcess & {stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream} {
  const child = spawn(process.execPath, [BIN, 'serve-replay', ...args], {env: testEnv()})
  children.push(child)
  return child as never
}
// a failed test must not leave a server running
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

describe('agentcgroup serve-replay', () => {
  it('serves the demo sessions on a port, answers a streaming request, and reports with --json', async () => {
    const child = serve(['--port', '0', '--llm-latency', 'none', '--max-requests', '1'])
    let stderr = ''
    let stdout = ''
    ;(child.stdout as NodeJS.ReadStream).setEncoding('utf8').on('data', (d: string) => (stdout += d))
    const port = await new Promise<number>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
        const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)
        if (m) resolve(Number(m[1]))
      })
      child.once('exit', () => reject(new Error(`exited: ${stderr}`)))
      setTimeout(() => reject(new Error(`no port announced within 30 s: ${stderr}`)), 30_000)
    })
    expect(stderr).toContain('replaying 4 session(s)')
    const res = await fetch(`http://127.0.0.1:${port}/v1/messages?beta=true`, {
      body: JSON.stringify({messages: [{content: 'Fix this issue: ### stats_sum() returns negative totals', role: 'user'}], model: 'claude-sonnet-4-6', stream: true}),
      method: 'POST',
    })
    const text = await res.text()
    expect(text.startsWith('event: message_start\n')).toBe(true)
    expect(text.trimEnd().endsWith('event: message_stop\ndata: {"type":"message_stop"}')).toBe(true)
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(0)
    expect(stderr).toContain('request main turn 0')
    void stdout
  })

  it('serves a session from the store (an imported transcript)', async () => {
    const dir = tempDir('agentcgroup-serve-db-')
    try {
      const db = join(dir, 's.duckdb')
      const session = demoTasks().find((t) => t.id === 'durations')!.sessionFile!
      const imp = await cli(['import', session, '--db', db, '--dataset', 'mine', '--json'])
      expect(imp.code, imp.stderr).toBe(0)
      const runId = String((await cli(['sql', '--db', db, '--json', 'SELECT run_id FROM transcripts']).then((r) => JSON.parse(r.stdout) as {rows: {run_id: string}[]})).rows[0].run_id)
      const child = serve(['--db', db, '--run', runId, '--port', '0', '--llm-latency', 'none', '--max-requests', '1', '--json'])
      let stderr = ''
      let stdout = ''
      ;(child.stdout as NodeJS.ReadStream).setEncoding('utf8').on('data', (d: string) => (stdout += d))
      const port = await new Promise<number>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (d: string) => {
          stderr += d
          const m = /127\.0\.0\.1:(\d+)/.exec(stderr)
          if (m) resolve(Number(m[1]))
        })
        child.once('exit', () => reject(new Error(`exited: ${stderr} ${stdout}`)))
        setTimeout(() => reject(new Error(`no port announced within 30 s: ${stderr}`)), 30_000)
      })
      const res = await fetch(`http://127.0.0.1:${port}/v1/messages`, {body: JSON.stringify({messages: [{content: 'anything', role: 'user'}], model: 'm', stream: false}), method: 'POST'})
      const msg = (await res.json()) as {content: {type: string; input?: {command?: string}}[]; stop_reason: string}
      expect(msg.stop_reason).toBe('tool_use')
      expect(msg.content.find((b) => b.type === 'tool_use')?.input?.command).toBe('ls -la')
      await new Promise((resolve) => child.once('exit', resolve))
      expect(JSON.parse(stdout)).toMatchObject({divergences: 0, requests: 1, sessions: 1})
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })

  it('refuses a bad latency with one line', async () => {
    const child = serve(['--llm-latency', 'fast'])
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(1)
    expect(stderr.trim()).toBe('Error: --llm-latency fast: expected recorded, none or a number of ms')
  })
})
