/**
 * `run-benchmark --control`: per-tool-call cgroups and AgentCgroup's control during real runs
 * (real Podman, the real Claude Code CLI on the replay server, real cgroups and notifications).
 * The case of issue 9: two `memory-burst` agents (each test run holds ~600 MB above the agent's
 * baseline) on a 1200 MiB node: with static equal shares a burst is OOM-killed; with
 * agentcgroup the bursts are serialised by holding one back, and both agents finish.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {BenchmarkRun} from '../../collector/benchmark.js'
import {detectCgroupSystem, OUR_ROOT} from '../../kernel/cgroup.js'
import {BIN, cli, ensureTestImage, leftovers, podmanSkipReason, testEnv} from '../collector/helpers.js'
import {tempDir} from '../fixtures/recordings.js'

const skip = podmanSkipReason()

async function sql(db: string, q: string): Promise<Record<string, unknown>[]> {
  const r = await cli(['sql', '--db', db, '--json', q])
  expect(r.code, r.stderr).toBe(0)
  return (JSON.parse(r.stdout) as {rows: Record<string, unknown>[]}).rows
}

function runs(stdout: string): BenchmarkRun[] {
  return (JSON.parse(stdout) as {runs: BenchmarkRun[]}).runs
}

/**
 * Tool-call groups of ours that are held back: frozen (v1 freezer) or parked at their limit
 * (v1 memory under_oom). The node's empty `freezekey` group is frozen on purpose: not counted.
 */
function heldToolGroups(): string[] {
  const sys = detectCgroupSystem()
  const out: string[] = []
  const walk = (dir: string) => {
    if (!existsSync(dir)) return
    const name = dir.split('/').at(-1) ?? ''
    if (/^tool-\d+$/.test(name)) {
      const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')
      if (read('freezer.state').trim() === 'FROZEN' || /under_oom 1/.test(read('memory.oom_control'))) out.push(dir)
    }
    let entries: import('node:fs').Dirent[] = []
    try {
      entries = readdirSync(dir, {withFileTypes: true})
    } catch {
      return // removed meanwhile
    }
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name))
  }
  for (const mount of [sys.freezer?.path, sys.memory?.path]) if (mount) walk(join(mount, OUR_ROOT))
  return out
}

const BURSTS = ['--tasks', 'memory-burst,memory-burst', '--concurrency', '2', '--node-memory', '1200M']

/** Two bursting agents under agentcgroup, as a real process (to be interrupted or killed). */
function startControlled(db: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'run-benchmark', '--db', db, ...BURSTS, '--control', 'agentcgroup', '--llm-latency', 'none'], {env: testEnv(), stdio: 'ignore'})
}

