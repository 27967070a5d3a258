import {Flags} from '@oclif/core'
import {existsSync} from 'node:fs'

import {POLICIES, type PolicyName} from '../../collector/control/types.js'
import {UserError} from '../../datasets/errors.js'
import {parseCgroupSize} from '../../datasets/formats/sizes.js'
import {Store} from '../../datasets/store.js'
import {detectCgroupSystem, reapLeftovers} from '../../kernel/cgroup.js'
import {type ReplayReport, runReplay} from '../../replayer/runner.js'
import {BUILTIN_SCENARIOS, loadScenario, type Scenario} from '../../replayer/scenario.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {renderTable} from '../render.js'

export type ReplayResult = ReplayReport | {cleanup: string[]}

export default class Replay extends BaseCommand {
  static override description =
    'Replay agents\' memory traces several at once, at a speed, in one memory budget, under the resource policies (none, static, high, agentcgroup), on real cgroups (v1 or v2, detected) or the simulator; results go into the store. With no flags: the paper\'s scenario, all four policies, beside the paper\'s reference results.'

  static override examples = [
    '<%= config.bin %> <%= command.id %> --speed 50',
    '<%= config.bin %> <%= command.id %> --policy agentcgroup --repeat 5 --json',
    '<%= config.bin %> <%= command.id %> --scenario my-scenario.yaml --backend sim',
    '<%= config.bin %> <%= command.id %> --trace all_images_haiku/dask__dask-11628/attempt_1 all_images_haiku/tobymao__sqlglot-4014/attempt_1 --total 1500M',
    '<%= config.bin %> <%= command.id %> --cleanup',
  ]

  static override flags = {
    backend: Flags.string({default: 'auto', description: 'cgroup-v1, cgroup-v2, sim, or auto (the machine\'s memory controller; sim without root).', options: ['auto', 'cgroup-v1', 'cgroup-v2', 'sim']}),
    cleanup: Flags.boolean({description: 'Only remove what a killed replay left behind (cgroups, frozen tasks) and exit.'}),
    db: dbFlag,
    'no-store': Flags.boolean({description: 'Do not write results into the store.'}),
    'no-warm-pool': Flags.boolean({description: 'Do not keep freed memory warm outside the budget.'}),
    policy: Flags.string({description: 'Policies to run (default: the scenario\'s, all four for the builtins).', multiple: true, options: [...POLICIES]}),
    repeat: Flags.integer({description: 'Runs per policy: mean and 95 % confidence intervals.', min: 1}),
    scenario: Flags.string({default: 'paper', description: `A builtin (${Object.keys(BUILTIN_SCENARIOS).join(', ')}) or a JSON/YAML scenario file.`}),
    'sim-flavor': Flags.string({description: 'Kernel interface the simulator models (default: this machine\'s).', options: ['v1', 'v2']}),
    speed: Flags.string({description: 'Trace seconds per wall second (default: the scenario\'s, 50).'}),
    total: Flags.string({description: 'Memory budget, cgroup convention (1100M = 1100 MiB).'}),
    trace: Flags.string({description: 'Replay these run ids (from the store, or shipped) instead of the scenario\'s tenants: the first is high priority.', multiple: true}),
  }

  async run(): Promise<ReplayResult> {
    const {flags} = await this.parse(Replay)
    if (flags.cleanup) {
      const sys = detectCgroupSystem()
      const removed = sys.memory ? reapLeftovers(sys) : []
      if (!this.jsonEnabled()) this.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing left behind')
      return {cleanup: removed}
    }
    const sc = scenarioFrom(flags)
    const store = flags['no-store'] ? null : await openStore(flags.db, Boolean(flags.trace?.length))
    try {
      const report = await runReplay(sc, {
        backend: flags.backend as 'auto',
        log: (m) => {
          if (!this.jsonEnabled()) this.logToStderr(m)
        },
        simFlavor: flags['sim-flavor'] as 'v1' | 'v2' | undefined,
        store,
      })
      if (!this.jsonEnabled()) this.log(formatReport(report))
      return report
    } finally {
      store?.close()
    }
  }
}

