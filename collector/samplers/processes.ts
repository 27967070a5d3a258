/**
 * Turns BPF process events into store rows: one ProcessRow per process (a pid reused later in
 * the run is a new row), plus events for OOM kills, RSS peaks and reclaim stalls.
 *
 * Rules: a process starts at its fork when we saw it (else at its first exec in our cgroup:
 * the command itself, forked outside and moved in before exec); comm and argv are those of
 * its last exec (a forked child that never execs keeps its parent's comm, argv null);
 * exit_code is 0-255, or minus the signal number for a process killed by a signal;
 * peak_rss_bytes is the peak RSS of its last image (since its last exec, or its fork): the
 * kernel's high-water mark of that mm at exit, else the highest RSS rss_stat saw, else
 * getrusage's maxrss (which also counts the image before exec, e.g. the forking shell's copy).
 */
import type {EventRow, ProcessRow} from '../../datasets/model.js'
import {redactSecrets} from '../../datasets/redact.js'
import {type BpfEvent, type ExitEvent, exitCodeOf, type OomEvent} from '../../bpf/index.js'
import type {RunClock} from './clock.js'

/** Reclaim stalls kept as single events per run; past this, only their count is kept. */
export const MAX_RECLAIM_EVENTS = 20_000

interface LiveProcess extends ProcessRow {
  cgid: number
}

/** A shell-readable command line: words quoted only where needed. */
export function formatArgv(argv: string[], truncated: boolean): string {
  const words = argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`))
  return redactSecrets(words.join(' ') + (truncated ? ' …' : ''))
}

function peakOf(e: ExitEvent, seen: number | null | undefined): number {
  if (e.hiwaterBytes > 0) return Math.max(e.hiwaterBytes, e.peakRssBytes)
  if (e.peakRssBytes > 0 || (seen ?? 0) > 0) return Math.max(e.peakRssBytes, seen ?? 0)
  return e.maxrssBytes
}

export class ProcessTable {
  private readonly live = new Map<number, LiveProcess>()
  private readonly done: LiveProcess[] = []
  readonly events: EventRow[] = []
  oomKills = 0
  private readonly ooms: {event: OomEvent; row: EventRow}[] = []
  private reclaimKept = 0
  private reclaimOmitted = 0

  constructor(private readonly clock: RunClock) {}

  private open(pid: number, ppid: number, comm: string, startUs: number, cgid: number): LiveProcess {
    const old = this.live.get(pid)
    // its exit event was lost (or it outlived a reader restart): close it where we are
    if (old) this.done.push(old)
    // every field from the start: one object shape for all rows
    const row: LiveProcess = {argv: null, cgid, cgroup: null, comm, cpu_usec: null, end_us: null, exit_code: null, peak_rss_bytes: null, pid, ppid, source: 'bpf', start_us: startUs}
    this.live.set(pid, row)
    return row
  }

  handle(e: BpfEvent): void {
    switch (e.kind) {
      case 'fork':
        this.open(e.pid, e.ppid, e.comm, this.clock.monoToUs(e.tsNs), e.cgid)
        break
      case 'exec': {
        // the parent is the process that forked it (it may be gone and this one reparented)
        const row = this.live.get(e.pid) ?? this.open(e.pid, e.ppid, e.comm, this.clock.monoToUs(e.tsNs), e.cgid)
        // a new image: its peak starts over (the BPF map was reset too)
        row.peak_rss_bytes = null
        row.comm = e.comm
        row.cgid = e.cgid
        row.argv = formatArgv(e.argv, e.argvTruncated)
        break
      }
      case 'exit': {
        // a process that was there before we started (not ours to time from its fork)
        const row = this.live.get(e.pid) ?? this.open(e.pid, e.ppid, e.comm, this.clock.monoToUs(e.startNs), e.cgid)
        row.end_us = this.clock.monoToUs(e.tsNs)
        row.exit_code = exitCodeOf(e.status)
        row.peak_rss_bytes = peakOf(e, row.peak_rss_bytes)
        row.cpu_usec = Math.round((e.utimeNs + e.stimeNs) / 1000)
        this.live.delete(e.pid)
        this.done.push(row)
        break
      }
      case 'rss': {
        const row = this.live.get(e.pid)
        if (row) row.peak_rss_bytes = Math.max(row.peak_rss_bytes ?? 0, e.peakBytes)
        this.events.push({detail: JSON.stringify({comm: e.comm, pid: e.pid, rss_bytes: e.rssBytes}), kind: 'rss_peak', t_us: this.clock.monoToUs(e.tsNs)})
        break
      }
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
      case 'loadgen':
        break
    }
  }

  /**
   * The rows, after the reader has drained: processes still alive keep a null end and the
   * peak rss_stat saw; cgroup names come from `cgroupName` (kernfs id -> path).
   */
  finish(rssPeaks: Map<number, number>, cgroupName: (cgid: number) => string | null, endUs: number): ProcessRow[] {
    for (const row of this.live.values()) {
      const peak = rssPeaks.get(row.pid)
      if (peak !== undefined) row.peak_rss_bytes = Math.max(row.peak_rss_bytes ?? 0, peak)
      this.done.push(row)
    }
    this.live.clear()
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
    const rows: ProcessRow[] = []
    for (const p of this.done.sort((a, b) => (a.start_us ?? 0) - (b.start_us ?? 0) || a.pid - b.pid)) {
      let cgroup = names.get(p.cgid)
      if (cgroup === undefined) names.set(p.cgid, (cgroup = cgroupName(p.cgid)))
      rows.push({
        argv: p.argv,
        cgroup,
        comm: p.comm,
        cpu_usec: p.cpu_usec,
        end_us: p.end_us,
        exit_code: p.exit_code,
        peak_rss_bytes: p.peak_rss_bytes,
        pid: p.pid,
        ppid: p.ppid,
        source: p.source,
        start_us: p.start_us,
      })
    }
    return rows
  }
}
