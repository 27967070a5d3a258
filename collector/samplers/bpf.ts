/**
 * The bpf sampler (`bpf+cgroupfs`): BPF programs for every process of the cgroup subtree
 * (one record each, assembled in the kernel: argv, parent, exit status, CPU, peak RSS, the
 * tool call it belongs to), OOM victims and reclaim stalls, plus the cgroupfs sampler's
 * interval counters, all on one clock.
 *
 * Each program loads on its own: the ones the kernel refuses are named in `warnings` (and in
 * events of kind bpf_refused) and the rest run; with none left this is the cgroupfs sampler.
 * The counter files are read by the addon's thread on the BPF clock, and records reach Node in
 * one batch a second: a Node wakeup costs ~160 µs of CPU on this VM, a sample's reads ~15 µs.
 * Its cost is our process's CPU while sampling plus the programs' run time in the kernel;
 * building the rows at stop is kept apart (finishCpuUsec).
 */
import {readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

import {type BpfEvent, BpfTracer, decodeBatch, type NativeLayout, BpfUnavailableError, bpfUnavailableReason, type ProgramStatus, RECORD_OBJECTS} from '../../bpf/index.js'
import {CgroupfsSampler, counterProbes, CounterReader, ownCpuUsec, SampleBuilder, sampleIntervalMs} from './cgroupfs.js'
import {RunClock} from './clock.js'
import {ProcessTable} from './processes.js'
import {memoryCgroupId, memoryCgroupLevel, type SamplerTarget} from './target.js'
import type {Sampler, SamplerOptions, SamplerResult} from './types.js'

/** Undecoded records held at most (about 100k processes' worth), then decoded on the spot. */
const MAX_KEPT_BYTES = 64 << 20

export class BpfSampler implements Sampler {
  readonly name = 'bpf' as const
  private tracer: BpfTracer | null = null
  /** without any BPF program: the cgroupfs sampler does the counters */
  private fallback: CgroupfsSampler | null = null
  private builder!: SampleBuilder
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
  private batches: Buffer[] = []
  private keptBytes = 0
  private layout: NativeLayout | null = null

  async start(target: SamplerTarget, opts: SamplerOptions): Promise<void> {
    const reason = bpfUnavailableReason()
    if (reason) throw new BpfUnavailableError(reason)
    this.target = target
    this.clock = opts.clock ?? RunClock.take()
    this.table = new ProcessTable(this.clock)
    const probes = counterProbes(target)
    const probe = new CounterReader(probes)
    const usage = probe.read()[0]
    probe.close()
    if (usage === null) throw new Error(`${target.memoryDir}: cannot read the memory usage of this cgroup`)
    const setup0 = ownCpuUsec()
    this.startUs = this.clock.nowUs()
    this.tracer = BpfTracer.start({
      agentComms: opts.toolCalls?.agentComms,
      callComms: opts.toolCalls?.callComms,
      cgroupId: memoryCgroupId(target),
      // the addon's thread samples and drains; Node wakes once a second to take the batch
      counters: probes.map((p) => ({key: p.key, path: p.path})),
      deliverMs: Math.max(1000, opts.intervalMs),
      hierarchy: target.version,
      level: memoryCgroupLevel(target),
      objects: opts.rssEvents ? [...RECORD_OBJECTS, 'rss'] : RECORD_OBJECTS,
      onError: (error) => {
        this.eventError ??= error
      },
      // kept undecoded until stop(): recording costs a copy per record, decoding comes after
      onBatch: (buf) => this.keep(buf),
      rssThresholdBytes: opts.rssThresholdBytes,
      sampleMs: opts.intervalMs,
      simulateRefused: opts.simulateRefused,
    })
    this.programs = this.tracer.programs
    this.layout = this.tracer.layout
    for (const p of this.tracer.refused) this.warnings.push(`BPF program ${p.name} refused (${p.stage}: ${p.error}); the other programs run`)
    const oomByBpf = this.tracer.running.includes('handle_mark_victim')
    this.builder = new SampleBuilder(probes, 'cgroupfs', !oomByBpf)
    if (this.tracer.running.length === 0) {
      this.warnings.push('no BPF program could run: recording with the cgroupfs sampler alone')
      this.tracer.detach()
      this.tracer = null
      this.fallback = new CgroupfsSampler()
      await this.fallback.start(target, {...opts, clock: this.clock})
    }
    // the steady-state cost is measured from here: loading is a one-time cost, kept apart
    this.cpu0 = ownCpuUsec()
    this.setupCpuUsec = this.cpu0 - setup0
    this.startMono = process.hrtime.bigint()
  }

  private keep(buf: Buffer): void {
    this.batches.push(buf)
    this.keptBytes += buf.length
    // a long recording with many processes: decode now rather than hold unbounded memory
    if (this.keptBytes > MAX_KEPT_BYTES) this.decodeKept()
  }

  private decodeKept(): void {
    const layout = this.layout
    if (!layout) return
    const onEvent = (e: BpfEvent) => {
      if (e.kind === 'sample') this.builder.add(this.clock.monoToUs(e.tsNs), e.values)
      else this.table.handle(e)
    }
    for (const buf of this.batches) {
      try {
        decodeBatch(buf, layout, onEvent)
      } catch (error) {
        this.eventError ??= error
      }
    }
    this.batches = []
    this.keptBytes = 0
  }

  abort(): void {
    this.fallback?.abort()
    this.tracer?.detach()
  }

  async stop(): Promise<SamplerResult> {
    const tracer = this.tracer
    const programs = this.programs
    // the last sample and the processes still alive arrive with the last batch
    const stats = tracer ? await tracer.stop() : null
    const fallback = this.fallback ? await this.fallback.stop() : null
    const wallUsec = Number((process.hrtime.bigint() - this.startMono) / 1000n)
    const endUs = this.clock.nowUs()
    const finish0 = ownCpuUsec()
    const ownCpu = finish0 - this.cpu0
    this.decodeKept()
    const counters = fallback ?? {events: this.builder.events, samples: this.builder.samples}
    const names = cgroupNames(this.target)
    const processes = this.table.finish((id) => names.get(id) ?? (id ? `cgroup-id:${id}` : null), endUs)
    const finishCpuUsec = ownCpuUsec() - finish0
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
    const samples = counters.samples
    return {
      events,
      info: {
        bpfRunTimeNs,
        clockOffsetNs: this.clock.offsetNs,
        finishCpuUsec,
        intervalMs: sampleIntervalMs(samples),
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
      samples,
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
