import {spawnSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, describe, expect, it} from 'vitest'

import {Ledger, ledgerPathFor} from '../../../collector/ledger.js'
import {tempDir} from '../../fixtures/recordings.js'

const dirs: string[] = []
function fresh(): Ledger {
  const d = tempDir('agentcgroup-ledger-')
  dirs.push(d)
  return new Ledger(join(d, 'l.sqlite'))
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {force: true, recursive: true})
})

const row = (task: string, n = 1) => ({agent: 'claude-code', attempt: n, catalog: 'demo', run_id: `demo/${task}/attempt_${n}`, runtime: 'podman', task_id: task})

describe('run ledger', () => {
  it('lives beside the store', () => {
    expect(ledgerPathFor('/x/y/agentcgroup.duckdb')).toBe('/x/y/agentcgroup.ledger.sqlite')
    expect(ledgerPathFor('study.db')).toBe('study.db.ledger.sqlite')
  })

  it('plans once: planning again keeps the states', () => {
    const l = fresh()
    l.plan([row('a'), row('b')])
    expect(l.claim('demo/a/attempt_1')).toBe(true)
    l.finish('demo/a/attempt_1', 'done', 'done', null)
    l.plan([row('a'), row('b'), row('b', 2)])
    expect(l.all().map((r) => [r.run_id, r.state])).toEqual([
      ['demo/a/attempt_1', 'done'],
      ['demo/b/attempt_1', 'pending'],
      ['demo/b/attempt_2', 'pending'],
    ])
    l.close()
  })

  it('runs a done attempt again when the store no longer has it (a deleted store)', () => {
    const l = fresh()
    l.plan([row('a'), row('b')])
    for (const id of ['demo/a/attempt_1', 'demo/b/attempt_1']) {
      l.claim(id)
      l.finish(id, 'done', 'done', null)
    }
    expect(l.recover(() => false, (id) => id === 'demo/a/attempt_1')).toEqual(['demo/b/attempt_1'])
    expect(l.all().map((r) => [r.run_id, r.state])).toEqual([
      ['demo/a/attempt_1', 'done'],
      ['demo/b/attempt_1', 'pending'],
    ])
    l.close()
  })

  it('claims an attempt only once', () => {
    const l = fresh()
    l.plan([row('a')])
    expect(l.claim('demo/a/attempt_1')).toBe(true)
    expect(l.claim('demo/a/attempt_1')).toBe(false)
    expect(l.get('demo/a/attempt_1')).toMatchObject({owner_pid: process.pid, state: 'running', tries: 1})
    l.close()
  })

  it('gives a dead owner\'s attempts back (or marks them done when the store has the run)', () => {
    const l = fresh()
    l.plan([row('a'), row('b')])
    // a child claims both and dies by SIGKILL before finishing
    const ledgerModule = join(process.cwd(), 'dist', 'collector', 'ledger.js')
    const script = `const {Ledger} = await import(${JSON.stringify(ledgerModule)}); const l = new Ledger(${JSON.stringify(l.path)}); l.claim('demo/a/attempt_1'); l.claim('demo/b/attempt_1'); process.kill(process.pid, 'SIGKILL')`
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {cwd: process.cwd()})
    expect(r.signal).toBe('SIGKILL')
    const recovered = l.recover((pid) => pid === process.pid, (id) => id === 'demo/b/attempt_1')
    expect(recovered.sort()).toEqual(['demo/a/attempt_1', 'demo/b/attempt_1'])
    expect(l.get('demo/a/attempt_1')).toMatchObject({owner_pid: null, state: 'pending', tries: 1})
    expect(l.get('demo/b/attempt_1')).toMatchObject({state: 'done'})
    l.close()
  })

  it('releases interrupted attempts and retries failed ones on request; errors are redacted', () => {
    const l = fresh()
    l.plan([row('a'), row('b')])
    l.claim('demo/a/attempt_1')
    l.release('demo/a/attempt_1', 'interrupted')
    expect(l.get('demo/a/attempt_1')?.state).toBe('pending')
    l.claim('demo/b/attempt_1')
    l.finish('demo/b/attempt_1', 'failed', 'not_started', 'ANTHROPIC_API_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz rejected')
    expect(l.get('demo/b/attempt_1')?.error).toBe('ANTHROPIC_API_KEY=[REDACTED:secret] rejected')
    l.retry(['demo/b/attempt_1'], ['failed'])
    expect(l.get('demo/b/attempt_1')?.state).toBe('pending')
    l.close()
  })
})