/** Waits (up to 4 min) until a tool call is held back; false when the child ended first. */
async function untilHeld(child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 240_000
  while (Date.now() < deadline && child.exitCode === null) {
    if (heldToolGroups().length > 0) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

describe.skipIf(skip !== null)(`run-benchmark --control (real Podman, real Claude Code)${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir: string
  beforeAll(async () => {
    dir = tempDir('agentcgroup-control-test-')
    await ensureTestImage()
  }, 900_000)
  afterAll(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('static equal shares: a burst is OOM-killed, and the run says so', async () => {
    const db = join(dir, 'static.duckdb')
    const r = await cli(['run-benchmark', '--db', db, ...BURSTS, '--control', 'static', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = runs(r.stdout)
    expect(out).toHaveLength(2)
    expect(out.reduce((a, x) => a + x.oom_kills, 0)).toBeGreaterThan(0)
    expect(out.some((x) => x.status === 'oom_killed')).toBe(true)
    for (const x of out) expect(x.control_events.kill).toBe(x.oom_kills)
    const lim = await sql(db, 'SELECT run_id, control, node_memory_bytes::DOUBLE AS node, memory_limit_bytes::DOUBLE AS lim FROM runs ORDER BY run_id')
    for (const x of lim) expect(x).toMatchObject({control: 'static', lim: 600 * 2 ** 20, node: 1200 * 2 ** 20})
    expect(leftovers(null)).toEqual([])
  }, 600_000)

  it('agentcgroup: both bursts complete, serialised by holding one back; every tool call had its own cgroup, none is left', async () => {
    const db = join(dir, 'agentcgroup.duckdb')
    const r = await cli(['run-benchmark', '--db', db, ...BURSTS, '--control', 'agentcgroup', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = runs(r.stdout)
    expect(out.map((x) => [x.status, x.tests_passed, x.oom_kills])).toEqual([['done', true, 0], ['done', true, 0]])
    const held = out.reduce((a, x) => a + x.control_events.throttle + x.control_events.freeze, 0)
    expect(held).toBeGreaterThan(0)
    const calls = await sql(db, `SELECT run_id, tool, domain, peak_mem_bytes::DOUBLE AS peak, cpu_usec::DOUBLE AS cpu, throttled_ms, frozen_ms, command, source
      FROM tool_calls WHERE domain IS NOT NULL ORDER BY run_id, start_us`)
    // per run: 3 agent Bash calls with a cgroup each (+ the shell snapshot), and the harness's test step
    for (const run of ['demo/memory-burst/attempt_1', 'demo/memory-burst/attempt_2']) {
      const mine = calls.filter((c) => c.run_id === run)
      expect(mine.length).toBeGreaterThanOrEqual(4)
      expect(new Set(mine.map((c) => c.domain)).size).toBe(mine.length)
      const bursts = mine.filter((c) => String(c.command ?? '').includes('pytest'))
      expect(bursts.length).toBeGreaterThanOrEqual(2)
      for (const b of bursts) expect(b.peak as number).toBeGreaterThan(500 * 2 ** 20)
      expect(mine.filter((c) => String(c.command ?? '') === 'git diff')).toHaveLength(1)
    }
    // the kernel's attribution: every python3 process ran in the group of a pytest call
    const procs = await sql(db, `SELECT p.run_id, p.comm, p.cgroup, c.command FROM processes p
      LEFT JOIN tool_calls c ON c.run_id = p.run_id AND c.call_id = p.call_id WHERE p.comm LIKE 'python%'`)
    expect(procs.length).toBeGreaterThanOrEqual(6)
    for (const p of procs) {
      expect(String(p.cgroup)).toMatch(/\/tool-\d+$/)
      expect(String(p.command)).toContain('pytest')
    }
    // some call of one agent was held back while the other's burst ran
    const heldCalls = calls.filter((c) => Number(c.throttled_ms ?? 0) + Number(c.frozen_ms ?? 0) > 100)
    expect(heldCalls.length).toBeGreaterThan(0)
    // the agent was told: a held-back call's result ends with the hint (the transcript keeps it)
    for (const c of heldCalls.filter((x) => x.source === 'transcript')) {
      const t = await sql(db, `SELECT count(*)::INT AS n FROM transcripts WHERE run_id = '${String(c.run_id)}' AND content LIKE '%agentcgroup: this command was paused%'`)
      expect(t[0].n, String(c.run_id)).toBe(1)
    }
    const events = await sql(db, "SELECT kind, detail FROM events WHERE kind IN ('throttle', 'freeze', 'thaw', 'unthrottle') ORDER BY t_us")
    expect(events.length).toBeGreaterThan(0)
    for (const e of events) expect(JSON.parse(String(e.detail)).domain).toMatch(/^tool-\d+$/)
    expect(leftovers(null)).toEqual([])
    expect(heldToolGroups()).toEqual([])
  }, 600_000)

  it('none at the node budget: the kernel OOM-kills inside a container and the run records it', async () => {
    const db = join(dir, 'none.duckdb')
    const r = await cli(['run-benchmark', '--db', db, ...BURSTS, '--control', 'none', '--llm-latency', 'none', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = runs(r.stdout)
    expect(out.reduce((a, x) => a + x.oom_kills, 0)).toBeGreaterThan(0)
    const ev = await sql(db, "SELECT count(*)::INT AS n FROM events WHERE kind = 'oom_kill'")
    expect(ev[0].n as number).toBeGreaterThan(0)
    expect(leftovers(null)).toEqual([])
  }, 600_000)

  it('Ctrl-C while a tool call is frozen: thawed, containers and groups removed, the run resumable', async () => {
    const child = startControlled(join(dir, 'sigint.duckdb'))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    const sawHeld = await untilHeld(child)
    child.kill('SIGINT')
    const code = await exited
    expect(sawHeld).toBe(true)
    expect(code).toBe(3) // interrupted: a partial result, resumable
    expect(heldToolGroups()).toEqual([])
    expect(leftovers(null)).toEqual([])
  }, 600_000)

  it('a SIGKILL of the harness while a tool call is held back leaves nothing frozen after the next start', async () => {
    const db = join(dir, 'killed.duckdb')
    const child = startControlled(db)
    // wait until a tool call is frozen or parked (both bursts running), then kill -9
    const sawHeld = await untilHeld(child)
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    expect(sawHeld).toBe(true)
    // the next start reaps the dead owner's node, containers and groups (thawed first)
    const again = await cli(['run-benchmark', '--db', db, '--tasks', 'memory-burst', '--agent', 'command', '--agent-command', 'true', '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stderr + again.stdout).not.toContain('FROZEN')
    expect(heldToolGroups()).toEqual([])
    expect(leftovers(null)).toEqual([])
  }, 600_000)
})
