/**
 * `agentcgroup record --control`: every `$SHELL -c` the recorded command runs (an agent's tool
 * calls) gets its own cgroup through our wrapper and broker, and under agentcgroup the
 * controller keeps the calls within --memory-limit. Real cgroups, the real wrapper, the
 * notifier's fast path. Workload: two overlapping 250 MiB bursts through $SHELL, the second
 * starting while the first holds its memory: together they exceed the 400 MiB limit, each
 * alone fits.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {RecordCommandResult} from '../../cli/commands/record.js'
import {buildWorkload, cgroupSkipReason, MiB, query} from '../collector/workload.js'
import {leftovers} from '../collector/helpers.js'

async function record(args: string[]): Promise<RecordCommandResult> {
  const {error, stdout} = await runCommand(['record', '--json', ...args], {root: process.cwd()})
  if (error) throw error
  return JSON.parse(stdout) as RecordCommandResult
}

describe.skipIf(cgroupSkipReason !== null)(`record --control (real cgroups)${cgroupSkipReason ? ` [skipped: ${cgroupSkipReason}]` : ''}`, () => {
  let dir: string
  let workload: {bin: string; cleanup: () => void}
  let script: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'agentcgroup-record-control-'))
    workload = buildWorkload()
    script = join(dir, 'bursts.sh')
    // the first call holds 250 MiB for 2.5 s; the second starts 1 s later and holds 250 MiB for 0.5 s
    writeFileSync(script, `"$SHELL" -c '${workload.bin} alloc 250 2500 0' & first=$!\nsleep 1\n"$SHELL" -c '${workload.bin} alloc 250 500 0' || exit 3\nwait $first || exit 4\n`)
  })
  afterAll(() => {
    workload?.cleanup()
    rmSync(dir, {force: true, recursive: true})
  })

  it('observe: each $SHELL -c in its own cgroup, measured, nothing acted on', async () => {
    const db = join(dir, 'observe.duckdb')
    const r = await record(['--db', db, '--control', 'observe', '--label', 'bursts', '--', 'bash', script])
    expect(r).toMatchObject({exit_code: 0, oom_kills: 0, status: 'done'})
    const calls = await query(db, 'SELECT domain, source, peak_mem_bytes::DOUBLE AS peak, cpu_usec::DOUBLE AS cpu, throttled_ms, frozen_ms, exit_code FROM tool_calls ORDER BY start_us')
    expect(calls.map((c) => [c.domain, c.source, c.exit_code])).toEqual([['tool-0', 'domain', 0], ['tool-1', 'domain', 0]])
    for (const c of calls) {
      expect(Number(c.peak)).toBeGreaterThan(250 * MiB)
      expect(Number(c.peak)).toBeLessThan(280 * MiB)
      expect(Number(c.cpu)).toBeGreaterThan(0)
      expect([c.throttled_ms, c.frozen_ms]).toEqual([0, 0])
    }
    const run = await query(db, 'SELECT control, node_memory_bytes FROM runs')
    expect(run[0]).toMatchObject({control: 'observe', node_memory_bytes: null})
    expect(leftovers(null)).toEqual([])
  }, 60_000)

  it('static: the limit on the whole command OOM-kills a burst', async () => {
    const db = join(dir, 'static.duckdb')
    const r = await record(['--db', db, '--control', 'static', '--memory-limit', '400M', '--label', 'bursts', '--', 'bash', script])
    expect(r.oom_kills).toBeGreaterThan(0)
    expect(r.exit_code).not.toBe(0)
    expect(leftovers(null)).toEqual([])
  }, 60_000)

  it('agentcgroup: the later call is held back until the earlier one ends, and both complete', async () => {
    const db = join(dir, 'agentcgroup.duckdb')
    const r = await record(['--db', db, '--control', 'agentcgroup', '--memory-limit', '400M', '--label', 'bursts', '--', 'bash', script])
    expect(r).toMatchObject({exit_code: 0, oom_kills: 0, status: 'done'})
    const calls = await query(db, 'SELECT domain, peak_mem_bytes::DOUBLE AS peak, throttled_ms, frozen_ms, start_us::DOUBLE AS s, end_us::DOUBLE AS e FROM tool_calls ORDER BY start_us')
    expect(calls.map((c) => c.domain)).toEqual(['tool-0', 'tool-1'])
    const [first, second] = calls
    expect([first.throttled_ms, first.frozen_ms]).toEqual([0, 0])
    // held back (frozen: a v1 limit would fail its system calls with ENOMEM) from when the node
    // crossed its throttle level until the first call ended
    expect(Number(second.frozen_ms)).toBeGreaterThan(500)
    expect(Number(second.e)).toBeGreaterThan(Number(first.e))
    expect(Number(second.peak)).toBeGreaterThan(250 * MiB)
    const events = await query(db, "SELECT kind, detail FROM events WHERE kind IN ('throttle', 'unthrottle', 'freeze', 'thaw') ORDER BY t_us")
    expect(events.map((e) => e.kind)).toContain('freeze')
    expect(events.map((e) => e.kind)).toContain('thaw')
    for (const e of events) expect(JSON.parse(String(e.detail))).toMatchObject({domain: 'tool-1'})
    const run = await query(db, 'SELECT control, node_memory_bytes::DOUBLE AS node FROM runs')
    expect(run[0]).toMatchObject({control: 'agentcgroup', node: 400 * MiB})
    expect(leftovers(null)).toEqual([])
  }, 60_000)

  it('refuses agentcgroup without a budget, in one line', async () => {
    const {stderr} = await runCommand(['record', '--control', 'agentcgroup', '--', 'true'], {root: process.cwd()})
    expect(stderr.trim().split('\n')).toEqual(['Error: --control agentcgroup needs --memory-limit SIZE (the budget it keeps the command under)'])
  })
})
