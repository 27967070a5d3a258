import {Flags} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {parseCgroupSize} from '../../datasets/formats/sizes.js'
import {recordCommand, type RecordResult} from '../../collector/record.js'
import type {SamplerName} from '../../collector/samplers/index.js'
import type {ControlMode} from '../../collector/control/live.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {setExitStatus} from '../exit-status.js'

export type RecordCommandResult = RecordResult

/** "100ms", "10ms", "1s", "0.5s", or a bare number of milliseconds. */
export function parseInterval(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(text)
  if (!m) throw new UserError(`--interval ${JSON.stringify(text)}: give a duration such as 100ms, 10ms or 1s`)
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  if (ms < 10 || ms > 60_000) throw new UserError(`--interval ${text}: must be between 10ms and 60s`)
  return ms
}

export default class Record extends BaseCommand {
  static override description = `Run a command in a fresh cgroup and record its resources into the store.

The command runs in a new cgroup under agentcgroup/ (moved there before it execs, so everything it allocates is counted), sampled every --interval from the cgroup's own files (memory total/anon/file, peak, CPU, PSI). With the bpf sampler (the default) BPF programs also record every process (exec with argv, fork, exit code, peak RSS), OOM kills with their victim, and memory reclaim stalls. A BPF program the kernel refuses is named and left out; without BPF at all (no root, no BTF) the cgroupfs sampler runs alone, with a warning. The cgroup is removed when the command ends, and on Ctrl-C (the run is stored as interrupted). record exits with the command's exit code.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> -- python3 train.py',
    '<%= config.bin %> <%= command.id %> --interval 10ms --memory-limit 512M --label build -- make -j2',
    '<%= config.bin %> <%= command.id %> --sampler cgroupfs --json -- ./agent.sh',
    '<%= config.bin %> <%= command.id %> --control agentcgroup --memory-limit 4G -- claude -p "fix the failing test"',
  ]

  static override flags = {
    control: Flags.string({default: 'none', description: "observe: every $SHELL -c the command runs (an agent's tool calls) in its own cgroup, measured; agentcgroup: those cgroups throttled/frozen to keep --memory-limit; static: --memory-limit on the command's group", options: ['none', 'static', 'observe', 'agentcgroup']}),
    'cpu-priority': Flags.boolean({allowNo: true, default: true, description: 'with --control agentcgroup: tool calls running longer than 1 s yield the CPU (cpu weight 10)'}),
    dataset: Flags.string({default: 'recorded', description: 'dataset name of the run (run_id = <dataset>/<label>/attempt_<n>)'}),
    db: dbFlag,
    interval: Flags.string({default: '100ms', description: 'sampling interval: 100ms (default), 10ms, 1s, ...'}),
    label: Flags.string({description: "task name of the run (default: the command's name)"}),
    'rss-events': Flags.boolean({default: false, description: "bpf: also an rss_peak event each time a live process's RSS grew by 8 MiB (rss_stat runs on every page fault of the machine, ~80 ns each; peaks per process are recorded without it)"}),
    'memory-limit': Flags.string({description: 'hard memory limit of the cgroup (cgroup sizes: 512M = 512 MiB, 2G)'}),
    sampler: Flags.option({default: 'bpf', description: 'bpf (BPF events + cgroup files), cgroupfs (cgroup files only), podman-stats (containers only)', options: ['bpf', 'cgroupfs', 'podman-stats'] as const})(),
  }

  static override strict = false

  static override usage = '<%= command.id %> [FLAGS] -- COMMAND...'

  async run(): Promise<RecordCommandResult> {
    const {argv, flags} = await this.parse(Record)
    const command = argv as string[]
    const intervalMs = parseInterval(flags.interval)
    let memoryLimitBytes: number | null = null
    if (flags['memory-limit'] !== undefined) {
      try {
        memoryLimitBytes = parseCgroupSize(flags['memory-limit'])
      } catch (error) {
        throw new UserError(`--memory-limit ${flags['memory-limit']}: ${(error as Error).message}`)
      }
      if (memoryLimitBytes < 4096) throw new UserError(`--memory-limit ${flags['memory-limit']}: too small`)
    }
    const json = this.jsonEnabled()
    const result = await recordCommand({
      command,
      control: flags.control as ControlMode,
      cpuPriority: flags['cpu-priority'],
      commandStdout: json ? 'stderr' : 'inherit',
      dataset: flags.dataset,
      db: flags.db,
      intervalMs,
      label: flags.label ?? null,
      memoryLimitBytes,
      onWarning: (line) => this.logToStderr(`warning: ${line}`),
      rssEvents: flags['rss-events'],
      sampler: flags.sampler as SamplerName,
    })
    if (!json) {
      const mb = (b: number | null) => (b === null ? '-' : `${(b / 1e6).toFixed(1)} MB`)
      this.logToStderr(
        `recorded ${result.run_id} (${result.status}, exit ${result.exit_code}): ${result.samples} samples every ${result.interval_ms ?? '-'} ms, ` +
          `${result.processes} processes, ${result.oom_kills} OOM kills, memory peak ${mb(result.mem_peak_bytes)}; ` +
          `sampler ${result.sampler} used ${result.overhead_cpu_pct ?? '-'} % of a core` +
          (result.ringbuf_drops ? `, ${result.ringbuf_drops} events lost (ring buffer full)` : '') +
          `; stored in ${result.store}`,
      )
    }
    setExitStatus(result.exit_code)
    return result
  }
}
