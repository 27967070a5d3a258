/**
 * The agent adapters through one attempt each, on the local runtime (a cgroup of ours on the
 * host): the real Claude Code CLI against the replay server, the scripted agent, a command.
 * Needs root (cgroups); skips saying so otherwise.
 */
import {describe, expect, it} from 'vitest'

import {ClaudeCodeAgent, projectSlug} from '../../../collector/agents/claude-code.js'
import {CommandAgent, commandComms, shellQuote} from '../../../collector/agents/command.js'
import {ScriptedAgent} from '../../../collector/agents/scripted.js'
import type {Agent} from '../../../collector/agents/types.js'
import {runAttempt} from '../../../collector/attempt.js'
import {LocalRuntime} from '../../../collector/runtime/local.js'
import {demoCatalog} from '../../../collector/tasks.js'
import {detectCgroupSystem} from '../../../kernel/cgroup.js'
import {leftovers} from '../helpers.js'

const skip = process.getuid?.() !== 0 ? 'needs root (cgroups of ours)' : null

async function attempt(agent: Agent, taskId = 'cstats') {
  const sys = detectCgroupSystem()
  const task = demoCatalog().find((t) => t.id === taskId)!
  return runAttempt({agent, attempt: 1, intervalMs: 50, latency: 'none', log: () => {}, runId: `demo/${taskId}/attempt_1`, runtime: new LocalRuntime(sys), sessionFiles: [task.sessionFile!], sys, task, timeoutMs: 120_000})
}

describe('agent adapters (pure parts)', () => {
  it('quote placeholders for the shell and name Claude Code project folders', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`)
    expect(projectSlug('/testbed')).toBe('-testbed')
    expect(projectSlug('/tmp/agentcgroup-run-1/repo')).toBe('-tmp-agentcgroup-run-1-repo')
    const cc = new ClaudeCodeAgent()
    expect(cc.toolShell("/bin/bash -c 'source /cc-home/.claude/shell-snapshots/snapshot-bash-1.sh 2>/dev/null || true && shopt -u extglob 2>/dev/null || true && eval '\\''make test'\\'' < /dev/null'")).toBe('Bash')
    expect(cc.toolShell('/opt/claude-code/vendor/ripgrep/x64-linux/rg --files')).toBe('Glob|Grep')
    expect(cc.toolShell('claude')).toBeNull()
    // the command agent's program, by the name the kernel gives it
    expect(commandComms('FOO=1 /usr/local/bin/a-very-long-agent-name --x {prompt}')).toEqual({agentComms: ['a-very-long-age'], callComms: ['bash', 'sh', 'dash', 'zsh']})
    expect(commandComms('{prompt}')).toBeUndefined()
  })
})

describe.skipIf(skip !== null)(`agent adapters on the local runtime${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  it('claude-code: the real CLI solves the task through the replay server, its transcript parsed', async () => {
    const rec = await attempt(new ClaudeCodeAgent())
    expect(rec.run).toMatchObject({agent: 'claude-code', agent_version: '2.1.112', error: null, runtime: 'local', status: 'done', tests_passed: true})
    const transcript = rec.toolCalls.filter((c) => c.source === 'transcript')
    expect(transcript.map((c) => c.tool)).toEqual(['Bash', 'Bash', 'Read', 'Read', 'Edit', 'Bash', 'Bash'])
    expect(transcript.every((c) => c.end_us !== null)).toBe(true)
    // the kernel's view of the same Bash calls (their wrapper shells), matched one to one
    const kernel = rec.toolCalls.filter((c) => c.source === 'kernel')
    expect(kernel.map((c) => c.command)).toEqual(transcript.filter((c) => c.tool === 'Bash').map((c) => c.command))
    // the BPF sampler marked the calls' boundaries in the kernel (Claude Code's node and its shells)
    expect(rec.run.notes).toMatch(/kernel tool calls \(marked in the kernel\): 4, 4 matched to the transcript/)
    const roots = rec.processes.filter((p) => p.call_root === p.pid)
    expect(roots.length).toBeGreaterThanOrEqual(4)
    for (const p of rec.processes.filter((x) => x.call_id !== null && x.call_id !== undefined)) expect(p.call_root).not.toBe(null)
    expect(rec.llmTurns.length).toBe(8)
    expect(rec.transcripts).toHaveLength(1)
    expect(rec.samples.length).toBeGreaterThan(10)
    expect(rec.processes.some((p) => p.call_id !== null && /make|cc1/.test(p.comm ?? ''))).toBe(true)
    expect(rec.events.filter((e) => e.kind === 'divergence')).toEqual([])
    expect(leftovers(process.pid)).toEqual([])
  }, 180_000)

  it('scripted: runs the recorded tool calls through a real shell, without the CLI', async () => {
    const rec = await attempt(new ScriptedAgent(), 'durations')
    expect(rec.run).toMatchObject({agent: 'scripted', status: 'done', tests_passed: true})
    expect(rec.toolCalls.length).toBe(15)
    expect(rec.toolCalls.every((c) => c.source === 'scripted')).toBe(true)
    expect(rec.toolCalls.filter((c) => c.tool === 'Bash').length).toBe(12)
    expect(rec.processes.some((p) => p.call_id !== null && p.comm === 'bash')).toBe(true)
  }, 180_000)

  it('command: any command line, placeholders quoted; a non-zero exit fails the run', async () => {
    const ok = await attempt(new CommandAgent('case {prompt} in *"Fix this issue"*"stats_sum()"*) test {task} = cstats && test -f {workdir}/Makefile;; *) exit 9;; esac'))
    expect(ok.run).toMatchObject({exit_code: 0, status: 'done', tests_passed: false})
    // no transcript: its tool calls are the shells its program runs, marked in the kernel
    const calls = await attempt(new CommandAgent(`bash -c 'bash -c "ls {workdir} > /dev/null"; /bin/true; bash -c "echo made > /dev/null"; :'`))
    const kernel = calls.toolCalls.filter((c) => c.source === 'kernel')
    expect(kernel.map((c) => c.command)).toEqual([expect.stringMatching(/^ls .* > \/dev\/null$/), 'echo made > /dev/null'])
    expect(calls.run.notes).toMatch(/kernel tool calls \(marked in the kernel\): 2, 0 matched/)
    const bad = await attempt(new CommandAgent('echo nope >&2; exit 4'))
    expect(bad.run).toMatchObject({error: 'agent exited 4: nope', exit_code: 4, status: 'failed'})
  }, 60_000)
})
