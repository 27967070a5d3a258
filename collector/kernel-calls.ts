/**
 * Tool calls as the kernel saw them: every tool shell the agent spawned (a process the
 * adapter recognises, e.g. Claude Code's `bash -c ... eval '<command>'` child, whose parent
 * is one of the run's processes) is a tool call with source `kernel`, from its exec to its
 * exit. Agents without a transcript get their tool calls this way; for Claude Code both
 * sources are stored, matched through the transcript call the shell is attributed to, and the
 * offsets between the two are summarised for runs.notes.
 */
import {median} from '../analysis/stats.js'
import {kernelMarked} from './attribute.js'
import {categorizeBash} from '../datasets/formats/bash-category.js'
import type {ProcessRow, ToolCallRow} from '../datasets/model.js'

export interface KernelCalls {
  calls: ToolCallRow[]
  /** e.g. "kernel tool calls: 12, 12 matched; start +8 ms, end -3 ms (median, kernel minus transcript)" */
  summary: string | null
}

export function kernelToolCalls(processes: ProcessRow[], transcriptCalls: ToolCallRow[], toolShell: (argv: string) => string | null, firstSeq: number): KernelCalls {
  const byPid = new Map(processes.map((p) => [p.pid, p]))
  const isShell = (p: ProcessRow | undefined) => p !== undefined && toolShell(p.argv ?? p.comm ?? '') === 'Bash'
  // the BPF sampler marked each call's root in the kernel; else: shells whose parent is none
  const marked = kernelMarked(processes)
  const shells = processes
    .filter((p) => (marked ? p.call_root === p.pid && isShell(p) : isShell(p) && p.ppid !== null && p.ppid !== undefined && byPid.has(p.ppid) && !isShell(byPid.get(p.ppid))))
    .sort((a, b) => (a.start_us ?? 0) - (b.start_us ?? 0))
  const byId = new Map(transcriptCalls.map((c) => [c.call_id, c]))
  const startOff: number[] = []
  const endOff: number[] = []
  const calls = shells.map((p, i): ToolCallRow => {
    const command = shellCommand(p.argv ?? '')
    const match = p.call_id ? byId.get(p.call_id) : undefined
    if (match?.start_us && p.start_us) startOff.push(p.start_us - match.start_us)
    if (match?.end_us && p.end_us) endOff.push(p.end_us - match.end_us)
    return {
      bash_category: command ? categorizeBash(command) : null,
      call_id: `kernel-${p.pid}-${p.start_us ?? i}`,
      command,
      description: match ? `kernel view of ${match.call_id}` : null,
      end_us: p.end_us ?? null,
      exit_code: p.exit_code ?? null,
      is_error: p.exit_code === null || p.exit_code === undefined ? null : p.exit_code !== 0,
      is_sidechain: null,
      seq: firstSeq + i,
      source: 'kernel',
      start_us: p.start_us ?? null,
      tool: 'Bash',
    }
  })
  if (calls.length === 0) return {calls, summary: null}
  const ms = (v: number[]) => {
    const m = median(v)
    return m === null ? 'n/a' : `${Math.round(m / 1000) >= 0 ? '+' : ''}${Math.round(m / 1000)} ms`
  }
  const matched = calls.filter((c) => c.description !== null).length
  return {calls, summary: `kernel tool calls (${marked ? 'marked in the kernel' : 'from the process tree'}): ${calls.length}, ${matched} matched to the transcript; start ${ms(startOff)}, end ${ms(endOff)} (median, kernel minus transcript)`}
}

/** The command of Claude Code's Bash wrapper (`... eval '<command>' < /dev/null ...`), else the -c script. */
export function shellCommand(argv: string): string | null {
  const words = shellWords(argv)
  const c = words.indexOf('-c')
  if (c < 0) return null
  const script = words.slice(c + 1).find((w) => !w.startsWith('-')) ?? null
  if (script === null) return null
  return evaledCommand(script) ?? script
}

/** The command Claude Code's Bash wrapper string evals (`... && eval <quoted> ...`), or null when it has none. */
export function evaledCommand(script: string): string | null {
  const m = /(?:^|\s)eval\s+/.exec(script)
  if (!m) return null
  return shellWords(script.slice(m.index + m[0].length))[0] ?? null
}

/** Splits a POSIX-shell-quoted command line (as the samplers format argv) into its words (no expansion). */
export function shellWords(line: string): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (ch === "'") {
      const end = line.indexOf("'", i + 1)
      cur += line.slice(i + 1, end < 0 ? line.length : end)
      i = end < 0 ? line.length : end
      inWord = true
    } else if (ch === '"') {
      // double quotes: \\ \" \$ \` escape, everything else is literal
      let j = i + 1
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '\\"$`'.includes(line[j + 1] ?? '')) j++
        cur += line[j]
      }
      i = j
      inWord = true
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i]
      inWord = true
    } else if (ch === ' ') {
      if (inWord) words.push(cur)
      cur = ''
      inWord = false
    } else {
      cur += ch
      inWord = true
    }
  }
  if (inWord) words.push(cur)
  return words
}


