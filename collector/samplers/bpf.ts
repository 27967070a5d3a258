/**
 * The bpf sampler (`bpf+cgroupfs`): BPF programs for every process of the cgroup subtree
 * (exec/fork/exit with argv, exit status and peak RSS), OOM victims and reclaim stalls, plus
 * the cgroupfs sampler's interval counters, all on one clock.
 *
 * Each program loads on its own: the ones the kernel refuses are named in `warnings` (and in
 * events of kind bpf_refused) and the rest run; with none left this is the cgroupfs sampler.
 * Its cost is our process's CPU while sampling plus the programs' run time in the kernel.
 */
import {readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

import {BpfTracer, BpfUnavailableError, bpfUnavailableReason, type ProgramStatus} from '../../bpf/index.js'
import {CgroupfsSampler, ownCpuUsec} from './cgroupfs.js'
import {RunClock} from './clock.js'
import {ProcessTable} from './processes.js'
import {memoryCgroupId, memoryCgroupLevel, type SamplerTarget} from './target.js'
import type {Sampler, SamplerOptions, SamplerResult} from './types.js'

export class BpfSampler implements Sampler {
  readonly name = 'bpf' as const
  private tracer: BpfTracer | null = null
  private counters = new CgroupfsSampler()
  private table!: ProcessTable
  private clock!: RunClock
  private target!: SamplerTarget
  private cpu0 = 0
  private setupCpuUsec = 0
  private startMono = 0n
  private eventError: unknown = null
  private readonly warnings: string[] = []
  private programs: ProgramStatus[] = []
  private startUs = 0

  async start(target: SamplerTarget, opts: SamplerOptions): Promise<void> {
    const reason = bpfUnavailableReason()
    if (reason) throw new BpfUnavailableError(reason)
    this.target = target
    this.clock = opts.clock ?? RunClock.take()
    this.table = new ProcessTable(this.clock)
    const setup0 = ownCpuUsec()
    this.startUs = this.clock.nowUs()
    this.tracer = BpfTracer.start({
      cgroupId: memoryCgroupId(target),
      hierarchy: target.version,
      level: memoryCgroupLevel(target),
      onError: (error) => {
        this.eventError ??= error
      },
      onEvent: (e) => this.table.handle(e),
      // drain about once per sample: each drain wakes our main thread
      pollMs: Math.min(Math.max(opts.intervalMs, 50), 200),
      rssThresholdBytes: opts.rssThresholdBytes,
      simulateRefused: opts.simulateRefused,
    })
    this.programs = this.tracer.programs
    for (const p of this.tracer.refused) this.warnings.push(`BPF program ${p.name} refused (${p.stage}: ${p.error}); the other programs run`)
    const oomByBpf = this.tracer.running.includes('handle_mark_victim')
    if (this.tracer.running.length === 0) {
      this.warnings.push('no BPF program could run: recording with the cgroupfs sampler alone')
      this.tracer.detach()
      this.tracer = null
    }
    await this.counters.start(target, {...opts, clock: this.clock, oomEvents: !oomByBpf})
    // the steady-state cost is measured from here: loading is a one-time cost, kept apart
    this.cpu0 = ownCpuUsec()
    this.setupCpuUsec = this.cpu0 - setup0
    this.startMono = process.hrtime.bigint()
  }

  abort(): void {
    this.counters.abort()
    this.tracer?.detach()
  }

  async stop(): Promise<SamplerResult> {
    const tracer = this.tracer
    const programs = this.programs
    // processes still alive: their peaks live only in the map, read it before detaching
    const rssPeaks = new Map((tracer?.rssTable() ?? []).map((r) => [r.pid, r.peakBytes] as const))
    const stats = tracer ? await tracer.stop() : null
    const counters = await this.counters.stop()
    const wallUsec = Number((process.hrtime.bigint() - this.startMono) / 1000n)
    const ownCpu = ownCpuUsec() - this.cpu0
    const endUs = this.clock.nowUs()
    const names = cgroupNames(this.target)
    const processes = this.table.finish(rssPeaks, (id) => names.get(id) ?? (id ? `cgroup-id:${id}` : null), endUs)
    const bpfRunTimeNs = stats && stats.programs.every((p) => p.runTimeNs !== undefined) ? stats.programs.reduce((s, p) => s + Number(p.runTimeNs ?? 0n), 0) : null
    const drops = stats ? Number(stats.drops) : null
    const events = [...counters.events, ...this.table.events]
    for (const p of programs.filter((x) => !x.ok)) {
      events.push({detail: JSON.stringify({error: p.error, program: p.name, stage: p.stage}), kind: 'bpf_refused', t_us: this.startUs})
    }
    if (drops) events.push({detail: JSON.stringify({count: drops}), kind: 'ringbuf_drop', t_us: endUs})
    if (stats?.runTimeUnavailable) this.warnings.push(`BPF run time not measured (${stats.runTimeUnavailable})`)
    if (this.eventError) this.warnings.push(`an event could not be decoded: ${(this.eventError as Error).message ?? String(this.eventError)}`)
    events.sort((a, b) => a.t_us - b.t_us)
    return {
      events,
      info: {
        bpfRunTimeNs,
        clockOffsetNs: this.clock.offsetNs,
        intervalMs: counters.info.intervalMs,
        overheadCpuPct: wallUsec > 0 ? ((ownCpu + (bpfRunTimeNs ?? 0) / 1000) / wallUsec) * 100 : null,
        ownCpuUsec: ownCpu,
        programStats: stats?.programs.map((p) => ({name: p.name, runCount: p.runCount === undefined ? null : Number(p.runCount), runTimeNs: p.runTimeNs === undefined ? null : Number(p.runTimeNs)})),
        programs,
        setupCpuUsec: this.setupCpuUsec,
        ringbufDrops: tracer ? drops : null,
        sampler: tracer ? 'bpf+cgroupfs' : 'cgroupfs',
        wallUsec,
        warnings: this.warnings,
      },
      processes,
      samples: counters.samples,
    }
  }
}

/** kernfs id -> path below the memory mount, for the target and every group below it. */
function cgroupNames(t: SamplerTarget): Map<number, string> {
  const out = new Map<number, string>()
  const walk = (dir: string, depth: number) => {
    try {
      out.set(Number(statSync(dir, {bigint: true}).ino), relative(t.memoryMount, dir))
      if (depth > 16) return
      for (const e of readdirSync(dir, {withFileTypes: true})) if (e.isDirectory()) walk(join(dir, e.name), depth + 1)
    } catch {
      // removed while we walked
    }
  }
  walk(t.memoryDir, 0)
  return out
}
