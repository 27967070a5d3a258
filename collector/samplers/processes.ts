/**
 * Turns BPF records into store rows: one ProcessRow per process record (the kernel assembles
 * one per process; a pid reused later in the run is another record), plus events for OOM
 * kills, RSS peaks and reclaim stalls.
 *
 * Rules: a process starts at its fork when we saw it (else at its exec in our cgroup: the
 * command itself, forked outside and moved in before exec; else at the task's start time: it
 * was there before the session); comm and argv are those of its last exec (a forked child
 * that never execs keeps its parent's comm, argv null); exit_code is 0-255, or minus the
 * signal number for a process killed by a signal; peak_rss_bytes is the peak RSS of its last
 * image: the kernel's high-water mark of that mm (at exit, or VmHWM while alive), else the
 * highest RSS rss_stat saw, else getrusage's maxrss (which also counts the image before exec,
 * e.g. the forking shell's copy). Processes alive at the end keep a null end.
 *
 * argv is decoded into a string per record as it arrives and formatted (quoted, secrets
 * redacted) only at finish(): the per-process work while recording stays small.
 */
import type {EventRow, ProcessRow} from '../../datasets/model.js'
import {redactSecrets} from '../../datasets/redact.js'
import {argvOf, type BpfEvent, exitCodeOf, type OomEvent, type ProcEvent} from '../../bpf/index.js'
import type {RunClock} from './clock.js'

/** Reclaim stalls kept as single events per run; past this, only their count is kept. */
export const MAX_RECLAIM_EVENTS = 20_000

/** A shell-readable command line: words quoted only where needed. */
export function formatArgv(argv: string[], truncated: boolean): string {
  const words = argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
  return redactSecrets(words.join(' ') + (truncated ? ' …' : ''))
}

function peakOf(e: ProcEvent): number | null {
  if (e.hiwaterBytes > 0) return Math.max(e.hiwaterBytes, e.peakRssBytes)
  if (e.peakRssBytes > 0) return e.peakRssBytes
  return e.exited ? e.maxrssBytes : null
}

export class ProcessTable {
  private readonly pending: ProcEvent[] = []
  readonly events: EventRow[] = []
  oomKills = 0
  private readonly ooms: {event: OomEvent; row: EventRow}[] = []
  private reclaimKept = 0
  private reclaimOmitted = 0

  constructor(private readonly clock: RunClock) {}

  handle(e: BpfEvent): void {
    switch (e.kind) {
      case 'proc':
        // only the record is kept now: rows are built at finish()
        this.pending.push(e)
        break
      case 'rss':
        this.events.push({detail: JSON.stringify({comm: e.comm, pid: e.pid, rss_bytes: e.rssBytes}), kind: 'rss_peak', t_us: this.clock.monoToUs(e.tsNs)})
        break
      case 'oom':
        this.oomKills++
        // the detail is written at finish(), when cgroup ids can be named
        this.ooms.push({event: e, row: {detail: null, kind: 'oom_kill', t_us: this.clock.monoToUs(e.tsNs)}})
        this.events.push(this.ooms[this.ooms.length - 1].row)
        break
      case 'reclaim':
        if (this.reclaimKept >= MAX_RECLAIM_EVENTS) {
          this.reclaimOmitted++
          break
        }
        this.reclaimKept++
        this.events.push({
          detail: JSON.stringify({comm: e.comm, dur_us: Math.round((e.tsNs - e.startNs) / 1000), nr_reclaimed_pages: e.nrReclaimed, pid: e.pid, tid: e.tid}),
          kind: 'reclaim_stall',
          t_us: this.clock.monoToUs(e.startNs),
        })
        break
      case 'sample':
      case 'loadgen':
        break
    }
  }

  private row(e: ProcEvent, cgroup: string | null): ProcessRow {
    const startNs = e.forked ? e.startNs : e.execed ? e.execNs : e.startNs
    return {
      argv: e.execed ? formatArgv(argvOf(e.argvRaw), e.argvTruncated) : null,
      call_root: e.callRoot === 0 ? null : e.callRoot,
      cgroup,
      comm: e.comm,
      cpu_usec: e.exited ? Math.round((e.utimeNs + e.stimeNs) / 1000) : null,
      end_us: e.exited ? this.clock.monoToUs(e.tsNs) : null,
      exit_code: e.exited ? exitCodeOf(e.status) : null,
      peak_rss_bytes: peakOf(e),
      pid: e.pid,
      ppid: e.ppid,
      source: 'bpf',
      start_us: this.clock.monoToUs(startNs),
    }
  }

  /**
   * The rows, after the reader has drained: processes still alive keep a null end and the
   * peak rss_stat saw; cgroup names come from `cgroupName` (kernfs id -> path).
   */
  finish(cgroupName: (cgid: number) => string | null, endUs: number): ProcessRow[] {
    if (this.reclaimOmitted > 0) {
      this.events.push({detail: JSON.stringify({omitted: this.reclaimOmitted, kept: this.reclaimKept}), kind: 'reclaim_stall', t_us: endUs})
    }
    for (const {event: e, row} of this.ooms) {
      row.detail = JSON.stringify({
        anon_rss_bytes: e.anonRssBytes,
        cgroup: cgroupName(e.cgid),
        comm: e.comm,
        file_rss_bytes: e.fileRssBytes,
        oom_score_adj: e.oomScoreAdj,
        pid: e.pid,
        shmem_rss_bytes: e.shmemRssBytes,
        source: 'bpf',
        total_vm_bytes: e.totalVmBytes,
      })
    }
    const names = new Map<number, string | null>()
    const rows = this.pending.map((e) => {
      let cgroup = names.get(e.cgid)
      if (cgroup === undefined) names.set(e.cgid, (cgroup = cgroupName(e.cgid)))
      return this.row(e, cgroup)
    })
    this.pending.length = 0
    return rows.sort((a, b) => (a.start_us ?? 0) - (b.start_us ?? 0) || a.pid - b.pid)
  }
}
