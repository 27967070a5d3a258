/**
 * A replay: a scenario's policies one after another (each `repeat` times) on one backend;
 * metrics per run into the store, and the aggregate (means, 95 % CIs) as the JSON contract.
 */
import {existsSync, readFileSync} from 'node:fs'
import {cpus} from 'node:os'

import {UserError} from '../datasets/errors.js'
import type {Store} from '../datasets/store.js'
import type {Flavor, PolicyName} from '../collector/control/types.js'
import {detectCgroupSystem, reapLeftovers, type CgroupSystem} from '../kernel/cgroup.js'
import {btfHasName} from '../kernel/features.js'
import {flavorOf, runCgroupArm} from './backends/cgroup.js'
import {simulate, type SimOptions} from './backends/sim.js'
import {armMetrics, type ArmMetrics, meanCi, type MeanCi} from './metrics.js'
import {analyseDemand, buildPlan, type Demand, poolPlan} from './plan.js'
import {paperReference, type ReferenceRow} from './reference.js'
import type {AllocRate, ArmRun} from './results.js'
import type {Scenario} from './scenario.js'
import {writeArm} from './store-rows.js'
import {measureAllocRate} from './tenant.js'

export type BackendName = 'cgroup-v1' | 'cgroup-v2' | 'sim'

export interface ReplayOptions {
  backend: 'auto' | BackendName
  store: Store | null
  /** sim: the kernel interface to model (default: the machine's, else v2) */
  simFlavor?: Flavor
  sim?: Partial<SimOptions>
  /** measure the machine's allocation rate (default: yes on real backends) */
  measure?: boolean
  log?: (msg: string) => void
  sys?: CgroupSystem
}

export interface TenantResult {
  name: string
  priority: 'high' | 'low'
  survived: boolean
  survival_rate: number
  oom_kills: number
  completion_s: number | null
  expected_s: number
  alloc_p50_ms: number | null
  alloc_p95_ms: number | null
  alloc_p99_ms: number | null
  lag_p99_ms: number | null
  fidelity_pct: number | null
  frozen_ms: number
  throttle_events: number
  freeze_events: number
  ci95?: Record<string, MeanCi>
}

export interface PolicyResult {
  policy: PolicyName
  repeats: number
  tenants: TenantResult[]
  survivors: number
  throttle_events: number
  freeze_events: number
  reaction_p50_ms: number | null
  reaction_p99_ms: number | null
  reaction_fast_p99_ms: number | null
  utilisation_pct: number | null
  waste_pct: number | null
  fidelity_pct: number | null
  lag_p99_ms: number | null
  /** step lag not caused by the policy or a cgroup limit: the machine's own lateness */
  machine_lag_p99_ms: number | null
  high_mode: 'native' | 'emulated' | null
  replay_ids: string[]
  ci95?: Record<string, MeanCi>
}

export interface ReplayReport {
  scenario: string
  speed: number
  backend: BackendName
  flavor: Flavor
  total_mib: number
  alloc_rate: AllocRate | null
  demand: Demand
  warm_pool_mib: number
  results: PolicyResult[]
  reference: ReferenceRow[]
  notes: string[]
}

const MiB = 2 ** 20

/** MemAvailable minus a margin (10 % of RAM, at least 1 GiB): what a replay may take. */
export function spareBytes(): number {
  const info = readFileSync('/proc/meminfo', 'utf8')
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? 0) * 1024
  return kb('MemAvailable') - Math.max(1024 * MiB, 0.1 * kb('MemTotal'))
}

export function resolveBackend(want: ReplayOptions['backend'], sys: CgroupSystem): {backend: BackendName; note: string | null} {
  const flavor = flavorOf(sys)
  const root = process.getuid?.() === 0
  if (want === 'sim') return {backend: 'sim', note: null}
  if (want === 'auto') {
    if (flavor && root) return {backend: flavor === 'v1' ? 'cgroup-v1' : 'cgroup-v2', note: null}
    return {backend: 'sim', note: `no real-cgroup backend here (${!root ? 'not root' : 'no memory controller'}): simulating`}
  }
  const need = want === 'cgroup-v1' ? 'v1' : 'v2'
  if (flavor !== need) {
    throw new UserError(`the ${want} backend is unavailable here: the memory controller is ${flavor ? `on cgroup ${flavor} (${sys.memory?.path})` : 'not mounted'}; use --backend ${flavor ? `cgroup-${flavor}` : 'sim'} or sim`)
  }
  if (!root) throw new UserError(`the ${want} backend needs root (creating cgroups); use --backend sim`)
  return {backend: want, note: null}
}

