/**
 * Control during live runs (`run-benchmark` / `record` with --control): one node for all
 * agents of an invocation, `agentcgroup/node-<pid>-<n>`, whose memory limit is --node-memory,
 * and under it each agent's own cgroup (a Podman container's parent, or the local runtime's).
 *
 * - none: the node limit only; the kernel picks OOM victims.
 * - static: each agent's limit is its equal share of the node (node / concurrency).
 * - observe: every tool call runs in its own cgroup `<agent>/tool-<n>` (collector/domains),
 *   measured, never acted on.
 * - agentcgroup: the same tool-call cgroups are the controller's tenants (controller.ts, the
 *   replayer's implementation). The oldest running tool call on the node has high priority
 *   and the later ones low, so under pressure later calls are held back (frozen on cgroup v1,
 *   memory.high then frozen on v2) until the earlier one ends or usage falls again: bursts are
 *   serialised instead of OOM-killing each other. The agents
 *   themselves (their CLI waiting on its model, holding its context) are never tenants: never
 *   throttled, never frozen. A kill happens only at the node's hard limit, where the kernel's
 *   choice is steered to low-priority tool calls by oom_score_adj.
 */
import type {EventRow, RunControl} from '../../datasets/model.js'
import {Cgroup, CgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {trackCgroup} from '../../kernel/cleanup.js'
import {Notifier} from '../../kernel/notify.js'
import {nativeBinary} from '../../replayer/native.js'
import type {DomainEnd, DomainHooks, DomainStart} from '../domains/types.js'
import {CgroupPlane} from './cgroup-plane.js'
import {Controller} from './controller.js'
import {ControlEvent, DEFAULT_POLICY_PARAMS, Flavor, PolicyParams} from './types.js'

/** --control: the modes are the values of runs.control */
export type ControlMode = RunControl

/**
 * Live levels sit lower than a replay's: a tool call that is held back keeps what it has
 * (no swap), so the call that goes on needs the room of a whole burst above the throttle level.
 */
export const LIVE_POLICY_PARAMS: PolicyParams = {...DEFAULT_POLICY_PARAMS, freezeAt: 0.8, maxHoldMs: 15_000, resumeAt: 0.55, throttleAt: 0.65, v1Throttle: 'freeze'}

/**
 * CPU: a tool call running longer than LONG_CALL_MS is a long one (a test run, a build). It and
 * its agent's group (the agent waits on it) yield the CPU to other agents' CLIs and short calls:
 * cpu.weight LONG_CALL_WEIGHT (v1 cpu.shares ~100 instead of 1024) until it ends.
 */
const LONG_CALL_MS = 1000
const LONG_CALL_WEIGHT = 10
const AGENT_BUSY_WEIGHT = 25
const NORMAL_WEIGHT = 100

export interface NodeControlOptions {
  mode: ControlMode
  /** agentcgroup: CPU weights by priority (default on) */
  cpuPriority?: boolean
  sys: CgroupSystem
  /** the node's memory limit (null: unlimited) */
  nodeMemoryBytes: number | null
  /** agents running at once (static: each gets node / concurrency) */
  concurrency: number
  params?: PolicyParams
  log: (msg: string) => void
}

interface Tenant {
  index: number
  /** the agent's own group (the tool call's parent) */
  agentGroup: Cgroup
  longTimer: NodeJS.Timeout | null
  long: boolean
  agent: string
  domain: string
  startedMs: number
  group: Cgroup
  pid: number
  ended: boolean
}

export class NodeControl {
  readonly root: Cgroup
  private untrack: (() => void) | null
  private notifier: Notifier | null = null
  private plane: CgroupPlane | null = null
  private controller: Controller | null = null
  private readonly tenants: Tenant[] = []
  private readonly startWallUs: number
  /** stop() was called: calls go on uncontrolled, events stay readable */
  private stopped = false
  readonly notes: string[] = []

  private constructor(private readonly o: NodeControlOptions) {
    this.root = Cgroup.create(o.sys, `${OUR_ROOT}/${ownedName('node')}`)
    this.untrack = trackCgroup(this.root)
    this.startWallUs = Date.now() * 1000
    try {
      if (o.nodeMemoryBytes !== null) this.root.setMemoryMax(o.nodeMemoryBytes)
    } catch (error) {
      this.close()
      throw error
    }
  }

  static async start(o: NodeControlOptions): Promise<NodeControl> {
    const node = new NodeControl(o)
    try {
      if (o.mode === 'agentcgroup') await node.startController()
    } catch (error) {
      node.close()
      throw error
    }
    return node
  }

  get mode(): ControlMode {
    return this.o.mode
  }

  get nodeMemoryBytes(): number | null {
    return this.o.nodeMemoryBytes
  }

  /** Does each tool call run in its own cgroup? */
  get domains(): boolean {
    return this.o.mode === 'observe' || this.o.mode === 'agentcgroup'
  }

  /** The memory limit of one agent's own cgroup (static only). */
  agentLimitBytes(): number | null {
    if (this.o.mode !== 'static' || this.o.nodeMemoryBytes === null) return null
    return Math.floor(this.o.nodeMemoryBytes / Math.max(1, this.o.concurrency))
  }

  private async startController(): Promise<void> {
    const {sys, nodeMemoryBytes} = this.o
    if (nodeMemoryBytes === null) throw new Error('--control agentcgroup needs --node-memory (the budget it keeps the node under)')
    const flavor: Flavor | null = sys.memory?.version ?? null
    if (!flavor) throw new Error('--control agentcgroup: this machine has no memory cgroup controller')
    // a frozen empty group keeps the kernel's freezer switch on: later freezes take ~0.05 ms, not ~4 ms
    if (flavor === 'v1' && sys.freezer?.version === 'v1') this.root.child('freezekey').freeze()
    this.notifier = Notifier.start(nativeBinary('agentcgroup-notify'))
    const notifier = this.notifier
    this.plane = new CgroupPlane({
      budget: this.root, flavor, groups: [], names: [], notifier,
      ownPids: [process.pid, notifier.pid], pid: () => null, totalBytes: nodeMemoryBytes, v1Freezer: sys.freezer?.version === 'v1',
    })
    this.plane.t0Ns = process.hrtime.bigint()
    const controller = new Controller(this.plane, [], 'agentcgroup', this.o.params ?? LIVE_POLICY_PARAMS)
    this.controller = controller
    this.plane.connect((s) => controller.onSignal(s))
    controller.setup()
    await this.plane.ready()
    for (const n of this.plane.notes) this.o.log(n)
  }

  /** The hooks an agent's tool-call broker calls; `agent` names the run in events. */
  hooksFor(agent: string): DomainHooks {
    const byDomain = new Map<string, Tenant>()
    return {
      onEnd: (d) => {
        const t = byDomain.get(d.name)
        if (!t) return null
        byDomain.delete(d.name)
        return this.end(t, d)
      },
      onStart: (d) => {
        const t = this.begin(agent, d)
        if (t) byDomain.set(d.name, t)
      },
    }
  }

  private begin(agent: string, d: DomainStart): Tenant | null {
    const plane = this.plane
    const controller = this.controller
    if (!plane || !controller || this.stopped) return null
    const running = this.tenants.filter((t) => !t.ended)
    const tenant: Tenant = {agent, agentGroup: Cgroup.at(this.o.sys, d.group.rel.split('/').slice(0, -1).join('/')), domain: d.name, ended: false, group: d.group, index: -1, long: false, longTimer: null, pid: d.pid, startedMs: plane.nowMs()}
    const index = plane.addGroup(d.group, `${agent}/${d.name}`, () => tenant.pid)
    tenant.index = controller.addTenant({highBytes: null, limitBytes: 0, name: `${agent}/${d.name}`, priority: running.length === 0 ? 'high' : 'low'})
    if (index !== tenant.index) throw new Error('internal: plane and controller disagree on tenant indexes')
    this.tenants.push(tenant)
    if (this.o.cpuPriority !== false) {
      tenant.longTimer = setTimeout(() => this.markLong(tenant), LONG_CALL_MS)
      tenant.longTimer.unref()
    }
    return tenant
  }

  private markLong(t: Tenant): void {
    t.longTimer = null
    if (t.ended) return
    t.long = true
    this.setWeight(t.group, LONG_CALL_WEIGHT)
    this.setWeight(t.agentGroup, AGENT_BUSY_WEIGHT)
  }

  private endLong(t: Tenant): void {
    if (t.longTimer) clearTimeout(t.longTimer)
    t.longTimer = null
    if (!t.long) return
    t.long = false
    // the agent gets its weight back once none of its calls is long
    if (!this.tenants.some((x) => x.long && x.agentGroup.rel === t.agentGroup.rel)) this.setWeight(t.agentGroup, NORMAL_WEIGHT)
  }

  private setWeight(g: Cgroup, weight: number): void {
    try {
      g.setCpuWeight(weight)
    } catch (error) {
      // a group that just went away, or no cpu controller: noted once
      const note = `cpu weight: ${(error as Error).message}`
      if (!this.notes.includes(note)) this.notes.push(note)
    }
  }

  private end(t: Tenant, d: DomainEnd): string | null {
    const plane = this.plane
    const controller = this.controller
    t.ended = true
    this.endLong(t)
    if (!plane || !controller || this.stopped) return null
    const before = controller.tenantState(t.index)
    d.frozenMs = before.frozenMs
    d.throttledMs = before.throttledMs
    plane.setAlive(t.index, false)
    // the oldest call still running goes on first (promoted before the exit, so the exit does
    // not find every live call held back and release them all)
    const next = this.tenants.find((x) => !x.ended)
    if (next) controller.setPriority(next.index, 'high')
    controller.onSignal({kind: 'exit', notifiedMs: plane.nowMs(), tenant: t.index})
    const held = before.throttledMs + before.frozenMs
    if (d.oomKills > 0) return `a process of this command was killed: the node ran out of memory (peak ${mib(d.peakMemBytes)} MiB)`
    if (held < 100) return null
    return `this command was paused ${(Math.max(before.throttledMs, before.frozenMs) / 1000).toFixed(1)} s while other agents' commands used the node's memory (peak ${mib(d.peakMemBytes)} MiB)`
  }

  /** The control events of one agent's tool calls, as the run's events rows. */
  eventsFor(agent: string): EventRow[] {
    if (!this.controller) return []
    const byIndex = new Map(this.tenants.map((t) => [t.index, t]))
    const rows: EventRow[] = []
    for (const ev of this.controller.events) {
      const t = ev.tenant === null ? null : byIndex.get(ev.tenant)
      if (!t || t.agent !== agent) continue
      const kind = eventKind(ev)
      if (!kind) continue
      rows.push({detail: JSON.stringify({detail: ev.detail, domain: t.domain, reaction_ms: ev.reactionMs}), kind, t_us: Math.round(this.startWallUs + ev.tMs * 1000)})
    }
    return rows
  }

  /**
   * Stops controlling: thaws what is frozen and stops the notifier (its fast path would freeze
   * again). Before containers are stopped: a frozen task cannot die. Idempotent.
   */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    for (const t of this.tenants) if (t.longTimer) clearTimeout(t.longTimer)
    try {
      this.controller?.finish()
    } catch {
      // removal thaws too
    }
    this.plane?.dispose()
    this.notifier?.close()
    this.notifier = null
  }

  /** stop(), then removes the node group (and anything left below it). */
  close(): void {
    this.stop()
    this.untrack?.()
    this.untrack = null
  }
}

function eventKind(ev: ControlEvent): string | null {
  switch (ev.kind) {
    case 'throttle':
    case 'unthrottle':
    case 'freeze':
    case 'thaw':
    case 'safety_lift':
      return ev.kind
    case 'limit_change':
      return 'throttle_step'
    default:
      return null
  }
}

function mib(bytes: number | null): string {
  return bytes === null ? '?' : (bytes / 2 ** 20).toFixed(0)
}
