/**
 * The real backends: cgroup v1 (memory.limit_in_bytes, oom_control, usage-threshold eventfds,
 * freezer) and cgroup v2 (memory.max/high/low, memory.events, cgroup.freeze), one runner with
 * the flavor of the machine's memory controller; the kernel-facing half is
 * collector/control/cgroup-plane.ts.
 *
 * Layout, all under our root: agentcgroup/replay-<pid>-<n>/
 *   budget/          memory limit = the scenario's total (the kernel's hard safety limit)
 *     t<i>/          one tenant each
 *   pool/            the warm pool (plan.ts), outside the budget, no limit
 *   freezekey/       v1: an empty group kept frozen, so freezing a tenant costs 0.05 ms, not 4 ms
 * The controller and its notification helper stay in our own group and are never frozen.
 * Everything is thawed and removed at the end, on SIGINT/SIGTERM (kernel/cleanup.ts), and
 * by the next start after a SIGKILL (reapLeftovers); tenants die with us (PDEATHSIG).
 */
import {getPriority, setPriority} from 'node:os'
import {join} from 'node:path'

import {CgroupPlane} from '../../collector/control/cgroup-plane.js'
import {Controller} from '../../collector/control/controller.js'
import type {ControlledTenant, Flavor, PolicyName} from '../../collector/control/types.js'
import {Cgroup, type CgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {trackCgroup} from '../../kernel/cleanup.js'
import {Notifier} from '../../kernel/notify.js'
import {nativeBinary} from '../native.js'
import type {PoolPlan, ReplayPlan} from '../plan.js'
import type {ArmRun, KernelCounters, TenantEnd, TenantRun} from '../results.js'
import {type TenantExit, TenantProcess} from '../tenant.js'

export interface CgroupRunOptions {
  sys: CgroupSystem
  pool: PoolPlan | null
  /** give up (kill everything) after this long past the last expected step */
  graceMs?: number
  log?: (msg: string) => void
}

export function flavorOf(sys: CgroupSystem): Flavor | null {
  if (!sys.memory) return null
  return sys.memory.version === 'v2' ? 'v2' : 'v1'
}

export async function runCgroupArm(plan: ReplayPlan, policy: PolicyName, opts: CgroupRunOptions): Promise<ArmRun> {
  const flavor = flavorOf(opts.sys)
  if (!flavor) throw new Error('no memory cgroup controller on this machine (use --backend sim)')
  const arm = new CgroupArm(plan, policy, flavor, opts)
  try {
    return await arm.run()
  } finally {
    arm.cleanup()
  }
}

class CgroupArm {
  private root: Cgroup | null = null
  private untrack: (() => void) | null = null
  private budget!: Cgroup
  private groups: Cgroup[] = []
  private procs: TenantProcess[] = []
  private poolProc: TenantProcess | null = null
  private notifier: Notifier | null = null
  private plane: CgroupPlane | null = null
  private controller: Controller | null = null
  private t0Ns = 0n
  private readonly ends: (TenantEnd | null)[]
  private readonly notes: string[] = []
  private timeout: NodeJS.Timeout | null = null
  private niceBefore: number | null = null

  constructor(
    private readonly plan: ReplayPlan,
    private readonly policy: PolicyName,
    private readonly flavor: Flavor,
    private readonly opts: CgroupRunOptions,
  ) {
    this.ends = plan.tenants.map(() => null)
  }

  async run(): Promise<ArmRun> {
    const sys = this.opts.sys
    const sc = this.plan.scenario
    const startedAtUs = Date.now() * 1000
    this.root = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('replay')}`)
    this.untrack = trackCgroup(this.root)
    this.budget = this.root.child('budget')
    this.budget.setMemoryMax(sc.totalBytes)
    if (this.flavor === 'v1' && sys.freezer?.version === 'v1') this.root.child('freezekey').freeze()
    this.groups = this.plan.tenants.map((t) => this.budget.child(`t${t.index}`))
    this.notifier = Notifier.start(nativeBinary('agentcgroup-notify'))

    // tenants first parse their schedules, then join their groups (charges do not move), then
    // the policy is set, then they touch their first targets: all before the clock starts
    this.procs = await Promise.all(this.plan.tenants.map((t) => TenantProcess.start(t, {cpu: sc.cpu, hugepages: sc.hugepages, rss: true})))
    for (const [i, p] of this.procs.entries()) this.groups[i].addProcess(p.pid)
    // unrelated load must not distort the replay: tenants above normal priority, the
    // controller above them (it mostly sleeps); the warm pool releases memory at normal
    // priority and takes it back only with idle CPU (SCHED_IDLE)
    this.niceBefore = tryNice(process.pid, -10)
    for (const p of this.procs) tryNice(p.pid, -5)
    this.plane = new CgroupPlane({
      budget: this.budget, flavor: this.flavor, groups: this.groups, names: this.plan.tenants.map((t) => t.name), notifier: this.notifier,
      ownPids: [process.pid, this.notifier.pid], pid: (i) => this.procs[i]?.pid ?? null, totalBytes: sc.totalBytes, v1Freezer: sys.freezer?.version === 'v1',
    })
    const tenants: ControlledTenant[] = this.plan.tenants.map((p) => ({highBytes: p.highBytes, index: p.index, limitBytes: p.limitBytes, name: p.name, priority: p.priority}))
    const controller = new Controller(this.plane, tenants, this.policy, sc.params)
    this.controller = controller
    this.plane.connect((s) => controller.onSignal(s))
    for (const [i, p] of this.procs.entries()) void p.exited.then((x) => this.onExit(i, x))
    controller.setup()
    await this.plane.ready()

    if (this.opts.pool && this.opts.pool.warmBytes > 0) {
      const pool = this.root.child('pool')
      this.poolProc = await TenantProcess.start({cpuPct: [], offsetsMs: this.opts.pool.offsetsMs, targets: this.opts.pool.targets}, {cpu: false, hugepages: true, reserveBytes: this.opts.pool.warmBytes, rss: false})
      pool.addProcess(this.poolProc.pid)
      const w = await this.poolProc.prefault(true)
      this.notes.push(`warm pool: ${(this.opts.pool.warmBytes / 2 ** 20).toFixed(0)} MiB warmed at ${(w.achieved / 2 ** 20 / (Number(w.endNs - w.startNs) / 1e9)).toFixed(0)} MiB/s`)
      await this.poolProc.prefault(false)
      this.poolProc.idleTakeBack()
    }
    // a step that waits on a limit (its group's or the budget's) is flagged, so lateness the
    // scenario's limits cause is told apart from lateness the machine causes
    const failFile = this.flavor === 'v1' ? 'memory.failcnt' : 'memory.events'
    for (const [i, p] of this.procs.entries()) {
      const dirs = [this.groups[i].memoryDir(), this.budget.memoryDir()].filter((d): d is string => d !== null)
      p.watchLimits(dirs.map((d) => join(d, failFile)))
    }
    for (const [i, p] of this.procs.entries()) {
      // a tenant killed while touching its first target (a limit below it) just ends early
      if (this.plane.alive(i)) await p.prefault().catch(() => undefined)
    }

    this.t0Ns = process.hrtime.bigint() + 20_000_000n
    this.plane.t0Ns = this.t0Ns
    this.poolProc?.go(this.t0Ns)
    for (const [i, p] of this.procs.entries()) if (this.plane.alive(i)) p.go(this.t0Ns)

    const lastMs = Math.max(...this.plan.tenants.map((t) => t.expectedMs))
    const timeoutMs = lastMs + (this.opts.graceMs ?? Math.max(30_000, lastMs * 10))
    const timedOut = await Promise.race([
      Promise.all(this.procs.map((p) => p.exited)).then(() => false),
      new Promise<boolean>((r) => {
        this.timeout = setTimeout(() => r(true), timeoutMs + 20)
      }),
    ])
    if (timedOut) {
      this.notes.push(`timeout after ${(timeoutMs / 1000).toFixed(1)} s: remaining tenants killed`)
      for (const [i, p] of this.procs.entries()) {
        if (this.plane.alive(i)) this.ends[i] = 'timeout'
        p.kill()
      }
      await Promise.all(this.procs.map((p) => p.exited))
    }
    const summary = controller.finish()
    const counters = this.groups.map((g) => counterOf(g))
    const budgetEv = this.budget.memoryEvents()
    // v1 counts an OOM kill only in the victim's own group (v2 propagates it to ancestors)
    const budgetOomKills = this.flavor === 'v2' ? budgetEv.oom_kill : budgetEv.oom_kill + counters.reduce((a, c) => a + c.oomKills, 0)
    const result: TenantRun[] = this.plan.tenants.map((t, i) => {
      const end = this.ends[i] ?? 'crashed'
      const doneNs = this.procs[i].doneNs
      return {
        completionMs: end === 'done' && doneNs !== null ? Number(doneNs - this.t0Ns) / 1e6 : null,
        end,
        expectedMs: t.expectedMs,
        freezeEvents: summary.perTenant[i].freezeActions,
        frozenMs: summary.perTenant[i].frozenMs,
        index: i,
        kernel: counters[i],
        limitBytes: this.policy === 'static' ? t.limitBytes : null,
        name: t.name,
        oomKills: end === 'oom_killed' ? 1 : 0,
        priority: t.priority,
        steps: this.procs[i].steps(this.t0Ns),
        throttleEvents: summary.perTenant[i].kernelThrottles + summary.perTenant[i].throttleActions,
        trace: t.trace,
      }
    })
    if (summary.highMode === 'emulated') this.notes.push('memory.high emulated on cgroup v1: parked at a limit with oom_kill_disable, raised a step after the v2 throttle delay')
    return {
      backend: this.flavor === 'v1' ? 'cgroup-v1' : 'cgroup-v2',
      budgetOomKills,
      budgetPeakBytes: this.budget.memoryPeakBytes(),
      controller: summary,
      endedAtUs: Date.now() * 1000,
      flavor: this.flavor,
      notes: [...this.notes, ...this.plane.notes],
      policy: this.policy,
      startedAtUs,
      tenants: result,
    }
  }

  private onExit(i: number, x: TenantExit): void {
    if (this.ends[i] === null) {
      if (x.code === 0) this.ends[i] = 'done'
      else if (x.signal === 'SIGKILL') this.ends[i] = counterOf(this.groups[i]).oomKills > 0 ? 'oom_killed' : 'killed'
      else this.ends[i] = 'crashed'
      if (this.ends[i] === 'crashed') this.notes.push(`${this.plan.tenants[i].name} crashed (${x.signal ?? x.code})${x.error ? `: ${x.error}` : ''}`)
    }
    this.plane?.setAlive(i, false)
    if (this.plane) this.controller?.onSignal({kind: 'exit', notifiedMs: this.plane.nowMs(), tenant: i})
  }

  cleanup(): void {
    if (this.timeout) clearTimeout(this.timeout)
    if (this.niceBefore !== null) tryNice(process.pid, this.niceBefore)
    this.plane?.dispose()
    for (const p of this.procs) p.kill()
    this.poolProc?.kill()
    this.notifier?.close()
    try {
      this.root?.remove()
    } finally {
      this.untrack?.()
    }
  }
}

/** Sets a nice level where allowed; returns the one before (null if it could not be changed). */
function tryNice(pid: number, nice: number): number | null {
  try {
    const before = getPriority(pid)
    setPriority(pid, nice)
    return before
  } catch {
    return null
  }
}

function counterOf(g: Cgroup): KernelCounters {
  try {
    const ev = g.memoryEvents()
    return {high: ev.high, limitHits: ev.max, oomKills: ev.oom_kill, peakBytes: g.memoryPeakBytes()}
  } catch {
    return {high: 0, limitHits: 0, oomKills: 0, peakBytes: null}
  }
}
