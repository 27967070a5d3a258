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
 * instantaneous CPU %, comes from the previous sample (none for the first). The files and
 * their parsing (counterProbes, parseCounter, SampleBuilder) are shared with the bpf sampler,
 * whose addon thread reads the same files without waking Node at each tick.
 */
import {closeSync, openSync, readSync} from 'node:fs'
import {join} from 'node:path'

import {medianGapMs} from '../../analysis/stats.js'
import type {EventRow, SampleRow} from '../../datasets/model.js'
import {RunClock} from './clock.js'
import type {SamplerTarget} from './target.js'
import type {Sampler, SamplerInfo, SamplerOptions, SamplerResult} from './types.js'

/** What a sample holds, each from one counter file. */
export type CounterField = 'usage' | 'anon' | 'file' | 'peak' | 'limit' | 'oom_kills' | 'cpu' | 'psi_some' | 'psi_full'

/**
 * One counter: a file and how to find the number in it (the same rules here and in the
 * addon's thread, bpf/src/counters.h): key '' = the file is one number ("max": absent);
 * 'name' = the line "name <n>"; 'some:total' = the line starting "some " and its total=<n>.
 * `divisor` turns the file's unit into the row's (cpuacct.usage: ns -> µs).
 */
export interface CounterProbe {
  field: CounterField
  path: string
  key: string
  divisor?: number
}

/** The counters of a target, in read order (probes of the same file are adjacent: one read each). */
export function counterProbes(t: SamplerTarget): CounterProbe[] {
  const v2 = t.version === 'v2'
  const mem = (v1File: string, v2File: string) => join(t.memoryDir, v2 ? v2File : v1File)
  const probes: CounterProbe[] = [
    {field: 'usage', key: '', path: mem('memory.usage_in_bytes', 'memory.current')},
    {field: 'anon', key: v2 ? 'anon' : 'total_rss', path: mem('memory.stat', 'memory.stat')},
    {field: 'file', key: v2 ? 'file' : 'total_cache', path: mem('memory.stat', 'memory.stat')},
    // v2 memory.peak is missing before 5.19
    {field: 'peak', key: '', path: mem('memory.max_usage_in_bytes', 'memory.peak')},
    {field: 'limit', key: '', path: mem('memory.limit_in_bytes', 'memory.max')},
    {field: 'oom_kills', key: 'oom_kill', path: mem('memory.oom_control', 'memory.events')},
  ]
  if (t.cpuacctDir) probes.push({divisor: 1000, field: 'cpu', key: '', path: join(t.cpuacctDir, 'cpuacct.usage')})
  else if (t.unifiedDir) probes.push({field: 'cpu', key: 'usage_usec', path: join(t.unifiedDir, 'cpu.stat')})
  if (t.unifiedDir) {
    probes.push({field: 'psi_some', key: 'some:total', path: join(t.unifiedDir, 'memory.pressure')})
    probes.push({field: 'psi_full', key: 'full:total', path: join(t.unifiedDir, 'memory.pressure')})
  }
  return probes
}

/** The number `key` names in a counter file's text, or null (rules at CounterProbe). */
export function parseCounter(text: string | null, key: string): number | null {
  if (text === null) return null
  if (key === '') return leadingInt(text)
  const colon = key.indexOf(':')
  const head = colon < 0 ? key : key.slice(0, colon)
  for (const line of text.split('\n')) {
    if (!line.startsWith(head + ' ')) continue
    const rest = line.slice(head.length + 1)
    if (colon < 0) return leadingInt(rest)
    const field = `${key.slice(colon + 1)}=`
    const at = rest.startsWith(field) ? 0 : rest.indexOf(` ${field}`) + 1
    return at > 0 || rest.startsWith(field) ? leadingInt(rest.slice(at + field.length)) : null
  }
  return null
}

function leadingInt(text: string): number | null {
  const m = /^[ \t]*(-?\d+)/.exec(text)
  return m ? Number(m[1]) : null
}

/** Reads a target's counter files in JavaScript (the cgroupfs sampler; the bpf one reads them in the addon). */
export class CounterReader {
  private readonly fds: (number | null | undefined)[]
  private readonly buf = Buffer.alloc(16 * 1024)

  constructor(readonly probes: CounterProbe[]) {
    this.fds = probes.map(() => undefined)
  }

  private text(i: number): string | null {
    let fd = this.fds[i]
    if (fd === undefined) {
      try {
        fd = openSync(this.probes[i].path, 'r')
      } catch {
        fd = null
      }
      this.fds[i] = fd
    }
    if (fd === null) return null
    try {
      const n = readSync(fd, this.buf, 0, this.buf.length, 0)
      return this.buf.toString('latin1', 0, n)
    } catch {
      // the group went away (e.g. a container exited): read as missing from now on
      closeSync(fd)
      this.fds[i] = null
      return null
    }
  }

  /** Every counter now, in probe order (null: absent). */
  read(): (number | null)[] {
    let lastPath: string | null = null
    let lastText: string | null = null
    return this.probes.map((p, i) => {
      if (p.path !== lastPath) {
        lastPath = p.path
        lastText = this.text(i)
      }
      return parseCounter(lastText, p.key)
    })
  }

