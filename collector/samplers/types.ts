/**
 * The sampler API, shared by `record` and `run-benchmark`: a sampler watches one cgroup
 * (ours or a container's, given as v1 controller paths or a v2 path) from start() to stop()
 * and returns store rows (samples, processes, events) on one clock, with its own cost.
 *
 *   const s = createSampler('bpf')
 *   await s.start(targetOfCgroup(cg), {intervalMs: 100})
 *   ... the workload runs in the cgroup ...
 *   const {samples, processes, events, info} = await s.stop()
 *
 * A sampler never writes to the cgroup it watches.
 */
import type {EventRow, ProcessRow, SampleRow} from '../../datasets/model.js'
import type {ProgramStatus} from '../../bpf/index.js'
import type {RunClock} from './clock.js'
import type {SamplerTarget} from './target.js'

export type SamplerName = 'bpf' | 'cgroupfs' | 'podman-stats'

export interface SamplerOptions {
  /** interval of the counter samples, ms (10 ms to 60 s) */
  intervalMs: number
  /** the run's clock (one offset per run); made at start() when not given */
  clock?: RunClock
  /** bpf: an rss_peak event each time a process's peak RSS grew by this much (default 8 MiB) */
  rssThresholdBytes?: number
  /** bpf: program names to refuse on purpose (default: AGENTCGROUP_BPF_REFUSE) */
  simulateRefused?: string[]
  /** bpf: also load rss_stat (RSS growth events of live processes; runs on every page fault) */
  rssEvents?: boolean
  /** bpf: mark tool-call boundaries in the kernel (the agent adapter's process names) */
  toolCalls?: ToolCallComms
}

/** How an agent's tool calls look in the process tree: the agent's comm and its tool shells'. */
export interface ToolCallComms {
  agentComms: string[]
  callComms: string[]
}

export interface SamplerInfo {
  /** what ran: 'bpf+cgroupfs', 'cgroupfs' or 'podman-stats' */
  sampler: string
  /** median interval between samples, ms (null with fewer than 2 samples) */
  intervalMs: number | null
  /** the sampler's CPU (our process, its helper processes, BPF run time) as % of one core */
  overheadCpuPct: number | null
  /** user + system CPU of our process while sampling, and of helpers (podman), µs */
  ownCpuUsec: number
  /** one-time CPU of starting (loading and verifying BPF programs), µs: not in overheadCpuPct */
  setupCpuUsec: number
  /** bpf: CPU of building the process rows at stop, µs: not in overheadCpuPct */
  finishCpuUsec?: number
  /** BPF programs' run time while attached (kernel.bpf_stats_enabled), ns; null: not measured */
  bpfRunTimeNs: number | null
  /** how long the sampler ran, µs */
  wallUsec: number
  /** ring-buffer records lost (bpf); null when no ring buffer */
  ringbufDrops: number | null
  /** CLOCK_MONOTONIC to UTC offset of the run's clock, ns */
  clockOffsetNs: bigint
  /** BPF programs and whether the kernel took them (empty without BPF) */
  programs: ProgramStatus[]
  /** per-program run time and runs while attached (bpf) */
  programStats?: {name: string; runTimeNs: number | null; runCount: number | null}[]
  /** one line each: refused programs, fallbacks */
  warnings: string[]
}

export interface SamplerResult {
  samples: SampleRow[]
  processes: ProcessRow[]
  events: EventRow[]
  info: SamplerInfo
}

export interface Sampler {
  readonly name: SamplerName
  start(target: SamplerTarget, opts: SamplerOptions): Promise<void>
  stop(): Promise<SamplerResult>
  /** Synchronous emergency stop for exit handlers: detaches BPF, stops timers. */
  abort(): void
}
