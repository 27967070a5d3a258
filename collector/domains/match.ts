/**
 * Matches finished tool-call domains (types.ts DomainEnd: one cgroup `tool-<seq>` per shell the
 * agent started) to the transcript's Bash tool calls, and copies each domain's measurements
 * (peak memory, CPU time, throttled/frozen time, OOM kills) onto its call.
 *
 * The rule:
 *  1. by text. Claude Code runs a Bash call as
 *     `bash -c [-l] 'source <snapshot> 2>/dev/null || true && ... && eval <quoted command> [< /dev/null] && pwd -P >| <cwd file>'`;
 *     the quoted command (single quotes with '"'"' or '\'' for an embedded quote, or a bare
 *     word) is read back and must equal the call's command (as the transcript importer stored
 *     it: secrets redacted; trailing blanks and Claude Code's `>nul` -> `>/dev/null` rewrite
 *     forgiven). A shell without that wrapper (another agent) matches a call whose command
 *     appears in its command string once quote escapes are undone. Domains are taken in start
 *     order; each call is used at most once; among several calls with the same text the one
 *     whose [start, end] holds the domain wins, then the nearest start.
 *  2. by time, for a domain no text matched: the unused call whose [start_us, end_us] holds the
 *     domain's [start, end] within TIME_SLACK_US, the nearest start first.
 * The agent's own shells that are no tool call (Claude Code's one-time shell-snapshot script,
 * its `echo "$PATH"` probe; see isSnapshot) never match; they, and any other domain that
 * matches nothing (the harness's own test step), come back as extra rows with source `domain`.
 */
import {categorizeBash} from '../../datasets/formats/bash-category.js'
import type {ProcessRow, ToolCallRow} from '../../datasets/model.js'
import {redactSecrets} from '../../datasets/redact.js'
import {evaledCommand} from '../kernel-calls.js'
import type {DomainEnd} from './types.js'

/** Clock slack of the time fallback: transcript records are written a little before/after the shell runs. */
export const TIME_SLACK_US = 250_000

export interface ApplyDomainsOptions {
  runId: string
  /**
   * Recognises the agent's own shells that are no tool call, from the command string
   * (domainCommand); default claudeCodeInternal. They only ever become extra rows.
   */
  isSnapshot?: (command: string) => boolean
  /** seq of the first extra row; default one past the highest seq of `calls` */
  firstSeq?: number
}

/** Only what matching reads of a domain (tests build these without a cgroup). */
export type DomainRecord = Pick<DomainEnd, 'name' | 'argv' | 'startUs' | 'endUs' | 'exitCode' | 'peakMemBytes' | 'cpuUsec' | 'oomKills' | 'throttledMs' | 'frozenMs'>

/**
 * The command string the shell was given: the first argument after `-c` (or a `-xc` cluster)
 * that is not an option (`bash -c -l '<string>'`), else the last argument; with no `-c` at all,
 * the arguments joined by spaces.
 */
export function domainCommand(d: Pick<DomainEnd, 'argv'>): string {
  const argv = d.argv
  const c = argv.findIndex((a) => /^-[A-Za-z]*c[A-Za-z]*$/.test(a))
  if (c < 0) return argv.join(' ')
  const rest = argv.slice(c + 1)
  return rest.find((a) => !a.startsWith('-')) ?? rest.at(-1) ?? ''
}

/** Claude Code's shell-snapshot script (`SNAPSHOT_FILE=... `) and its PATH probe: shells that are no tool call. */
export function claudeCodeInternal(command: string): boolean {
  const s = command.trimStart()
  return s.startsWith('SNAPSHOT_FILE=') || s === 'echo "$PATH"'
}


/** Undoes single-quote escaping inside a single-quoted string: '\'' and '"'"' are one quote. */
export function unquoteEscapes(s: string): string {
  return s.replaceAll(`'\\''`, "'").replaceAll(`'"'"'`, "'")
}

/** Claude Code rewrites Windows-style `>nul` redirections before it runs a command. */
function nulToDevNull(s: string): string {
  return s.replace(/(\d?&?>+\s*)[Nn][Uu][Ll](?=\s|$|[|&;)\n])/g, '$1/dev/null')
}

/** 2: the same command, 1: the call's command appears in the command string, 0: no text match. */
function textScore(call: ToolCallRow, dom: {wrapped: string | null; unescaped: string}): number {
  const cmd = call.command
  if (cmd === null || cmd === undefined || cmd.trim() === '') return 0
  if (dom.wrapped !== null) {
    const w = dom.wrapped
    const variants = [w, redactSecrets(w), w.trimEnd(), redactSecrets(w).trimEnd()]
    const mine = [cmd, cmd.trimEnd(), nulToDevNull(cmd), nulToDevNull(cmd).trimEnd()]
    return variants.some((v) => mine.includes(v)) ? 2 : 0
  }
  const s = dom.unescaped
  return s.includes(cmd) || redactSecrets(s).includes(cmd) || s.includes(cmd.trim()) ? 1 : 0
}

function contains(call: ToolCallRow, d: DomainRecord, slack = TIME_SLACK_US): boolean {
  if (call.start_us === null) return false
  return call.start_us - slack <= d.startUs && (call.end_us === null || d.endUs <= call.end_us + slack)
}

function startGap(call: ToolCallRow, d: DomainRecord): number {
  return call.start_us === null ? Infinity : Math.abs(call.start_us - d.startUs)
}