function scenarioFrom(flags: {scenario: string; trace?: string[]; policy?: string[]; speed?: string; total?: string; repeat?: number; 'no-warm-pool': boolean}): Scenario {
  const sc = loadScenario(flags.scenario)
  if (flags.trace?.length) {
    const MiB = 2 ** 20
    sc.name = 'traces'
    sc.tenants = flags.trace.map((run, i) => ({
      baseBytes: 0, count: 1, dropFlagged: false, highBytes: undefined, limitBytes: null, memScale: 1,
      name: `${i === 0 ? 'HIGH' : 'LOW'}${i}`, priority: i === 0 ? 'high' : 'low', repeat: 1, run, startS: 0, trace: null,
    }))
    if (!flags.total) sc.totalBytes = 2048 * MiB
  }
  if (flags.policy?.length) sc.policies = flags.policy as PolicyName[]
  if (flags.speed !== undefined) {
    const s = Number(flags.speed)
    if (!Number.isFinite(s) || s <= 0) throw new UserError(`--speed: must be a positive number (got ${flags.speed})`)
    sc.speed = s
  }
  if (flags.total !== undefined) {
    if (/^\s*-/.test(flags.total)) throw new UserError(`--total: must not be negative (got ${flags.total})`)
    let t: number
    try {
      t = parseCgroupSize(flags.total)
    } catch {
      throw new UserError(`--total: not a size: ${flags.total} (use 1100M = 1100 MiB)`)
    }
    if (t <= 0) throw new UserError(`--total: must be positive (got ${flags.total})`)
    sc.totalBytes = t
  }
  if (flags.repeat !== undefined) sc.repeat = flags.repeat
  if (flags['no-warm-pool']) sc.warmPool = false
  return sc
}

/** The store is needed for run ids not shipped; a missing store is fine otherwise (it is created). */
async function openStore(path: string, needRuns: boolean): Promise<Store | null> {
  if (needRuns && !existsSync(path)) throw new UserError(`${path}: no store here to read --trace runs from (import them first, or pass --db)`)
  return Store.open(path)
}

export function formatReport(r: ReplayReport): string {
  const lines: string[] = []
  const rate = r.alloc_rate
  lines.push(`scenario ${r.scenario}: ${r.total_mib.toFixed(0)} MiB budget, ${r.speed}x, backend ${r.backend}${r.backend === 'sim' ? ` (${r.flavor} model)` : ''}`)
  if (rate) lines.push(`allocation rate: memset on fresh mmap ${rate.memsetFreshMiBs.toFixed(0)} MiB/s; tenant 4 KiB ${rate.fresh4kMiBs.toFixed(0)}, huge pages first pass ${rate.hugeFirstMiBs.toFixed(0)}, warm ${rate.hugeWarmMiBs.toFixed(0)} MiB/s${r.warm_pool_mib > 0 ? `; warm pool ${r.warm_pool_mib.toFixed(0)} MiB` : ''}`)
  lines.push(`demand: sum of peaks ${(r.demand.peakSumBytes / 2 ** 20).toFixed(0)} MiB, at once ${(r.demand.concurrentPeakBytes / 2 ** 20).toFixed(0)} MiB, fastest step ${r.demand.maxStepMiBs.toFixed(0)} MiB/s, predicted slip ${r.demand.predictedSlipS.toFixed(3)} s`)
  lines.push('')
  const rows: unknown[][] = []
  for (const p of r.results) {
    for (const t of p.tenants) {
      rows.push([p.policy, t.name, t.priority, p.repeats > 1 ? `${(t.survival_rate * 100).toFixed(0)}%` : t.survived ? 'yes' : 'OOM', t.completion_s, t.expected_s, t.alloc_p50_ms, t.alloc_p95_ms, t.alloc_p99_ms, t.lag_p99_ms, t.fidelity_pct, t.frozen_ms, t.throttle_events])
    }
  }
  lines.push(renderTable(['policy', 'tenant', 'prio', 'survived', 'done_s', 'trace_s', 'alloc_p50', 'p95', 'p99_ms', 'lag_p99', 'fid_%', 'frozen_ms', 'throttles'], rows))
  lines.push('')
  lines.push(renderTable(['policy', 'survivors', 'throttles', 'freezes', 'react_p50_ms', 'react_p99_ms', 'util_%', 'waste_%', 'fidelity_%'], r.results.map((p) => [p.policy + (p.high_mode === 'emulated' ? ' (emulated)' : ''), p.survivors, p.throttle_events, p.freeze_events, p.reaction_p50_ms, p.reaction_p99_ms, p.utilisation_pct, p.waste_pct, p.fidelity_pct])))
  if (r.reference.length > 0) {
    lines.push('', `the paper at ${r.total_mib.toFixed(0)} MB, ${r.speed}x (replay-reference; bpf = memory.high 400M + memcg_bpf_ops):`)
    lines.push(renderTable(['paper arm', 'ours', 'runs', 'survival', 'HIGH_done_s', 'LOW_done_s', 'LOW_total_s', 'HIGH_alloc_p95'], r.reference.map((x) => [x.arm, x.policy, x.runs, x.survival, x.high_completion_s, x.low_completion_s, x.low_total_s, x.high_alloc_p95_ms])))
  }
  if (r.notes.length) lines.push('', ...r.notes.map((n) => `note: ${n}`))
  return lines.join('\n')
}
