/**
 * The ControlPlane on real cgroups (v1 or v2): reads and writes the tenants' and the budget's
 * cgroup files (kernel/cgroup.ts) and turns the notification helper's events (kernel/notify.ts)
 * into controller signals. Replays and live runs both use it; the caller owns the groups and
 * the processes, and says which tenants are alive.
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {type Cgroup, parseKeyed} from '../../kernel/cgroup.js'
import type {Notifier, NotifyEvent} from '../../kernel/notify.js'
import type {ControlPlane, FastAction, Flavor, Signal} from './types.js'

export interface CgroupPlaneOptions {
  flavor: Flavor
  totalBytes: number
  budget: Cgroup
  groups: Cgroup[]
  names: string[]
  notifier: Notifier
  /** the v1 freezer hierarchy is there (fast-path freezes write freezer.state) */
  v1Freezer: boolean
  /** each tenant's process id, for oom_score_adj */
  pid: (i: number) => number | null
  /** our own processes: never in a group we freeze */
  ownPids: number[]
}

let notifyIds = 1

export class CgroupPlane implements ControlPlane {
  readonly flavor: Flavor
  readonly totalBytes: number
  readonly notes: string[] = []
  /** CLOCK_MONOTONIC ns of the replay clock's start; times are ms from it */
  t0Ns = 0n
  private sink: ((s: Signal) => void) | null = null
  private readonly live: boolean[]
  private readonly handlers = new Map<number, (e: NotifyEvent) => void>()
  private readonly levelIds = new Map<number, number>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly v2High = new Map<number, number>()
  private readonly registrations: Promise<void>[] = []
  private readonly budget: Cgroup
  private readonly groups: Cgroup[]
  private readonly names: string[]
  private readonly pids: (() => number | null)[] = []
  private readonly armedLevels = new Set<number>()
  private readonly notifier: Notifier
  private readonly offEvents: () => void

  constructor(private readonly o: CgroupPlaneOptions) {
    this.flavor = o.flavor
    this.totalBytes = o.totalBytes
    this.budget = o.budget
    this.groups = [...o.groups]
    this.names = [...o.names]
    this.notifier = o.notifier
    this.live = o.groups.map(() => true)
    this.offEvents = o.notifier.onEvent((e) => this.handlers.get(e.id)?.(e))
  }

  /** Where signals go (the controller's onSignal). */
  connect(sink: (s: Signal) => void): void {
    this.sink = sink
  }

  /** A group that joins later (a live run's tool call); its index is the controller's tenant index. */
  addGroup(group: Cgroup, name: string, pid: () => number | null): number {
    const i = this.groups.length
    this.groups.push(group)
    this.names.push(name)
    this.live.push(true)
    this.pids[i] = pid
    return i
  }

  setAlive(i: number, alive: boolean): void {
    this.live[i] = alive
  }

  /** Resolves once every watch and armed action is registered (failures become notes). */
  async ready(): Promise<void> {
    await Promise.all(this.registrations)
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
    this.offEvents()
  }

  private emit(s: Signal): void {
    this.sink?.(s)
  }

  private register(p: Promise<void>): void {
    this.registrations.push(p.catch((e: Error) => {
      this.notes.push(`notification not available: ${e.message}`)
    }))
  }

  private nsToMs(ns: bigint): number {
    return Number(ns - this.t0Ns) / 1e6
  }

  nowMs(): number {
    return this.nsToMs(process.hrtime.bigint())
  }

  usage(target: number | 'parent'): number {
    try {
      return target === 'parent' ? this.budget.memoryCurrentBytes() : this.groups[target].memoryCurrentBytes()
    } catch {
      return 0
    }
  }

  setMax(i: number, bytes: number | null): void {
    try {
      this.groups[i].setMemoryMax(bytes)
    } catch (error) {
      this.notes.push(`${this.names[i]}: ${(error as Error).message}`)
    }
  }

  setHigh(i: number, bytes: number | null): void {
    this.groups[i].setMemoryHigh(bytes)
  }

  setLow(i: number, bytes: number): void {
    this.groups[i].setMemoryLow(bytes)
  }

  setOomKillDisable(i: number, disable: boolean): void {
    this.groups[i].setOomKillDisable(disable)
  }

  setOomScoreAdj(i: number, adj: number): void {
    const own = this.pids[i]
    const pid = own ? own() : this.o.pid(i)
    if (pid === null) return
    try {
      writeFileSync(`/proc/${pid}/oom_score_adj`, String(adj))
    } catch (error) {
      this.notes.push(`oom_score_adj of ${this.names[i]}: ${(error as Error).message}`)
    }
  }