function fill(call: ToolCallRow, d: DomainRecord): void {
  call.domain = d.name
  call.peak_mem_bytes = d.peakMemBytes
  call.cpu_usec = d.cpuUsec
  call.throttled_ms = d.throttledMs
  call.frozen_ms = d.frozenMs
  call.oom_kills = d.oomKills
  if ((call.exit_code === null || call.exit_code === undefined) && d.exitCode !== null) call.exit_code = d.exitCode
}

/**
 * Fills domain, peak_mem_bytes, cpu_usec, throttled_ms, frozen_ms and oom_kills on the matched
 * Bash calls of `calls` (in place) and returns one extra row (source `domain`) per domain that
 * matched none. The calls considered are the Bash calls that are not themselves kernel or
 * domain rows; a run with no such call (no transcript) matches its kernel rows instead.
 */
export function applyDomains(calls: ToolCallRow[], domains: DomainRecord[], opts: ApplyDomainsOptions): ToolCallRow[] {
  const isSnapshot = opts.isSnapshot ?? claudeCodeInternal
  const transcript = calls.filter((c) => c.tool === 'Bash' && c.source !== 'kernel' && c.source !== 'domain')
  const pool = transcript.length > 0 ? transcript : calls.filter((c) => c.tool === 'Bash' && c.source === 'kernel')
  const used = new Set<ToolCallRow>()
  const order = [...domains].sort((a, b) => a.startUs - b.startUs || a.endUs - b.endUs)
  const info = new Map(
    order.map((d) => {
      const command = domainCommand(d)
      return [d, {command, internal: isSnapshot(command), unescaped: unquoteEscapes(command), wrapped: evaledCommand(command)}] as const
    }),
  )
  const matched = new Map<DomainRecord, ToolCallRow>()

  // 1. by text, in start order
  for (const d of order) {
    const di = info.get(d)!
    if (di.internal) continue
    let best: ToolCallRow | null = null
    let bestKey: number[] = []
    for (const c of pool) {
      if (used.has(c)) continue
      const score = textScore(c, di)
      if (score === 0) continue
      // higher is better: exact over contained, time window holds it, nearer start, earlier seq
      const key = [score, contains(c, d) ? 1 : 0, -startGap(c, d), -c.seq]
      if (best === null || better(key, bestKey)) {
        best = c
        bestKey = key
      }
    }
    if (best) {
      used.add(best)
      matched.set(d, best)
    }
  }

  // 2. by time, for what text left over
  for (const d of order) {
    if (matched.has(d) || info.get(d)!.internal) continue
    let best: ToolCallRow | null = null
    for (const c of pool) {
      if (used.has(c) || !contains(c, d)) continue
      if (best === null || startGap(c, d) < startGap(best, d)) best = c
    }
    if (best) {
      used.add(best)
      matched.set(d, best)
    }
  }

  for (const [d, c] of matched) fill(c, d)

  let seq = opts.firstSeq ?? calls.reduce((m, c) => Math.max(m, c.seq + 1), 0)
  const extra: ToolCallRow[] = []
  for (const d of order) {
    if (matched.has(d)) continue
    const di = info.get(d)!
    const command = redactSecrets(di.wrapped ?? di.command)
    const row: ToolCallRow = {
      bash_category: command.trim() === '' ? null : categorizeBash(command),
      call_id: `domain-${d.name}`,
      command,
      description: di.internal ? "the agent's own shell (no tool call): its shell snapshot or environment probe" : 'a tool-call cgroup no transcript call matched',
      end_us: d.endUs,
      exit_code: d.exitCode,
      is_error: d.exitCode === null ? null : d.exitCode !== 0,
      is_sidechain: null,
      run_id: opts.runId,
      seq: seq++,
      source: 'domain',
      start_us: d.startUs,
      tool: 'Bash',
    }
    fill(row, d)
    extra.push(row)
  }
  return extra
}

/** `calls` with the domains applied (applyDomains) followed by the extra rows: a run's whole tool_calls. */
export function withDomains(calls: ToolCallRow[], domains: DomainRecord[], opts: ApplyDomainsOptions): ToolCallRow[] {
  const extra = applyDomains(calls, domains, opts)
  return [...calls, ...extra]
}

function better(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return false
}

/**
 * Processes the BPF sampler saw in a tool call's own cgroup belong to that call: the kernel
 * tagged them with the group's id (`cgroup-id:<id>` when the group was gone by the time the
 * sampler named ids). Names their group `<agent group>/tool-<n>` and sets call_id to the call
 * the domain matched (or its own domain row). In place; returns how many were attributed.
 */
export function attributeToDomains(processes: ProcessRow[], calls: ToolCallRow[], domains: Pick<DomainEnd, 'name' | 'cgroupId'>[], agentGroupRel: string): number {
  const byId = new Map(domains.filter((d) => d.cgroupId !== null).map((d) => [`cgroup-id:${d.cgroupId}`, d.name]))
  const callOf = new Map(calls.filter((c) => c.domain).map((c) => [c.domain!, c.call_id]))
  let n = 0
  for (const p of processes) {
    const name = p.cgroup ? byId.get(p.cgroup) ?? (p.cgroup.startsWith(`${agentGroupRel}/tool-`) ? p.cgroup.slice(agentGroupRel.length + 1) : undefined) : undefined
    if (!name) continue
    p.cgroup = `${agentGroupRel}/${name}`
    p.call_id = callOf.get(name) ?? p.call_id
    n++
  }
  return n
}