export async function runReplay(sc: Scenario, opts: ReplayOptions): Promise<ReplayReport> {
  const log = opts.log ?? (() => {})
  const sys = opts.sys ?? detectCgroupSystem()
  const {backend, note} = resolveBackend(opts.backend, sys)
  const notes: string[] = note ? [note] : []
  const real = backend !== 'sim'
  const flavor: Flavor = real ? (backend === 'cgroup-v1' ? 'v1' : 'v2') : (opts.simFlavor ?? flavorOf(sys) ?? 'v2')
  if (real) {
    const reaped = reapLeftovers(sys)
    if (reaped.length > 0) notes.push(`reaped ${reaped.length} leftover group(s) of a dead replay: ${reaped.join(', ')}`)
  }
  if (real) notes.push(inKernelNote())
  const plan = await buildPlan(sc, opts.store)
  const spare = spareBytes()
  if (real && sc.totalBytes > spare) {
    throw new UserError(`total ${(sc.totalBytes / MiB).toFixed(0)} MiB is more than this machine can spare (${(Math.max(0, spare) / MiB).toFixed(0)} MiB: MemAvailable minus a margin); lower total`)
  }
  const rate = opts.measure ?? real ? await measureAllocRate(128).catch(() => null) : null
  // auto: follow the tenants for up to 4 per core, beyond that only warm up before the clock
  const mirror = sc.warmPool === true || plan.tenants.length <= 4 * cpus().length
  const pool = real && sc.warmPool !== false ? poolPlan(plan, Math.max(0, spare - sc.totalBytes), mirror) : null
  const demand = analyseDemand(plan, rate, pool !== null && pool.warmBytes > 0)
  if (rate) log(`allocation rate: memset ${rate.memsetFreshMiBs.toFixed(0)} MiB/s, 4 KiB ${rate.fresh4kMiBs.toFixed(0)}, huge first ${rate.hugeFirstMiBs.toFixed(0)}, huge warm ${rate.hugeWarmMiBs.toFixed(0)} MiB/s`)
  for (const w of demand.warnings) {
    log(`warning: ${w}`)
    notes.push(w)
  }
  const simOpts: Partial<SimOptions> = {flavor, ...opts.sim}
  const results: PolicyResult[] = []
  for (const policy of sc.policies) {
    const runs: ArmMetrics[] = []
    const ids: string[] = []
    for (let r = 0; r < sc.repeat; r++) {
      log(`${policy}${sc.repeat > 1 ? ` run ${r + 1}/${sc.repeat}` : ''} on ${backend}...`)
      const run: ArmRun = real ? await runCgroupArm(plan, policy, {log, pool, sys}) : simulate(plan, policy, simOpts)
      const m = armMetrics(run, sc.totalBytes)
      runs.push(m)
      for (const n of run.notes) if (!notes.includes(n) && !/^warm pool/.test(n)) notes.push(n)
      const id = `${sc.name}/${policy}/${run.startedAtUs}/${r}`
      ids.push(id)
      if (opts.store) await writeArm(opts.store, run, m, {plan, poolBytes: pool?.warmBytes ?? 0, predictedSlipS: demand.predictedSlipS, rate, rateMiBs: demand.rateMiBs || null, repeatIndex: r, replayId: id})
      log(`  survivors ${m.survivors}/${m.tenants.length}, throttles ${m.throttle_events}, freezes ${m.freeze_events}, reaction p99 ${m.reaction_p99_ms ?? '-'} ms`)
    }
    results.push(aggregate(policy, runs, ids))
  }
  return {
    alloc_rate: rate,
    backend,
    demand,
    flavor,
    notes,
    reference: paperReference(Math.round(sc.totalBytes / MiB), sc.speed),
    results,
    scenario: sc.name,
    speed: sc.speed,
    total_mib: sc.totalBytes / MiB,
    warm_pool_mib: (pool?.warmBytes ?? 0) / MiB,
  }
}

