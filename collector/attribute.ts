/**
 * Attributes each process to the tool call that spawned it: walk up the process tree to the
 * outermost tool shell the agent adapter recognises (Claude Code: the `bash -c ... eval` child
 * of its node process for a Bash call; `rg` for Glob and Grep), then map that shell to a tool
 * call of its kind. Claude Code runs a session's shells in the order of its tool calls, so when
 * there are as many shells as calls they are matched in order; otherwise by time: the latest
 * call that started before the shell (a little slack for clock granularity). Processes that
 * are not under a tool shell (the agent itself, its start-up probes) stay unattributed.
 *
 * When the BPF sampler marked the calls in the kernel (processes carry call_root, the pid of
 * the shell the agent's child exec'd), that root is the shell: no walk, and no guess about
 * processes whose parent exited before them (reparented ones keep their mark).
 */
import type {ProcessRow, ToolCallRow} from '../datasets/model.js'

const SLACK_US = 20_000

/** The process row of pid `pid` that was alive when `at` started (pids are reused). */
function rowAt(rows: ProcessRow[] | undefined, at: ProcessRow): ProcessRow | undefined {
  let best: ProcessRow | undefined
  for (const r of rows ?? []) {
    if ((r.start_us ?? 0) > (at.start_us ?? 0)) continue
    if (!best || (r.start_us ?? 0) >= (best.start_us ?? 0)) best = r
  }
  return best
}

/** Did the BPF sampler mark this run's tool calls in the kernel (proc.bpf.c call roots)? */
export function kernelMarked(processes: ProcessRow[]): boolean {
  return processes.some((p) => p.call_root != null)
}

/** Each process under a kernel-marked tool shell -> that shell (null: no marks in this run). */
function kernelShells(processes: ProcessRow[], kindOf: (p: ProcessRow) => string | null): Map<ProcessRow, ProcessRow> | null {
  if (!kernelMarked(processes)) return null
  const byPid = new Map<number, ProcessRow[]>()
  for (const p of processes) {
    const rows = byPid.get(p.pid)
    if (rows) rows.push(p)
    else byPid.set(p.pid, [p])
  }
  const out = new Map<ProcessRow, ProcessRow>()
  for (const p of processes) {
    if (p.call_root == null) continue
    const root = p.call_root === p.pid ? p : rowAt(byPid.get(p.call_root), p)
    if (root && kindOf(root)) out.set(p, root)
  }
  return out
}

/** Each process under a tool shell -> the outermost tool shell above (or at) it, by walking ppids. */
function treeShells(processes: ProcessRow[], kindOf: (p: ProcessRow) => string | null): Map<ProcessRow, ProcessRow> {
  const byPid = new Map(processes.map((p) => [p.pid, p]))
  const out = new Map<ProcessRow, ProcessRow>()
  for (const p of processes) {
    let found: ProcessRow | null = null
    let cur: ProcessRow | undefined = p
    for (let guard = 0; cur && guard < 64; guard++) {
      if (kindOf(cur)) found = cur
      cur = cur.ppid ? byPid.get(cur.ppid) : undefined
    }
    if (found) out.set(p, found)
  }
  return out
}

export function attributeProcesses(processes: ProcessRow[], calls: ToolCallRow[], toolShell: (argv: string) => string | null): number {
  const kindOf = (p: ProcessRow) => toolShell(p.argv ?? p.comm ?? '')
  const shellOf = kernelShells(processes, kindOf) ?? treeShells(processes, kindOf)
  const shells = [...new Set(shellOf.values())].filter((s) => s.start_us !== null && s.start_us !== undefined)
  const callOf = new Map<ProcessRow, ToolCallRow>()
  for (const kind of new Set(shells.map((s) => kindOf(s)!))) {
    const tools = kind.split('|')
    const ks = shells.filter((s) => kindOf(s) === kind).sort((a, b) => a.start_us! - b.start_us!)
    const kc = calls.filter((c) => tools.includes(c.tool) && c.start_us !== null).sort((a, b) => a.start_us! - b.start_us!)
    if (ks.length === kc.length) {
      ks.forEach((s, i) => callOf.set(s, kc[i]))
      continue
    }
    for (const s of ks) {
      let best: ToolCallRow | null = null
      for (const c of kc) {
        if (c.start_us! > s.start_us! + SLACK_US) break
        if (c.end_us !== null && c.end_us < s.start_us! - SLACK_US) continue
        best = c
      }
      if (best) callOf.set(s, best)
    }
  }
  let attributed = 0
  for (const [p, shell] of shellOf) {
    const c = callOf.get(shell)
    if (!c) continue
    p.call_id = c.call_id
    attributed++
  }
  return attributed
}
