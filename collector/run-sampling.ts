/**
 * Sampling one attempt: the `record` samplers (collector/samplers: BPF where this machine
 * allows it, else cgroupfs, with one warning saying why) on the run's cgroup; without BPF our
 * /proc poller (poller.ts) adds the processes, and if the samplers cannot start at all it
 * does the whole job, so a run is never unmeasured.
 * A Ctrl-C or crash aborts it synchronously (BPF detached, timers stopped).
 */
import type {EventRow, ProcessRow, SampleRow} from '../datasets/model.js'
import type {Cgroup} from '../kernel/cgroup.js'
import {onCleanup} from '../kernel/cleanup.js'
import {CgroupPoller} from './poller.js'
import {SamplerName, startSampler, targetOfCgroup} from './samplers/index.js'
import type {ToolCallComms} from './samplers/types.js'

export interface SamplingResult {
  samples: SampleRow[]
  processes: ProcessRow[]
  events: EventRow[]
  sampler: string
  intervalMs: number | null
  overheadPct: number | null
  ringbufDrops: number | null
  clockOffsetNs: number | null
  oomKills: number
  warnings: string[]
}

export interface RunSampling {
  stop(): Promise<SamplingResult>
}

export async function startRunSampling(group: Cgroup, container: string | null, intervalMs: number, log: (m: string) => void, name: SamplerName = 'bpf', toolCalls?: ToolCallComms): Promise<RunSampling> {
  try {
    const {sampler, warnings} = await startSampler(name, targetOfCgroup(group, container ?? undefined), {intervalMs, toolCalls})
    for (const w of warnings) log(w)
    // without BPF there is no process table: the /proc poller adds one (short processes missed)
    const procs = sampler.name === 'bpf' ? null : new CgroupPoller(() => group, intervalMs)
    procs?.start()
    const unhook = onCleanup(() => sampler.abort())
    return {
      stop: async () => {
        unhook()
        const p = procs?.stop() ?? null
        const r = await sampler.stop()
        return {
          clockOffsetNs: Number(r.info.clockOffsetNs),
          events: r.events,
          intervalMs: r.info.intervalMs,
          oomKills: oomKillsOf(r.events),
          overheadPct: r.info.overheadCpuPct === null ? null : r.info.overheadCpuPct + (p?.overheadPct ?? 0),
          processes: p ? p.processes : r.processes,
          ringbufDrops: r.info.ringbufDrops,
          sampler: p ? `${r.info.sampler}+procfs` : r.info.sampler,
          samples: r.samples,
          warnings: [...warnings, ...r.info.warnings],
        }
      },
    }
  } catch (error) {
    log(`sampler: ${(error as Error).message.split('\n')[0]}; recording with the /proc poller`)
    const poller = new CgroupPoller(() => group, intervalMs)
    poller.start()
    return {
      stop: async () => {
        const r = poller.stop()
        return {clockOffsetNs: null, events: [], intervalMs, oomKills: r.oomKills, overheadPct: r.overheadPct, processes: r.processes, ringbufDrops: null, sampler: 'cgroupfs+procfs', samples: r.samples, warnings: []}
      },
    }
  }
}

/** OOM kills in the sampler's events (cgroupfs events carry a count, BPF ones are one each). */
function oomKillsOf(events: EventRow[]): number {
  let n = 0
  for (const e of events) {
    if (e.kind !== 'oom_kill') continue
    try {
      const d = JSON.parse(e.detail ?? '{}') as {count?: number}
      n += typeof d.count === 'number' ? d.count : 1
    } catch {
      n += 1
    }
  }
  return n
}
