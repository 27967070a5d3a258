/**
 * Attributes each process to the tool call that spawned it: walk up the process tree to the
 * outermost tool shell the agent adapter recognises (Claude Code: the `bash -c ... eval` child
 * of its node process for a Bash call; `rg` for Glob and Grep), then map that shell to a tool
 * call of its kind. Claude Code runs a session's shells in the order of its tool calls, so when
 * there are as many shells as calls they are matched in order; otherwise by time: the latest
 * call that started before the shell (a little slack for clock granularity). Processes that
 * are not under a tool shell (the agent itself, its start-up probes) stay unattributed.
 */
import type {ProcessRow, ToolCallRow} from '../datasets/model.js'

const SLACK_US = 20_000

export function attributeProcesses(processes: ProcessRow[], calls: ToolCallRow[], toolShell: (argv: string) => string | null): number {
  const byPid = new Map(processes.map((p) => [p.pid, p]))
  const kindOf = (p: ProcessRow) => toolShell(p.argv ?? p.comm ?? '')
  // the outermost tool shell above (or at) each process
  const shellOf = new Map<ProcessRow, ProcessRow>()
  for (const p of processes) {
    let found: ProcessRow | null = null
    let cur: ProcessRow | undefined = p
    for (let guard = 0; cur && guard < 64; guard++) {
      if (kindOf(cur)) found = cur
      cur = cur.ppid ? byPid.get(cur.ppid) : undefined
    }
    if (found) shellOf.set(p, found)
  }
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
