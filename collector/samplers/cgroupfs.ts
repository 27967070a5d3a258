/**
 * The cgroupfs sampler: the cgroup's own counters every interval, no BPF.
 *
 *   v1: memory.usage_in_bytes, memory.stat (total_rss, total_cache), memory.max_usage_in_bytes,
 *       memory.limit_in_bytes, memory.oom_control (oom_kill), cpuacct.usage
 *   v2: memory.current, memory.stat (anon, file), memory.peak, memory.max, memory.events
 *       (oom_kill), cpu.stat (usage_usec)
 *   both: memory.pressure (PSI) where the cgroup2 tree has the group
 *
 * Files stay open and are re-read with pread at offset 0 (kernfs regenerates them), which
 * costs a fraction of open/read/close. Samples hold raw counters; the only derived value,
 * instantaneous CPU %, comes from the previous sample (none for the first).
 */
import {closeSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'

import type {EventRow, SampleRow} from '../../datasets/model.js'
import {RunClock} from './clock.js'
import type {SamplerTarget} from './target.js'
import type {Sampler, SamplerInfo, SamplerOptions, SamplerResult} from './types.js'

/** One cgroup's counter files, read-only, kept open. Missing optional files read as null. */
export class CgroupCounters {
  private readonly fds = new Map<string, number | null>()
  private readonly buf = Buffer.alloc(16 * 1024)

  constructor(readonly target: SamplerTarget) {}

  private text(path: string | null): string | null {
    if (path === null) return null
    let fd = this.fds.get(path)
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r')
      } catch {
        fd = null
      }
      this.fds.set(path, fd)
    }
    if (fd === null) return null
    try {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0)
      return this.buf.toString('latin1', 0, n)
    } catch {
      // the group went away (e.g. a container exited): read as missing from now on
      return null
    }
  }

  private mem(v1: string, v2: string): string | null {
    return this.text(join(this.target.memoryDir, this.target.version === 'v2' ? v2 : v1))
  }

  /** bytes charged to the group now (hierarchical) */
  usageBytes(): number | null {
    return num(this.mem('memory.usage_in_bytes', 'memory.current'))
  }

  /** bytes of anonymous memory and of page cache (hierarchical totals on v1) */
  anonFileBytes(): {anon: number | null; file: number | null} {
    const stat = keyed(this.mem('memory.stat', 'memory.stat'))
    return this.target.version === 'v2'
      ? {anon: stat.anon ?? null, file: stat.file ?? null}
      : {anon: stat.total_rss ?? null, file: stat.total_cache ?? null}
  }

  /** high-water mark, bytes (v2 memory.peak is missing before 5.19) */
  peakBytes(): number | null {
    return num(this.mem('memory.max_usage_in_bytes', 'memory.peak'))
  }

  /** bytes; null = no limit ("max", or v1's near-2^63 sentinel) */
  limitBytes(): number | null {
    const raw = this.mem('memory.limit_in_bytes', 'memory.max')?.trim()
    if (raw === undefined || raw === 'max') return null
    const n = Number(raw)
    return Number.isFinite(n) && n < 2 ** 62 ? n : null
  }

  /** OOM kills in the group so far */
  oomKills(): number | null {
    const text = this.mem('memory.oom_control', 'memory.events')
    return text === null ? null : keyed(text).oom_kill ?? 0
  }

  /** cumulative CPU, µs (v1 cpuacct.usage is ns) */
  cpuUsec(): number | null {
    if (this.target.cpuacctDir) {
      const ns = num(this.text(join(this.target.cpuacctDir, 'cpuacct.usage')))
      return ns === null ? null : Math.floor(ns / 1000)
    }
    const dir = this.target.unifiedDir
    return dir ? keyed(this.text(join(dir, 'cpu.stat'))).usage_usec ?? null : null
  }

  /** memory.pressure totals, µs */
  memoryPressure(): {some: number | null; full: number | null} {
    const dir = this.target.unifiedDir
    const text = dir ? this.text(join(dir, 'memory.pressure')) : null
    const total = (kind: string) => {
      const m = text ? new RegExp(`^${kind} .*total=(\\d+)`, 'm').exec(text) : null
      return m ? Number(m[1]) : null
    }
    return {full: total('full'), some: total('some')}
  }

  close(): void {
    for (const fd of this.fds.values()) if (fd !== null) closeSync(fd)
    this.fds.clear()
  }
}

function num(text: string | null): number | null {
  if (text === null) return null
  const n = Number(text.trim())
  return Number.isFinite(n) ? n : null
}

function keyed(text: string | null): Record<string, number> {
  const out: Record<string, number> = {}
  if (text === null) return out
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ')
    if (sp > 0) out[line.slice(0, sp)] = Number(line.slice(sp + 1))
  }
  return out
}

export interface CgroupfsOptions extends SamplerOptions {
  /** turn OOM-kill counter increases into events (off when the BPF program reports victims) */
  oomEvents?: boolean
  /** the sample source name (default 'cgroupfs') */
  source?: string
}

