/**
 * The attempt's fallback sampler, used until the `record` sampler (collector/samplers) is
 * wired in: reads the run's cgroup files every interval (memory usage and its anon/file
 * split, cumulative CPU) and walks the group's processes in /proc (pid, ppid, argv, start,
 * peak RSS; a process shorter than the interval can be missed: source `procfs`).
 * Its own CPU time is measured, so the overhead is stored with the run.
 */
import {readFileSync} from 'node:fs'

import type {ProcessRow, SampleRow} from '../datasets/model.js'
import {redactSecrets} from '../datasets/redact.js'
import {Cgroup} from '../kernel/cgroup.js'

const CLK_TCK = 100
let bootUs: number | null = null

/** Boot time on the UTC clock, from /proc/uptime (10 ms resolution; /proc/stat's btime is whole seconds). */
function bootTimeUs(): number {
  if (bootUs === null) {
    const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
    bootUs = Math.round(Date.now() * 1000 - uptimeS * 1_000_000)
  }
  return bootUs
}

export interface PollResult {
  samples: SampleRow[]
  processes: ProcessRow[]
  /** the poller's own CPU, % of one core over its lifetime */
  overheadPct: number
  oomKills: number
  peakBytes: number | null
}

export class CgroupPoller {
  private timer: NodeJS.Timeout | null = null
  private readonly samples: SampleRow[] = []
  private readonly procs = new Map<number, ProcessRow & {startTicks: number}>()
  private t0 = performance.now()
  private cpuSpentUs = 0
  private oom = 0
  private peak: number | null = null

  constructor(
    private readonly group: () => Cgroup | null,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.t0 = performance.now()
    const tick = () => {
      const c0 = process.cpuUsage()
      this.sampleOnce()
      const d = process.cpuUsage(c0)
      this.cpuSpentUs += d.user + d.system
    }
    tick()
    this.timer = setInterval(tick, this.intervalMs)
  }

  stop(): PollResult {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    this.sampleOnce()
    const elapsedUs = (performance.now() - this.t0) * 1000
    const processes = [...this.procs.values()].map(({startTicks: _s, ...p}) => p)
    return {oomKills: this.oom, overheadPct: elapsedUs > 0 ? (this.cpuSpentUs / elapsedUs) * 100 : 0, peakBytes: this.peak, processes, samples: this.samples}
  }

  private sampleOnce(): void {
    const cg = this.group()
    if (!cg) return
    const tUs = Date.now() * 1000
    let mem: number
    try {
      mem = cg.memoryCurrentBytes()
    } catch {
      return // the group is gone (container exited)
    }
    let anon: number | null = null
    let file: number | null = null
    let cpu: number | null = null
    try {
      const st = cg.memoryStat()
      anon = st.total_rss ?? st.anon ?? st.rss ?? null
      file = st.total_cache ?? st.file ?? st.cache ?? null
      cpu = cg.cpuUsageUsec()
      this.oom = Math.max(this.oom, cg.memoryEvents().oom_kill)
      const p = cg.memoryPeakBytes()
      if (p !== null) this.peak = Math.max(this.peak ?? 0, p)
    } catch {
      // partial sample: memory only
    }
    this.samples.push({cpu_usec: cpu, mem_anon_bytes: anon, mem_bytes: mem, mem_file_bytes: file, source: 'cgroupfs', t_us: tUs})
    let pids: number[] = []
    try {
      pids = cg.pids()
    } catch {
      pids = []
    }
    const alive = new Set(pids)
    for (const pid of pids) this.observe(pid, cg.rel)
    for (const p of this.procs.values()) if (p.end_us === null && !alive.has(p.pid)) p.end_us = tUs
  }

  private observe(pid: number, cgroup: string): void {
    let stat: string
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      return
    }
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    const f = stat.slice(close + 2).split(' ')
    const ppid = Number(f[1])
    const startTicks = Number(f[19])
    const rssBytes = Number(f[21]) * 4096
    const prev = this.procs.get(pid)
    if (prev && prev.startTicks === startTicks) {
      prev.peak_rss_bytes = Math.max(prev.peak_rss_bytes ?? 0, rssBytes)
      prev.end_us = null
      // exec replaces comm and argv: keep the latest
      if (prev.comm !== comm) {
        prev.comm = comm
        prev.argv = readArgv(pid) ?? prev.argv
      }
      return
    }
    this.procs.set(pid, {
      argv: readArgv(pid),
      call_id: null,
      cgroup,
      comm,
      end_us: null,
      peak_rss_bytes: rssBytes,
      pid,
      ppid,
      source: 'procfs',
      start_us: bootTimeUs() + Math.round((startTicks / CLK_TCK) * 1_000_000),
      startTicks,
    })
  }
}

function readArgv(pid: number): string | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return raw === '' ? null : redactSecrets(raw.replace(/\0+$/, '').split('\0').join(' ')).slice(0, 4000)
  } catch {
    return null
  }
}