  freeze(i: number): void {
    const g = this.groups[i]
    // never freeze ourselves or the helper: the controller must stay able to thaw
    const pids = g.pids()
    if (this.o.ownPids.some((p) => pids.includes(p))) throw new Error(`refusing to freeze ${g.rel}: it holds the controller`)
    g.freeze()
  }

  thaw(i: number): void {
    this.groups[i].thaw()
  }

  watchLevels(levels: number[]): void {
    const n = this.notifier
    if (this.flavor === 'v1') {
      for (const level of levels) {
        const id = notifyIds++
        this.levelIds.set(level, id)
        this.handlers.set(id, (e) => {
          const up = (e.usageBytes ?? 0) >= level
          this.emit({direction: up ? 'up' : 'down', fastDoneMs: e.actionsDone > 0 ? this.nsToMs(e.doneNs) : undefined, kind: 'level', level, notifiedMs: this.nsToMs(e.wakeNs), usageBytes: e.usageBytes ?? 0})
        })
        this.register(n.threshold(id, this.budget.memoryDir()!, level))
      }
      return
    }
    // v2 has no usage thresholds: a memory.high sentinel on the budget at the lowest level
    // makes memory.events "high" count when usage crosses it (a small overage is not throttled)
    const level = Math.min(...levels)
    const events = join(this.budget.memoryDir()!, 'memory.events')
    writeFileSync(join(this.budget.memoryDir()!, 'memory.high'), String(level))
    const id = notifyIds++
    let last = readKeyed(events).high ?? 0
    this.handlers.set(id, (e) => {
      const high = readKeyed(events).high ?? 0
      if (high > last) this.emit({direction: 'up', kind: 'level', level, notifiedMs: this.nsToMs(e.wakeNs), usageBytes: this.usage('parent')})
      last = high
    })
    this.register(n.watchFile(id, events))
  }

  watchThrottle(i: number): void {
    const n = this.notifier
    const id = notifyIds++
    const dir = this.groups[i].memoryDir()!
    if (this.flavor === 'v1') {
      this.handlers.set(id, (e) => this.emit({count: e.count, kind: 'parked', notifiedMs: this.nsToMs(e.wakeNs), tenant: i}))
      this.register(n.oomControl(id, dir))
      return
    }
    const events = join(dir, 'memory.events')
    this.v2High.set(i, readKeyed(events).high ?? 0)
    this.handlers.set(id, (e) => {
      const high = readKeyed(events).high ?? 0
      const before = this.v2High.get(i) ?? 0
      if (high > before) this.emit({count: high - before, kind: 'high', notifiedMs: this.nsToMs(e.wakeNs), tenant: i})
      this.v2High.set(i, high)
    })
    this.register(n.watchFile(id, events))
  }

  /** Sets the actions armed on a level, replacing earlier ones. */
  armFast(level: number, actions: FastAction[]): void {
    let id = this.levelIds.get(level)
    if (id === undefined) throw new Error(`internal: no watch at level ${level}`)
    if (this.armedLevels.has(level)) {
      // the helper only appends actions to a watch: a fresh watch replaces them (the helper
      // runs commands in order, so the new watch is armed before the old one is cleared)
      const fresh = notifyIds++
      this.handlers.set(fresh, this.handlers.get(id)!)
      this.register(this.notifier.threshold(fresh, this.budget.memoryDir()!, level))
      this.register(this.notifier.clear(id))
      this.handlers.delete(id)
      this.levelIds.set(level, fresh)
      id = fresh
    }
    this.armedLevels.add(level)
    for (const a of actions) {
      const g = this.groups[a.tenant]
      if (a.kind === 'park') this.register(this.notifier.armPark(id, g.memoryDir()!, a.slackBytes))
      else {
        const dir = g.dir('freezer')
        if (dir && this.o.v1Freezer) this.register(this.notifier.armWrite(id, join(dir, 'freezer.state'), 'FROZEN'))
      }
    }
  }

  timer(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t)
      fn()
    }, ms)
    this.timers.add(t)
  }

  alive(i: number): boolean {
    return this.live[i]
  }
}

function readKeyed(file: string): Record<string, number> {
  try {
    return parseKeyed(readFileSync(file, 'utf8'))
  } catch {
    // gone with the group
    return {}
  }
}
