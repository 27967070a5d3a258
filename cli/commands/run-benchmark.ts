import {Flags} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {parseShard} from '../../datasets/catalog/shard.js'
import {parseCgroupSize} from '../../datasets/formats/sizes.js'
import {AgentName, BenchmarkRun, runBenchmark, RuntimeName} from '../../collector/benchmark.js'
import {parseLatency} from '../../collector/replay-server.js'
import type {SamplerName} from '../../collector/samplers/index.js'
import type {ControlMode} from '../../collector/control/live.js'
import {BaseCommand, dbFlag, EXIT} from '../base-command.js'
import {setExitStatus} from '../exit-status.js'
import {progressReporter, renderTable} from '../render.js'

export interface RunBenchmarkResult {
  runs: BenchmarkRun[]
}

export default class RunBenchmark extends BaseCommand {
  static override description = `Run agent tasks in containers (or local cgroups) and record them into the store.

With no flags: the built-in demo tasks, with the real Claude Code CLI driven offline by the replay model server, in Podman (the local runtime where Podman is missing), into ./agentcgroup.duckdb. Every attempt is kept in a ledger beside the store: after Ctrl-C or a crash the same command resumes (no attempt lost, none run twice, leftovers removed). A task listed twice (or --attempts 2) is two attempts.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --tasks blobsum,cstats --concurrency 2 --node-memory 4G --control static',
    '<%= config.bin %> <%= command.id %> --tasks memory-burst,memory-burst --concurrency 2 --node-memory 1200M --control agentcgroup',
    '<%= config.bin %> <%= command.id %> --catalog swe-rebench --shard 0/4 --sessions ../shared/datasets/agentcgroup-paper/all_images_haiku',
    '<%= config.bin %> <%= command.id %> --agent command --agent-command "my-agent --repo {workdir} --task {task}"',
  ]

  static override flags = {
    agent: Flags.string({default: 'claude-code', description: 'agent adapter', options: ['claude-code', 'scripted', 'command']}),
    'agent-command': Flags.string({description: 'command line of --agent command ({workdir}, {task}, {prompt} are replaced)'}),
    'agent-version': Flags.string({description: 'Claude Code version (installed under .agentcgroup/claude-code-<version>)'}),
    attempts: Flags.integer({default: 1, description: 'attempts per task', min: 1}),
    catalog: Flags.string({default: 'demo', description: 'demo, swe-rebench, or a JSON/CSV file of instance ids'}),
    concurrency: Flags.integer({default: 1, description: 'attempts running at once', min: 1}),
    db: dbFlag,
    interval: Flags.integer({default: 100, description: 'sampling interval, ms', min: 10}),
    'llm-latency': Flags.string({default: 'recorded', description: 'replayed model latency: recorded, none, or ms per turn'}),
    control: Flags.string({default: 'none', description: 'none: the node limit only; static: each agent gets node/concurrency; observe: every tool call in its own cgroup, measured; agentcgroup: those cgroups throttled/frozen under pressure, later calls first', options: ['none', 'static', 'observe', 'agentcgroup']}),
    'cpu-priority': Flags.boolean({allowNo: true, default: true, description: "with --control agentcgroup: tool calls running longer than 1 s, and their agent, yield the CPU to other agents' CLIs and short calls"}),
    'memory-budget': Flags.string({description: 'shorthand for --node-memory SIZE --control static: each container gets SIZE/concurrency', exclusive: ['node-memory']}),
    'node-memory': Flags.string({description: 'one memory limit for all agents of the run together (e.g. 1200M, 8G)'}),
    'retry-failed': Flags.boolean({description: 'run attempts again that the ledger holds as failed'}),
    runtime: Flags.string({default: 'auto', description: 'podman, local, or auto (podman where available)', options: ['auto', 'podman', 'local']}),
    sampler: Flags.string({default: 'bpf', description: 'bpf (cgroupfs where BPF cannot run), cgroupfs, or podman-stats (the paper\'s, for comparison)', options: ['bpf', 'cgroupfs', 'podman-stats']}),
    sessions: Flags.string({description: 'folder of recorded sessions to replay (<task>.jsonl or <task>/**/*.jsonl)'}),
    shard: Flags.string({description: 'run shard i of n of the task list (0 <= i < n), e.g. 0/4'}),
    tasks: Flags.string({description: 'comma-separated task ids (default: the whole catalog)'}),
    timeout: Flags.integer({default: 1800, description: "agent timeout per attempt, seconds", min: 1}),
  }

  async run(): Promise<RunBenchmarkResult> {
    const {flags} = await this.parse(RunBenchmark)
    if (flags.agent === 'command' && !flags['agent-command']) throw new UserError('--agent command needs --agent-command "<command line>"')
    let nodeMemoryBytes: number | null = null
    const budgetFlag = flags['node-memory'] ? 'node-memory' : flags['memory-budget'] ? 'memory-budget' : null
    if (budgetFlag) {
      const text = flags[budgetFlag]!
      try {
        nodeMemoryBytes = parseCgroupSize(text)
      } catch (error) {
        throw new UserError(`--${budgetFlag} ${text}: ${(error as Error).message}`)
      }
    }
    // --memory-budget: equal shares unless a --control says otherwise
    const control = (budgetFlag === 'memory-budget' && flags.control === 'none' ? 'static' : flags.control) as ControlMode
    let latency
    try {
      latency = parseLatency(flags['llm-latency'])
    } catch (error) {
      throw new UserError((error as Error).message)
    }
    const json = this.jsonEnabled()
    const result = await runBenchmark({
      agent: flags.agent as AgentName,
      agentCommand: flags['agent-command'],
      agentVersion: flags['agent-version'],
      attempts: flags.attempts,
      catalog: flags.catalog,
      concurrency: flags.concurrency,
      control,
      cpuPriority: flags['cpu-priority'],
      db: flags.db,
      intervalMs: flags.interval,
      latency,
      log: (msg) => {
        if (!json) this.logToStderr(msg)
      },
      nodeMemoryBytes,
      progress: json ? undefined : progressReporter('attempts'),
      retryFailed: flags['retry-failed'],
      runtime: flags.runtime as RuntimeName | 'auto',
      sampler: flags.sampler as SamplerName,
      sessionsDir: flags.sessions ?? null,
      shard: flags.shard ? parseShard(flags.shard) : null,
      tasks: flags.tasks ? flags.tasks.split(',').filter((t) => t.trim() !== '') : null,
      timeoutMs: flags.timeout * 1000,
    })
    if (!json) {
      this.log(
        renderTable(
          ['run_id', 'status', 'tests', 'samples', 'processes', 'tool_calls', 'oom', 'held back', 'error'],
          result.runs.map((r) => [r.run_id, r.status, r.tests_passed, r.samples, r.processes, r.tool_calls, r.oom_kills, heldBack(r), r.error]),
        ),
      )
      if (result.interrupted) this.log(`Interrupted. Run the same command again to resume (ledger: ${result.ledger}).`)
      else this.log(`Stored in ${result.store} (runtime ${result.runtime}). Open the report: agentcgroup report --db ${result.store}  (writes ./agentcgroup-report.html)`)
    }
    // an interrupted invocation, or attempts the harness could not run, are a partial result
    if (result.interrupted || result.runs.some((r) => r.status === 'not_started' || r.status === 'interrupted')) setExitStatus(EXIT.partial)
    return {runs: result.runs}
  }
}

/** "2 throttle, 1 freeze" (empty when the controller did nothing to the run). */
function heldBack(r: BenchmarkRun): string {
  const e = r.control_events
  return [e.throttle > 0 ? `${e.throttle} throttle` : '', e.freeze > 0 ? `${e.freeze} freeze` : ''].filter(Boolean).join(', ')
}
