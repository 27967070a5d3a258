import {describe, expect, it} from 'vitest'

import {ClaudeCodeAgent} from '../../collector/agents/claude-code.js'
import {attributeProcesses} from '../../collector/attribute.js'
import {kernelToolCalls, shellCommand} from '../../collector/kernel-calls.js'
import type {ProcessRow, ToolCallRow} from '../../datasets/model.js'

const wrap = (cmd: string) => `/bin/bash -c 'source /cc-home/.claude/shell-snapshots/snapshot-bash-1-x.sh 2>/dev/null || true && shopt -u extglob 2>/dev/null || true && eval '\\''${cmd}'\\'' < /dev/null && pwd -P >| /tmp/claude-1-cwd'`
const proc = (pid: number, ppid: number, comm: string, argv: string, start: number, end: number): ProcessRow => ({argv, call_id: null, comm, end_us: end, pid, ppid, source: 'bpf', start_us: start})
const call = (id: string, tool: string, start: number, end: number, command: string | null = null): ToolCallRow => ({call_id: id, command, end_us: end, is_sidechain: false, seq: 0, source: 'transcript', start_us: start, tool})

describe('processes to tool calls', () => {
  const cc = new ClaudeCodeAgent()
  const ms = 1000
  // two Bash calls 5 ms apart (no model latency): time windows alone would mix them up
  const calls = [call('A', 'Bash', 100 * ms, 200 * ms, 'make test'), call('B', 'Bash', 105 * ms, 300 * ms, 'git diff'), call('R', 'Read', 101 * ms, 102 * ms)]
  const procs = () => [
    proc(10, 1, 'node', 'node /opt/claude-code/cli.js -p x', 0, 400 * ms),
    proc(11, 10, 'bash', "/bin/bash -c -l 'SNAPSHOT_FILE=/cc-home/.claude/shell-snapshots/s.sh'", 90 * ms, 95 * ms),
    proc(12, 10, 'bash', wrap('make test'), 103 * ms, 190 * ms),
    proc(13, 12, 'make', 'make test', 104 * ms, 189 * ms),
    proc(14, 13, 'cc1', 'cc1 x.c', 110 * ms, 150 * ms),
    proc(15, 10, 'bash', wrap('git diff'), 106 * ms, 290 * ms),
    proc(16, 15, 'git', 'git diff', 107 * ms, 280 * ms),
  ]

  it('gives every process under a Bash wrapper the call of that wrapper, in call order', () => {
    const p = procs()
    expect(attributeProcesses(p, calls, (a) => cc.toolShell(a))).toBe(5)
    expect(Object.fromEntries(p.map((x) => [x.comm + x.pid, x.call_id]))).toEqual({bash11: null, bash12: 'A', bash15: 'B', cc114: 'A', git16: 'B', make13: 'A', node10: null})
  })

  it('makes kernel tool calls of the wrappers, matched to the transcript with offsets', () => {
    const p = procs()
    attributeProcesses(p, calls, (a) => cc.toolShell(a))
    const k = kernelToolCalls(p, calls, (a) => cc.toolShell(a), 3)
    expect(k.calls.map((c) => [c.source, c.tool, c.command, c.description, c.seq])).toEqual([
      ['kernel', 'Bash', 'make test', 'kernel view of A', 3],
      ['kernel', 'Bash', 'git diff', 'kernel view of B', 4],
    ])
    expect(k.summary).toBe('kernel tool calls (from the process tree): 2, 2 matched to the transcript; start +2 ms, end -10 ms (median, kernel minus transcript)')
  })

  it('follows the kernel\'s call marks when the BPF sampler made them: reparented processes too', () => {
    const p = procs()
    const mark = (pid: number, root: number | null) => (p.find((x) => x.pid === pid)!.call_root = root)
    for (const [pid, root] of [[10, null], [11, 11], [12, 12], [13, 12], [14, 12], [15, 15], [16, 15]] as const) mark(pid, root)
    // cc1's parent exited first: it was reparented to init, the tree walk would lose it
    p.find((x) => x.pid === 14)!.ppid = 1
    // a daemon the first call started, reparented, and a pid reused later by an unmarked process
    p.push(proc(17, 1, 'server', 'python3 -m http.server', 120 * ms, 380 * ms), proc(12, 10, 'git', 'git status', 350 * ms, 360 * ms))
    p.find((x) => x.pid === 17)!.call_root = 12
    p.at(-1)!.call_root = null
    expect(attributeProcesses(p, calls, (a) => cc.toolShell(a))).toBe(6)
    expect(p.filter((x) => x.call_id === 'A').map((x) => x.pid)).toEqual([12, 13, 14, 17])
    // the snapshot shell is a root the kernel marked, but not a Bash call's wrapper
    expect(p.find((x) => x.pid === 11)!.call_id).toBe(null)
    const k = kernelToolCalls(p, calls, (a) => cc.toolShell(a), 3)
    expect(k.calls.map((c) => c.command)).toEqual(['make test', 'git diff'])
    expect(k.summary).toMatch(/^kernel tool calls \(marked in the kernel\): 2, 2 matched/)
  })

  it('reads the command out of the wrapper however Claude Code quoted it', () => {
    const argv = `/bin/bash -c 'source /s.sh 2>/dev/null || true && eval '\\''find . -name '\\''"'\\''"'\\''*.py'\\''"'\\''"'\\'' | sort'\\'' < /dev/null && pwd -P >| /tmp/c'`
    expect(shellCommand(argv)).toBe("find . -name '*.py' | sort")
    expect(shellCommand("sh -c 'echo hi'")).toBe('echo hi')
  })
})