/** Where the kernel offers memcg_bpf_ops or sched_ext, say so; the controller here is user space. */
function inKernelNote(): string {
  let btf: Buffer | null = null
  try {
    btf = readFileSync('/sys/kernel/btf/vmlinux')
  } catch {
    btf = null
  }
  const memcgOps = btf !== null && (btfHasName(btf, 'memcg_bpf_ops') || btfHasName(btf, 'bpf_memcg_ops'))
  const schedExt = existsSync('/sys/kernel/sched_ext')
  if (!memcgOps && !schedExt) return 'in-kernel policies unavailable (no memcg_bpf_ops or sched_ext in this kernel): the user-space controller acts on kernel notifications'
  return `this kernel has ${[memcgOps && 'memcg_bpf_ops', schedExt && 'sched_ext'].filter(Boolean).join(' and ')}: the in-kernel policies belong to the bpf/ addon; this replay used the user-space controller`
}

/** Means over repeats (CIs when more than one run). */
function aggregate(policy: PolicyName, runs: ArmMetrics[], ids: string[]): PolicyResult {
  const n = runs.length
  const mean = (xs: (number | null)[]): number | null => {
    const m = meanCi(xs.filter((x): x is number => x !== null))
    return m ? m.mean : null
  }
  const ci = (pick: (m: ArmMetrics) => number | null): MeanCi | null => meanCi(runs.map(pick).filter((x): x is number => x !== null))
  const tenants: TenantResult[] = runs[0].tenants.map((t0, i) => {
    const all = runs.map((r) => r.tenants[i])
    const res: TenantResult = {
      alloc_p50_ms: mean(all.map((t) => t.alloc_p50_ms)),
      alloc_p95_ms: mean(all.map((t) => t.alloc_p95_ms)),
      alloc_p99_ms: mean(all.map((t) => t.alloc_p99_ms)),
      completion_s: mean(all.map((t) => t.completion_s)),
      expected_s: t0.expected_s,
      fidelity_pct: mean(all.map((t) => t.fidelity_pct)),
      freeze_events: mean(all.map((t) => t.freeze_events)) ?? 0,
      frozen_ms: mean(all.map((t) => t.frozen_ms)) ?? 0,
      lag_p99_ms: mean(all.map((t) => t.lag_p99_ms)),
      name: t0.name,
      oom_kills: all.reduce((a, t) => a + t.oom_kills, 0),
      priority: t0.priority,
      survival_rate: all.filter((t) => t.survived).length / n,
      survived: all.every((t) => t.survived),
      throttle_events: mean(all.map((t) => t.throttle_events)) ?? 0,
    }
    if (n > 1) {
      res.ci95 = {}
      for (const k of ['completion_s', 'alloc_p50_ms', 'alloc_p95_ms', 'alloc_p99_ms', 'lag_p99_ms', 'fidelity_pct'] as const) {
        const c = meanCi(all.map((t) => t[k]).filter((x): x is number => x !== null))
        if (c) res.ci95[k] = c
      }
    }
    return res
  })
  const out: PolicyResult = {
    fidelity_pct: mean(runs.map((r) => r.fidelity_pct)),
    freeze_events: mean(runs.map((r) => r.freeze_events)) ?? 0,
    high_mode: runs[0].high_mode,
    lag_p99_ms: mean(runs.map((r) => r.lag_p99_ms)),
    machine_lag_p99_ms: mean(runs.map((r) => r.machine_lag_p99_ms)),
    policy,
    reaction_p50_ms: mean(runs.map((r) => r.reaction_p50_ms)),
    reaction_fast_p99_ms: mean(runs.map((r) => r.reaction_fast_p99_ms)),
    reaction_p99_ms: mean(runs.map((r) => r.reaction_p99_ms)),
    repeats: n,
    replay_ids: ids,
    survivors: mean(runs.map((r) => r.survivors)) ?? 0,
    tenants,
    throttle_events: mean(runs.map((r) => r.throttle_events)) ?? 0,
    utilisation_pct: mean(runs.map((r) => r.utilisation_pct)),
    waste_pct: mean(runs.map((r) => r.waste_pct)),
  }
  if (n > 1) {
    out.ci95 = {}
    for (const [k, pick] of [
      ['survivors', (m: ArmMetrics) => m.survivors],
      ['throttle_events', (m: ArmMetrics) => m.throttle_events],
      ['freeze_events', (m: ArmMetrics) => m.freeze_events],
      ['reaction_p99_ms', (m: ArmMetrics) => m.reaction_p99_ms],
      ['fidelity_pct', (m: ArmMetrics) => m.fidelity_pct],
    ] as const) {
      const c = ci(pick)
      if (c) out.ci95[k] = c
    }
  }
  return out
}
