/**
 * The podman-stats sampler: the paper's method, kept to compare against. Every interval it
 * runs `podman stats --no-stream --format json <container>` (a new process per sample, one
 * at a time, so it cannot go faster than a call takes: ~200 ms here) and stores podman's
 * memory usage and limit and its cpu_percent, which is the container's lifetime average
 * (cpu_pct_kind 'lifetime_avg'), not the instantaneous figure the other samplers give.
 * Its cost includes the podman processes' CPU.
 */
import {execFile} from 'node:child_process'
import {readFileSync} from 'node:fs'

import type {SampleRow} from '../../datasets/model.js'
import {parseMemUsage, parsePercent} from '../../datasets/formats/sizes.js'
import {podmanGlobalArgs} from '../podman.js'
import {counterSamplerInfo, ownCpuUsec} from './cgroupfs.js'
import {RunClock} from './clock.js'
import type {SamplerTarget} from './target.js'
import type {Sampler, SamplerOptions, SamplerResult} from './types.js'

export interface PodmanStatsOptions extends SamplerOptions {
  /** global podman flags (e.g. a private --root/--runroot) */
  podmanArgs?: string[]
  podmanPath?: string
}

/** CPU of our reaped child processes (podman), µs: /proc/self/stat cutime + cstime. */
export function childrenCpuUsec(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    // fields after the parenthesised comm; cutime and cstime are the 16th and 17th of the line
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[13]) + Number(f[14])) * 1e6) / 100
  } catch {
    return 0
  }
}

interface PodmanStat {
  mem_usage?: string
  cpu_percent?: string
}

export class PodmanStatsSampler implements Sampler {
  readonly name = 'podman-stats' as const
  private running = false
  private loop: Promise<void> | null = null
  private readonly samples: SampleRow[] = []
  private readonly errors: string[] = []
  private clock!: RunClock
  private cpu0 = 0
  private children0 = 0
  private startMono = 0n
  private wake: (() => void) | null = null
  private timer: NodeJS.Timeout | null = null

  async start(target: SamplerTarget, opts: PodmanStatsOptions): Promise<void> {
    if (!target.container) throw new Error('the podman-stats sampler samples a Podman container: this cgroup has none (use --sampler cgroupfs or bpf)')
    this.clock = opts.clock ?? RunClock.take()
    this.cpu0 = ownCpuUsec()
    this.children0 = childrenCpuUsec()
    this.startMono = process.hrtime.bigint()
    this.running = true
    // the same storage and runtime flags as every other podman call (a private --root in tests)
    const args = [...(opts.podmanArgs ?? podmanGlobalArgs()), 'stats', '--no-stream', '--format', 'json', target.container]
    this.loop = this.run(opts.podmanPath ?? 'podman', args, opts.intervalMs)
  }

  private async run(podman: string, args: string[], intervalMs: number): Promise<void> {
    let due = performance.now()
    while (this.running) {
      const tUs = this.clock.nowUs()
      const out = await new Promise<string | null>((resolve) => {
        execFile(podman, args, {maxBuffer: 1 << 20, timeout: 10_000}, (err, stdout, stderr) => {
          if (err) {
            if (this.errors.length < 5) this.errors.push(String(stderr || err.message).split('\n')[0])
            resolve(null)
          } else resolve(stdout)
        })
      })
      if (out !== null) this.add(tUs, out)
      due += intervalMs
      const now = performance.now()
      if (due < now) due = now // a call slower than the interval: go on at once
      if (!this.running) break
      await new Promise<void>((resolve) => {
        this.wake = resolve
        this.timer = setTimeout(resolve, due - now)
      })
    }
  }

  private add(tUs: number, stdout: string): void {
    try {
      const parsed = JSON.parse(stdout) as PodmanStat[] | PodmanStat
      const s = Array.isArray(parsed) ? parsed[0] : parsed
      if (!s?.mem_usage) return
      const mem = parseMemUsage(s.mem_usage)
      const cpu = s.cpu_percent ? parsePercent(s.cpu_percent) : null
      this.samples.push({
        cpu_pct: cpu,
        cpu_pct_kind: cpu === null ? null : 'lifetime_avg',
        mem_bytes: mem.usedBytes,
        mem_limit_bytes: mem.limitBytes,
        source: 'podman-stats',
        t_us: tUs,
      })
    } catch (error) {
      if (this.errors.length < 5) this.errors.push(`podman stats output: ${(error as Error).message}`)
    }
  }

  abort(): void {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.wake?.()
  }

  async stop(): Promise<SamplerResult> {
    this.abort()
    await this.loop
    return {
      events: [],
      info: counterSamplerInfo({
        clock: this.clock,
        ownCpuUsec: ownCpuUsec() - this.cpu0 + (childrenCpuUsec() - this.children0),
        sampler: 'podman-stats',
        samples: this.samples,
        startMono: this.startMono,
        warnings: this.errors.map((e) => `podman stats failed: ${e}`),
      }),
      processes: [],
      samples: this.samples,
    }
  }
}