/** Own CPU of this process, µs (user + system, all threads). */
export function ownCpuUsec(): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * The info of a counter sampler (cgroupfs, podman stats): the median interval of its samples
 * and its own CPU (`ownCpuUsec`, spent since `startMono`) as % of one core over the wall time.
 */
export function counterSamplerInfo(o: {sampler: string; samples: SampleRow[]; clock: RunClock; startMono: bigint; ownCpuUsec: number; warnings: string[]}): SamplerInfo {
  const wallUsec = Number((process.hrtime.bigint() - o.startMono) / 1000n)
  const gaps = o.samples.slice(1).map((s, i) => (s.t_us - o.samples[i].t_us) / 1000)
  const interval = median(gaps)
  return {
    bpfRunTimeNs: null,
    clockOffsetNs: o.clock.offsetNs,
    intervalMs: interval === null ? null : Math.round(interval * 10) / 10,
    overheadCpuPct: wallUsec > 0 ? (o.ownCpuUsec / wallUsec) * 100 : null,
    ownCpuUsec: o.ownCpuUsec,
    programs: [],
    ringbufDrops: null,
    setupCpuUsec: 0,
    sampler: o.sampler,
    wallUsec,
    warnings: o.warnings,
  }
}

export class CgroupfsSampler implements Sampler {
  readonly name = 'cgroupfs' as const
  private counters: CgroupCounters | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly samples: SampleRow[] = []
  private readonly events: EventRow[] = []
  private clock!: RunClock
  private opts!: CgroupfsOptions
  private startMono = 0n
  private nextDue = 0
  private cpu0 = 0
  private lastOom: number | null = null
  private limit: number | null = null
  private limitAt: number | null = null
  private running = false

  async start(target: SamplerTarget, opts: CgroupfsOptions): Promise<void> {
    this.opts = opts
    this.clock = opts.clock ?? RunClock.take()
    this.counters = new CgroupCounters(target)
    if (this.counters.usageBytes() === null) {
      this.counters.close()
      throw new Error(`${target.memoryDir}: cannot read the memory usage of this cgroup`)
    }
    this.cpu0 = ownCpuUsec()
    this.startMono = process.hrtime.bigint()
    this.running = true
    this.sample()
    this.nextDue = performance.now() + opts.intervalMs
    this.schedule()
  }

  /** Timer on absolute deadlines: a late tick does not shift the ones after it. */
  private schedule(): void {
    if (!this.running) return
    const delay = Math.max(0, this.nextDue - performance.now())
    this.timer = setTimeout(() => {
      this.sample()
      this.nextDue += this.opts.intervalMs
      // after a long stall, skip the missed ticks instead of firing them back to back
      const now = performance.now()
      if (this.nextDue < now) this.nextDue = now + this.opts.intervalMs
      this.schedule()
    }, delay)
  }

  /** Takes one sample now (also used for the first and the last). */
  sample(): void {
    const c = this.counters
    if (!c) return
    const tUs = this.clock.nowUs()
    const mem = c.usageBytes()
    if (mem === null) return // the group is gone
    const {anon, file} = c.anonFileBytes()
    const cpu = c.cpuUsec()
    const psi = c.memoryPressure()
    // the limit changes only when someone writes it: re-read about once a second
    if (this.limitAt === null || tUs - this.limitAt >= 1e6) {
      this.limit = c.limitBytes()
      this.limitAt = tUs
    }
    const prev = this.samples.at(-1)
    const cpuPct = prev && cpu !== null && prev.cpu_usec != null && tUs > prev.t_us ? ((cpu - prev.cpu_usec) / (tUs - prev.t_us)) * 100 : null
    this.samples.push({
      cpu_pct: cpuPct === null ? null : Math.round(cpuPct * 100) / 100,
      cpu_pct_kind: cpuPct === null ? null : 'instant',
      cpu_usec: cpu,
      mem_anon_bytes: anon,
      mem_bytes: mem,
      mem_file_bytes: file,
      mem_limit_bytes: this.limit,
      mem_peak_bytes: c.peakBytes(),
      psi_mem_full_usec: psi.full,
      psi_mem_some_usec: psi.some,
      source: this.opts.source ?? 'cgroupfs',
      t_us: tUs,
    })
    if (this.opts.oomEvents ?? true) {
      const oom = c.oomKills()
      if (oom !== null && this.lastOom !== null && oom > this.lastOom) {
        this.events.push({detail: JSON.stringify({count: oom - this.lastOom, source: 'cgroupfs'}), kind: 'oom_kill', t_us: tUs})
      }
      if (oom !== null) this.lastOom = oom
    }
  }

  abort(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  async stop(): Promise<SamplerResult> {
    if (this.running) this.sample()
    this.abort()
    this.counters?.close()
    this.counters = null
    return {
      events: this.events,
      info: counterSamplerInfo({clock: this.clock, ownCpuUsec: ownCpuUsec() - this.cpu0, sampler: 'cgroupfs', samples: this.samples, startMono: this.startMono, warnings: []}),
      processes: [],
      samples: this.samples,
    }
  }
}