  close(): void {
    for (const fd of this.fds) if (fd !== null && fd !== undefined) closeSync(fd)
    this.fds.fill(undefined)
  }
}

/**
 * Turns counter readings into sample rows (and OOM-kill counter increases into events), the
 * same for the JavaScript reader and the addon's. Instantaneous CPU % comes from the previous
 * sample (none for the first); a reading without memory usage (the group is gone) is dropped.
 */
export class SampleBuilder {
  readonly samples: SampleRow[] = []
  readonly events: EventRow[] = []
  private readonly at: Partial<Record<CounterField, number>> = {}
  private lastOom: number | null = null

  constructor(
    readonly probes: CounterProbe[],
    private readonly source: string,
    /** turn OOM-kill counter increases into events (off when the BPF program reports victims) */
    private readonly oomEvents: boolean,
  ) {
    probes.forEach((p, i) => (this.at[p.field] = i))
  }

  private value(values: (number | null)[], field: CounterField): number | null {
    const i = this.at[field]
    if (i === undefined) return null
    const v = values[i]
    return v === null || v === undefined ? null : v / (this.probes[i].divisor ?? 1)
  }

  add(tUs: number, values: (number | null)[]): void {
    const mem = this.value(values, 'usage')
    if (mem === null) return
    const cpuRaw = this.value(values, 'cpu')
    const cpu = cpuRaw === null ? null : Math.floor(cpuRaw)
    const limit = this.value(values, 'limit')
    const prev = this.samples.at(-1)
    const cpuPct = prev && cpu !== null && prev.cpu_usec != null && tUs > prev.t_us ? ((cpu - prev.cpu_usec) / (tUs - prev.t_us)) * 100 : null
    this.samples.push({
      cpu_pct: cpuPct === null ? null : Math.round(cpuPct * 100) / 100,
      cpu_pct_kind: cpuPct === null ? null : 'instant',
      cpu_usec: cpu,
      mem_anon_bytes: this.value(values, 'anon'),
      mem_bytes: mem,
      mem_file_bytes: this.value(values, 'file'),
      // null = no limit (v2 "max", or v1's near-2^63 sentinel)
      mem_limit_bytes: limit !== null && limit < 2 ** 62 ? limit : null,
      mem_peak_bytes: this.value(values, 'peak'),
      psi_mem_full_usec: this.value(values, 'psi_full'),
      psi_mem_some_usec: this.value(values, 'psi_some'),
      source: this.source,
      t_us: tUs,
    })
    const oom = this.value(values, 'oom_kills')
    if (this.oomEvents && oom !== null && this.lastOom !== null && oom > this.lastOom) {
      this.events.push({detail: JSON.stringify({count: oom - this.lastOom, source: 'cgroupfs'}), kind: 'oom_kill', t_us: tUs})
    }
    if (oom !== null) this.lastOom = oom
  }
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

/** The median interval of samples, ms to 0.1 (null with fewer than 2). */
export function sampleIntervalMs(samples: SampleRow[]): number | null {
  const gap = medianGapMs(samples.map((s) => s.t_us))
  return gap === null ? null : Math.round(gap * 10) / 10
}

/**
 * The info of a counter sampler (cgroupfs, podman stats): the median interval of its samples
 * and its own CPU (`ownCpuUsec`, spent since `startMono`) as % of one core over the wall time.
 */
export function counterSamplerInfo(o: {sampler: string; samples: SampleRow[]; clock: RunClock; startMono: bigint; ownCpuUsec: number; warnings: string[]}): SamplerInfo {
  const wallUsec = Number((process.hrtime.bigint() - o.startMono) / 1000n)
  return {
    bpfRunTimeNs: null,
    clockOffsetNs: o.clock.offsetNs,
    intervalMs: sampleIntervalMs(o.samples),
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
  private reader: CounterReader | null = null
  private builder!: SampleBuilder
  private timer: NodeJS.Timeout | null = null
  private clock!: RunClock
  private opts!: CgroupfsOptions
  private startMono = 0n
  private nextDue = 0
  private cpu0 = 0
  private running = false

  async start(target: SamplerTarget, opts: CgroupfsOptions): Promise<void> {
    this.opts = opts
    this.clock = opts.clock ?? RunClock.take()
    const probes = counterProbes(target)
    this.reader = new CounterReader(probes)
    if (this.reader.read()[0] === null) {
      this.reader.close()
      throw new Error(`${target.memoryDir}: cannot read the memory usage of this cgroup`)
    }
    this.builder = new SampleBuilder(probes, opts.source ?? 'cgroupfs', opts.oomEvents ?? true)
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
    if (!this.reader) return
    this.builder.add(this.clock.nowUs(), this.reader.read())
  }

  abort(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  async stop(): Promise<SamplerResult> {
    if (this.running) this.sample()
    this.abort()
    this.reader?.close()
    this.reader = null
    return {
      events: this.builder.events,
      info: counterSamplerInfo({clock: this.clock, ownCpuUsec: ownCpuUsec() - this.cpu0, sampler: 'cgroupfs', samples: this.builder.samples, startMono: this.startMono, warnings: []}),
      processes: [],
      samples: this.builder.samples,
    }
  }
}
