/**
 * Tool-call domains to transcript calls: the command strings below are built the way Claude
 * Code 2.1.112 builds them (cli.js: A5 quoting, '"'"' for an embedded quote, `< /dev/null` except
 * after a heredoc, a pipe's command quoted whole), so the matcher is tested on what it will see.
 */
import {describe, expect, it} from 'vitest'

import {applyDomains, attributeToDomains, domainCommand, type DomainRecord, unquoteEscapes, withDomains} from '../../collector/domains/match.js'
import {evaledCommand, shellCommand} from '../../collector/kernel-calls.js'
import type {ProcessRow, ToolCallRow} from '../../datasets/model.js'

const S = 1_000_000
const T0 = 1_770_000_000 * S
const SNAPSHOT = '/cc-home/.claude/shell-snapshots/snapshot-bash-1770000000000-k3x9qa.sh'

/** Claude Code's A5 quoting of one word. */
function a5(q: string): string {
  if (q === '') return "''"
  if (/^[A-Za-z0-9_./:=@+,-]+$/.test(q)) return q
  return `'${q.replaceAll("'", `'"'"'`)}'`
}

/** Claude Code's Bash command string for a command (buildExecCommand with a snapshot). */
function ccString(cmd: string): string {
  const heredoc = /<<-?\s*(?:(['"]?)(\w+)\1|\\(\w+))/.test(cmd)
  const multilineQuote = /'(?:[^'\\]|\\.)*\n(?:[^'\\]|\\.)*'/.test(cmd) || /"(?:[^"\\]|\\.)*\n(?:[^"\\]|\\.)*"/.test(cmd)
  const quoted = `'${cmd.replaceAll("'", `'"'"'`)}'`
  let w = heredoc ? quoted : multilineQuote ? `${quoted} < /dev/null` : `${a5(cmd)} < /dev/null`
  if (cmd.includes('|') && !heredoc) w = `${quoted} < /dev/null`
  return `source ${SNAPSHOT} 2>/dev/null || true && shopt -u extglob 2>/dev/null || true && eval ${w} && pwd -P >| /tmp/claude-5f1e-cwd`
}

function call(seq: number, command: string | null, start: number, end: number | null, extra: Partial<ToolCallRow> = {}): ToolCallRow {
  return {call_id: `toolu_${seq}`, command, end_us: end === null ? null : T0 + end * S, is_sidechain: false, seq, source: 'transcript', start_us: T0 + start * S, tool: 'Bash', ...extra}
}

let nextSeq = 0
function domain(argv: string[], start: number, end: number, m: Partial<DomainRecord> = {}): DomainRecord {
  const seq = nextSeq++
  return {argv, cpuUsec: 1000 * (seq + 1), endUs: T0 + end * S, exitCode: 0, frozenMs: 0, name: `tool-${seq}`, oomKills: 0, peakMemBytes: (seq + 1) * 1e6, startUs: T0 + start * S, throttledMs: 0, ...m}
}
const cc = (cmd: string, start: number, end: number, m: Partial<DomainRecord> = {}) => domain(['-c', ccString(cmd)], start, end, m)

const SNAPSHOT_SCRIPT = `SNAPSHOT_FILE=${SNAPSHOT}
      source "/cc-home/.bashrc" < /dev/null

      # First, create/clear the snapshot file
      echo "# Snapshot file" >| "$SNAPSHOT_FILE"`

describe('domainCommand', () => {
  it('is the argument after -c, past -l, whatever the shell was called with', () => {
    expect(domainCommand({argv: ['-c', 'echo hi']})).toBe('echo hi')
    expect(domainCommand({argv: ['-c', '-l', SNAPSHOT_SCRIPT]})).toBe(SNAPSHOT_SCRIPT)
    expect(domainCommand({argv: ['-lc', 'echo "$PATH"']})).toBe('echo "$PATH"')
    expect(domainCommand({argv: ['/tmp/step.sh', 'x']})).toBe('/tmp/step.sh x')
    expect(domainCommand({argv: ['-c']})).toBe('')
  })

  it("reads Claude Code's wrapped command back, as the kernel view does", () => {
    for (const cmd of ["find . -name '*.py' -not -path './.pydeps/*' | sort", 'git diff', `python3 -c "print('a b')"`, "cat > n.txt <<'EOF'\nit's\nEOF"]) {
      expect(evaledCommand(ccString(cmd))).toBe(cmd)
      // the same string as a process argv (POSIX-quoted by the sampler) gives the same command
      expect(shellCommand(`/bin/bash -c '${ccString(cmd).replaceAll("'", `'\\''`)}'`)).toBe(cmd)
    }
    expect(evaledCommand('make test')).toBeNull()
    expect(unquoteEscapes(`bash -c 'grep '\\''a b'\\'' x'`)).toBe("bash -c 'grep 'a b' x'")
  })
})

describe('applyDomains', () => {
  it('fills the matching Bash calls: quotes, newlines, heredocs, pipes, a secret, and two identical commands', () => {
    nextSeq = 0
    const cmds = {
      find: "find . -name '*.py' -not -path './.pydeps/*' | sort",
      heredoc: "cat > notes.txt <<'EOF'\nit's done: $HOME stays literal\nEOF",
      loop: 'for f in a b; do\n  echo "$f"\ndone',
      py: `python3 -c 'import os\nprint(os.getcwd(), "x")'`,
      secret: 'ANTHROPIC_API_KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrSt curl -s localhost',
    }
    const calls = [
      call(0, 'git diff', 10, 12),
      call(1, cmds.find, 13, 14),
      call(2, cmds.heredoc, 15, 16),
      call(3, cmds.loop, 17, 18),
      call(4, cmds.py, 19, 22),
      call(5, 'ANTHROPIC_API_KEY=[REDACTED:anthropic-key] curl -s localhost', 23, 24),
      call(6, 'git diff', 25, 27),
      {...call(7, null, 11, 11.2), command: null, tool: 'Read'},
    ]
    const domains = [
      cc('git diff', 25.05, 26.9, {peakMemBytes: 7e6}),
      cc('git diff', 10.05, 11.9, {frozenMs: 350, oomKills: 1, peakMemBytes: 5e6, throttledMs: 1200}),
      cc(cmds.find, 13.02, 13.9),
      cc(cmds.heredoc, 15.02, 15.9),
      cc(cmds.loop, 17.02, 17.9),
      cc(cmds.py, 19.02, 21.9, {exitCode: 1}),
      cc(cmds.secret, 23.02, 23.9),
    ]
    const extra = applyDomains(calls, domains, {runId: 'ds/t/attempt_1'})
    expect(extra).toEqual([])
    expect(calls.map((c) => c.domain ?? null)).toEqual(['tool-1', 'tool-2', 'tool-3', 'tool-4', 'tool-5', 'tool-6', 'tool-0', null])
    // the first git diff got the first domain's measurements, not the second's
    expect(calls[0]).toMatchObject({cpu_usec: 2000, frozen_ms: 350, oom_kills: 1, peak_mem_bytes: 5e6, throttled_ms: 1200})
    expect(calls[6]).toMatchObject({frozen_ms: 0, oom_kills: 0, peak_mem_bytes: 7e6, throttled_ms: 0})
    // the shell's exit status fills a call that has none
    expect(calls[4].exit_code).toBe(1)
    expect(calls[7]).not.toHaveProperty('domain')
  })

  it("turns Claude Code's shell snapshot into an extra row even while it overlaps the first call", () => {
    nextSeq = 0
    // the snapshot is made lazily: inside the first Bash call's window, before its command
    const calls = [call(0, 'ls -la', 10, 14), call(1, 'cat README.md', 15, 16)]
    const domains = [domain(['-c', '-l', SNAPSHOT_SCRIPT], 10.1, 12.5, {peakMemBytes: 4e6}), cc('ls -la', 12.6, 13.9), cc('cat README.md', 15.1, 15.8)]
    const extra = applyDomains(calls, domains, {runId: 'ds/t/attempt_1'})
    expect(calls.map((c) => c.domain)).toEqual(['tool-1', 'tool-2'])
    expect(extra).toEqual([
      {
        bash_category: expect.any(String),
        call_id: 'domain-tool-0',
        command: SNAPSHOT_SCRIPT,
        cpu_usec: 1000,
        description: expect.stringContaining('shell snapshot'),
        domain: 'tool-0',
        end_us: T0 + 12.5 * S,
        exit_code: 0,
        frozen_ms: 0,
        is_error: false,
        is_sidechain: null,
        oom_kills: 0,
        peak_mem_bytes: 4e6,
        run_id: 'ds/t/attempt_1',
        seq: 2,
        source: 'domain',
        start_us: T0 + 10.1 * S,
        throttled_ms: 0,
        tool: 'Bash',
      },
    ])
  })

  it("keeps a call that had no domain as it was, and the harness's test step as an extra row", () => {
    nextSeq = 0
    // the call the user denied ran no shell; the test step ran after the agent
    const calls = [call(0, 'rm -rf build', 10, 10.5, {is_error: true}), call(1, 'make -s test', 11, 20)]
    const domains = [cc('make -s test', 11.1, 19.8, {exitCode: 2, oomKills: 1}), domain(['-c', 'cd /testbed && python3 -m pytest -q tests'], 40, 55, {exitCode: 1})]
    const extra = applyDomains(calls, domains, {firstSeq: 10, runId: 'r'})
    expect(calls[0]).toEqual(call(0, 'rm -rf build', 10, 10.5, {is_error: true}))
    expect(calls[1]).toMatchObject({domain: 'tool-0', exit_code: 2, oom_kills: 1})
    expect(extra).toHaveLength(1)
    expect(extra[0]).toMatchObject({bash_category: 'Test Execution', call_id: 'domain-tool-1', command: 'cd /testbed && python3 -m pytest -q tests', exit_code: 1, is_error: true, seq: 10, source: 'domain'})
  })

  it('falls back to time when the text cannot match, and never takes a call twice', () => {
    nextSeq = 0
    // another agent runs each command from a script file: nothing to compare, only the time
    const calls = [call(0, 'npm test', 10, 20), call(1, 'npm run lint', 21, 25)]
    const domains = [domain(['/tmp/agent-cmd-1.sh'], 10.2, 19.5), domain(['/tmp/agent-cmd-2.sh'], 21.1, 24.9), domain(['/tmp/agent-cmd-3.sh'], 21.5, 24.0)]
    const extra = applyDomains(calls, domains, {runId: 'r'})
    expect(calls.map((c) => c.domain)).toEqual(['tool-0', 'tool-1'])
    expect(extra.map((e) => e.domain)).toEqual(['tool-2'])
  })

  it("matches another agent's own wrapper by containment, with '\\'' escapes undone, and prefers the exact command", () => {
    nextSeq = 0
    const calls = [call(0, "grep -rn 'a b' src", 10, 12), call(1, 'ls', 13, 14), call(2, 'ls -la', 13.5, 14.5)]
    const domains = [
      domain(['-c', `timeout 600 bash -c 'cd /repo && grep -rn '\\''a b'\\'' src'`], 10.1, 11.9),
      domain(['-c', 'cd /repo && ls -la'], 13.6, 14.2),
      domain(['-c', 'cd /repo && ls'], 13.1, 13.4),
    ]
    applyDomains(calls, domains, {runId: 'r'})
    expect(calls.map((c) => c.domain)).toEqual(['tool-0', 'tool-2', 'tool-1'])
  })

  it("matches a sub-agent's Bash calls, skips kernel rows, and uses kernel rows when there is no transcript", () => {
    nextSeq = 0
    const calls = [call(0, 'pytest -x', 10, 20, {is_sidechain: true}), call(1, 'pytest -x', 10.2, 19.9, {call_id: 'kernel-42-1', source: 'kernel'})]
    applyDomains(calls, [cc('pytest -x', 10.3, 19.8)], {runId: 'r'})
    expect(calls.map((c) => c.domain ?? null)).toEqual(['tool-0', null])
    nextSeq = 0
    const kernelOnly = [call(0, 'pytest -x', 10.2, 19.9, {call_id: 'kernel-42-1', source: 'kernel'})]
    applyDomains(kernelOnly, [domain(['-c', 'pytest -x'], 10.3, 19.8)], {runId: 'r'})
    expect(kernelOnly[0].domain).toBe('tool-0')
  })

  it('withDomains gives the whole list: the calls, filled, then the extra rows', () => {
    nextSeq = 0
    const calls = [call(0, 'ls', 10, 11)]
    const all = withDomains(calls, [domain(['-c', '-l', SNAPSHOT_SCRIPT], 9, 9.5), cc('ls', 10.1, 10.9)], {runId: 'r'})
    expect(all.map((c) => [c.call_id, c.domain, c.source])).toEqual([
      ['toolu_0', 'tool-1', 'transcript'],
      ['domain-tool-0', 'tool-0', 'domain'],
    ])
  })

  it('numbers extra rows after the highest seq and honours a custom snapshot test', () => {
    nextSeq = 0
    const calls = [call(4, 'echo one', 10, 11)]
    const extra = applyDomains(calls, [domain(['-c', 'warmup'], 1, 2), domain(['-c', '-l', 'echo one'], 10.1, 10.9)], {isSnapshot: (c) => c === 'echo one' || c === 'warmup', runId: 'r'})
    expect(calls[0].domain).toBeUndefined()
    expect(extra.map((e) => [e.seq, e.domain, e.command])).toEqual([
      [5, 'tool-0', 'warmup'],
      [6, 'tool-1', 'echo one'],
    ])
  })

  it('attributes processes to the call whose cgroup the kernel saw them in', () => {
    const calls = [
      {...call(0, 'pytest -q', 1000, 5000), domain: 'tool-1'},
      {...call(1, 'ls', 6000, 7000), domain: null},
    ] as ToolCallRow[]
    const procs = [
      {call_id: null, cgroup: 'cgroup-id:77', comm: 'python3'},
      {call_id: 'x', cgroup: 'agentcgroup/a/libpod-1', comm: 'node'},
      {call_id: null, cgroup: 'agentcgroup/a/libpod-1/tool-1', comm: 'bash'},
      {call_id: null, cgroup: 'cgroup-id:99', comm: 'other'},
    ] as ProcessRow[]
    const n = attributeToDomains(procs, calls, [{cgroupId: 77, name: 'tool-1'}], 'agentcgroup/a/libpod-1')
    expect(n).toBe(2)
    expect(procs.map((p) => [p.cgroup, p.call_id])).toEqual([
      ['agentcgroup/a/libpod-1/tool-1', calls[0].call_id],
      ['agentcgroup/a/libpod-1', 'x'],
      ['agentcgroup/a/libpod-1/tool-1', calls[0].call_id],
      ['cgroup-id:99', null],
    ])
  })
})
