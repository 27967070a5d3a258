/**
 * The cgroup interface: one typed view of a cgroup of ours on cgroup v1, v2 or a hybrid of
 * both. Nothing else in the project touches /sys/fs/cgroup.
 *
 * A `Cgroup` is one logical group. On v1 it is a directory per hierarchy (memory, cpu,
 * cpuacct, freezer) and, on hybrid hosts, one in the cgroup2 tree too (PSI, cgroup.kill);
 * on v2 it is one directory. Every group we create lives under `<mount>/agentcgroup/`, is
 * named `<kind>-<owner pid>-<n>`, and is removed by its owner (also on SIGINT/SIGTERM/exit:
 * see cleanup.ts); groups whose owner died are reaped by `reapLeftovers`. We never write to
 * a group outside our root.
 *
 * Readers document units; "max" becomes null. Errors carry the file's path.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {CgroupLayout, ControllerLocation, layoutOf, locateController, parseCgroupMounts, parseControllersList, v2MountOf} from './cgroup-layout.js'

export const OUR_ROOT = 'agentcgroup'

export class CgroupFileError extends Error {
  constructor(
    readonly path: string,
    readonly op: 'read' | 'write' | 'mkdir' | 'rmdir',
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause)
    super(`${path}: cannot ${op} (${code})`)
    this.name = 'CgroupFileError'
  }
}

export interface CgroupSystem {
  layout: CgroupLayout
  /** mount points per role; null when the machine lacks it */
  memory: ControllerLocation | null
  cpu: ControllerLocation | null
  cpuacct: ControllerLocation | null
  freezer: ControllerLocation | null
  /** the cgroup2 tree (v2, or hybrid's unified tree), for PSI, cgroup.kill, cgroup.freeze */
  v2Mount: string | null
  /** the cgroup2 tree has the memory controller (memory.max, memory.high, memory.events) */
  v2Memory: boolean
  /**
   * every cgroup mount (all v1 hierarchies and the v2 tree): others make groups under our
   * root in hierarchies we never use (podman's --cgroup-parent creates it in all nine v1
   * hierarchies), and removal must find them there too
   */
  allMounts: string[]
}

/** Reads the machine's cgroup mounts; `fsRoot` prefixes /proc and the mounts (fake trees in tests). */
export function detectCgroupSystem(fsRoot = '/'): CgroupSystem {
  const mountsText = safeRead(join(fsRoot, 'proc/self/mounts')) ?? ''
  const mounts = parseCgroupMounts(mountsText).map((m) => ({...m, path: join(fsRoot, m.path)}))
  const v2Mount = v2MountOf(mounts)
  const controllers = v2Mount ? parseControllersList(safeRead(join(v2Mount, 'cgroup.controllers')) ?? '') : []
  const v2 = {
    controllers,
    hasCpuStat: v2Mount ? existsSync(join(v2Mount, 'cpu.stat')) : false,
    hasFreeze: v2Mount ? existsSync(join(v2Mount, 'cgroup.subtree_control')) : false,
    mount: v2Mount,
  }
  const at = (c: string) => locateController(mounts, v2, c)
  return {
    cpu: at('cpu'),
    cpuacct: at('cpuacct'),
    freezer: at('freezer'),
    layout: layoutOf(mounts),
    memory: at('memory'),
    v2Memory: controllers.includes('memory'),
    allMounts: [...new Set(mounts.map((m) => m.path))],
    v2Mount,
  }
}

type Role = 'memory' | 'cpu' | 'cpuacct' | 'freezer' | 'unified'

let groupCounter = 0

/** A group name that says who owns it, so leftovers of a dead owner can be found. */
export function ownedName(kind: string, pid = process.pid): string {
  if (!/^[a-z][a-z0-9_]*$/.test(kind)) throw new Error(`cgroup kind ${JSON.stringify(kind)}: lower-case letters, digits and _ only`)
  return `${kind}-${pid}-${++groupCounter}`
}

export class Cgroup {
  private constructor(
    readonly sys: CgroupSystem,
    /** path below the mount points, always starting with `agentcgroup/` */
    readonly rel: string,
  ) {}

  /** Creates (mkdir -p) the group in every hierarchy we use; `rel` must be under our root. */
  static create(sys: CgroupSystem, rel: string): Cgroup {
    const cg = Cgroup.at(sys, rel)
    for (const dir of cg.dirs()) {
      try {
        mkdirSync(dir, {recursive: true})
      } catch (error) {
        throw new CgroupFileError(dir, 'mkdir', error)
      }
    }
    // v2: children need the controllers enabled in their parent's subtree_control
    if (sys.layout === 'v2') enableV2Controllers(sys, rel)
    return cg
  }

  /** A handle on an existing group of ours (no file is touched). */
  static at(sys: CgroupSystem, rel: string): Cgroup {
    const clean = rel.replace(/^\/+|\/+$/g, '')
    if (clean !== OUR_ROOT && !clean.startsWith(`${OUR_ROOT}/`)) throw new Error(`refusing cgroup ${rel}: not under ${OUR_ROOT}/`)
    if (clean.split('/').some((p) => p === '..' || p === '.' || p === '')) throw new Error(`refusing cgroup ${rel}: not a plain path`)
    return new Cgroup(sys, clean)
  }

  child(name: string): Cgroup {
    return Cgroup.create(this.sys, `${this.rel}/${name}`)
  }

  get version(): 'v1' | 'v2' {
    return this.sys.memory?.version === 'v2' || this.sys.layout === 'v2' ? 'v2' : 'v1'
  }

  /** The directory of this group in a hierarchy, or null if the machine lacks it. */
  dir(role: Role): string | null {
    const mount = role === 'unified' ? this.sys.v2Mount : this.sys[role]?.path ?? null
    return mount ? join(mount, this.rel) : null
  }

  /** Distinct directories of this group (one on v2, one per hierarchy on v1). */
  dirs(): string[] {
    const roles: Role[] = ['memory', 'cpu', 'cpuacct', 'freezer', 'unified']
    return [...new Set(roles.map((r) => this.dir(r)).filter((d): d is string => d !== null))]
  }

  /** Moves a process (all its threads) into the group in every hierarchy. Charges do not move. */
  addProcess(pid: number): void {
    for (const dir of this.dirs()) writeFile(join(dir, 'cgroup.procs'), String(pid))
  }

  /** Process ids in the group (from the memory hierarchy, else the first one). */
  pids(): number[] {
    const dir = this.dir('memory') ?? this.dirs()[0]
    return (readFile(join(dir, 'cgroup.procs')).match(/\d+/g) ?? []).map(Number)
  }

  /** The memory cgroup's kernfs id (its directory's inode), which BPF programs filter on. */
  memoryCgroupId(): number {
    const dir = this.dir('memory')
    if (!dir) throw new CgroupFileError(`${this.rel} (memory)`, 'read', new Error('no memory controller'))
    return statSync(dir).ino
  }

  // ---- memory -------------------------------------------------------------------------

  private memFile(v1: string, v2: string): string {
    const dir = this.dir('memory')
    if (!dir) throw new CgroupFileError(`${this.rel} (memory)`, 'read', new Error('no memory controller'))
    return join(dir, this.version === 'v2' ? v2 : v1)
  }

  /** bytes charged now (v1 memory.usage_in_bytes, v2 memory.current) */
  memoryCurrentBytes(): number {
    return readInt(this.memFile('memory.usage_in_bytes', 'memory.current'))
  }

  /** bytes, high-water mark (v1 memory.max_usage_in_bytes, v2 memory.peak; null if absent) */
  memoryPeakBytes(): number | null {
    const f = this.memFile('memory.max_usage_in_bytes', 'memory.peak')
    return existsSync(f) ? readInt(f) : null
  }

  /** memory.stat as numbers (bytes or counts, as the kernel names them) */
  memoryStat(): Record<string, number> {
    return parseKeyed(readFile(this.memFile('memory.stat', 'memory.stat')))
  }

  /** bytes; null = no limit ("max" on v2, the v1 "unlimited" sentinel) */
  memoryMaxBytes(): number | null {
    const raw = readFile(this.memFile('memory.limit_in_bytes', 'memory.max')).trim()
    if (raw === 'max') return null
    const n = Number(raw)
    return n >= 2 ** 62 ? null : n
  }

  /** Sets the hard limit (v1 memory.limit_in_bytes, v2 memory.max); null removes it. */
  setMemoryMax(bytes: number | null): void {
    writeFile(this.memFile('memory.limit_in_bytes', 'memory.max'), bytes === null ? (this.version === 'v2' ? 'max' : '-1') : String(Math.floor(bytes)))
  }

  /** v2 memory.high (throttle, no OOM); v1 has none: the caller emulates it. */
  setMemoryHigh(bytes: number | null): void {
    if (this.version !== 'v2') throw new CgroupFileError(this.memFile('memory.high', 'memory.high'), 'write', new Error('memory.high needs cgroup v2'))
    writeFile(this.memFile('memory.high', 'memory.high'), bytes === null ? 'max' : String(Math.floor(bytes)))
  }

  /** v2 memory.low (best-effort protection); v1 memory.soft_limit_in_bytes is the nearest. */
  setMemoryLow(bytes: number): void {
    writeFile(this.memFile('memory.soft_limit_in_bytes', 'memory.low'), String(Math.floor(bytes)))
  }

  /** v1: park tasks at the limit instead of OOM-killing them (memory.oom_control = 1). */
  setOomKillDisable(disable: boolean): void {
    if (this.version !== 'v1') throw new CgroupFileError(this.memFile('memory.oom_control', 'memory.oom_control'), 'write', new Error('oom_control is cgroup v1 only'))
    writeFile(this.memFile('memory.oom_control', 'memory.oom_control'), disable ? '1' : '0')
  }

  /**
   * OOM and limit counters: v2 memory.events (low, high, max, oom, oom_kill); v1 oom_control
   * (oom_kill, under_oom) and memory.failcnt (as `max`).
   */
  memoryEvents(): {oom_kill: number; oom: number; max: number; high: number; under_oom: boolean} {
    if (this.version === 'v2') {
      const ev = parseKeyed(readFile(this.memFile('memory.events', 'memory.events')))
      return {high: ev.high ?? 0, max: ev.max ?? 0, oom: ev.oom ?? 0, oom_kill: ev.oom_kill ?? 0, under_oom: false}
    }
    const oc = parseKeyed(readFile(this.memFile('memory.oom_control', 'memory.oom_control')))
    const failcnt = readInt(this.memFile('memory.failcnt', 'memory.failcnt'))
    return {high: 0, max: failcnt, oom: oc.oom_kill ?? 0, oom_kill: oc.oom_kill ?? 0, under_oom: (oc.under_oom ?? 0) === 1}
  }

  /** The memory cgroup's directory, for eventfd registration (v1 cgroup.event_control). */
  memoryDir(): string | null {
    return this.dir('memory')
  }

  // ---- cpu ----------------------------------------------------------------------------

  /** microseconds of CPU used by the group (v1 cpuacct.usage ns / 1000, v2 cpu.stat usage_usec) */
  cpuUsageUsec(): number {
    if (this.sys.cpuacct?.version === 'v1') return Math.floor(readInt(join(this.dir('cpuacct')!, 'cpuacct.usage')) / 1000)
    const dir = this.dir('unified')
    if (!dir) throw new CgroupFileError(`${this.rel} (cpu)`, 'read', new Error('no cpu accounting'))
    return parseKeyed(readFile(join(dir, 'cpu.stat'))).usage_usec ?? 0
  }

  /** Relative CPU share: v2 cpu.weight (1-10000, default 100), v1 cpu.shares (= weight * 1024 / 100). */
  setCpuWeight(weight: number): void {
    const w = Math.max(1, Math.min(10000, Math.round(weight)))
    if (this.sys.cpu?.version === 'v1') writeFile(join(this.dir('cpu')!, 'cpu.shares'), String(Math.max(2, Math.round((w * 1024) / 100))))
    else if (this.dir('unified')) writeFile(join(this.dir('unified')!, 'cpu.weight'), String(w))
  }

  // ---- pressure (PSI) -----------------------------------------------------------------

  /** The group's memory.pressure file in the cgroup2 tree, when PSI is there. */
  memoryPressureFile(): string | null {
    const dir = this.dir('unified')
    const f = dir ? join(dir, 'memory.pressure') : null
    return f && existsSync(f) ? f : null
  }

  // ---- freezing and killing -----------------------------------------------------------

  /** Freezes every task (v1 freezer.state FROZEN; v2 cgroup.freeze 1). Returns without waiting. */
  freeze(): void {
    this.writeFreeze(true)
  }

  thaw(): void {
    this.writeFreeze(false)
  }

  isFrozen(): boolean {
    if (this.sys.freezer?.version === 'v1') return readFile(join(this.dir('freezer')!, 'freezer.state')).trim() === 'FROZEN'
    const dir = this.dir('unified')
    if (!dir) return false
    return (parseKeyed(readFile(join(dir, 'cgroup.events'))).frozen ?? 0) === 1
  }

  private writeFreeze(frozen: boolean): void {
    if (this.sys.freezer?.version === 'v1') writeFile(join(this.dir('freezer')!, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED')
    else if (this.dir('unified')) writeFile(join(this.dir('unified')!, 'cgroup.freeze'), frozen ? '1' : '0')
    else throw new CgroupFileError(`${this.rel} (freezer)`, 'write', new Error('no freezer'))
  }

  /** SIGKILLs every task: cgroup.kill where the kernel has it, else signals each pid until empty. */
  killAll(): void {
    const unified = this.dir('unified')
    const killFile = unified ? join(unified, 'cgroup.kill') : null
    if (killFile && existsSync(killFile) && this.sys.layout === 'v2') {
      writeFile(killFile, '1')
      return
    }
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }

  /**
   * Removes the group and everything below it: thaws (a frozen task cannot die), kills what
   * is left, waits for the tasks to exit (up to timeoutMs), then rmdirs depth-first in
   * every hierarchy. Missing directories are fine (idempotent).
   */
  remove(timeoutMs = 3000): void {
    for (const sub of this.children()) Cgroup.at(this.sys, `${this.rel}/${sub}`).remove(timeoutMs)
    if (!this.everyDir().some((d) => existsSync(d))) return
    try {
      if (this.isFrozen()) this.thaw()
    } catch {
      // no freezer: nothing was frozen
    }
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let pids: number[] = []
      try {
        pids = this.pids()
      } catch {
        pids = []
      }
      if (pids.length === 0) break
      this.killAll()
      if (Date.now() > deadline) break
      sleepMs(5)
    }
    for (const dir of this.everyDir()) {
      if (!existsSync(dir)) continue
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir)
          break
        } catch (error) {
          // EBUSY while the last task is still exiting
          if (attempt > 200 || (error as NodeJS.ErrnoException).code !== 'EBUSY') throw new CgroupFileError(dir, 'rmdir', error)
          sleepMs(10)
        }
      }
    }
  }

  /** Names of child groups (from the first hierarchy holding the group). */
  children(): string[] {
    const names = new Set<string>()
    for (const dir of this.everyDir()) {
      if (!existsSync(dir)) continue
      for (const e of readdirSync(dir, {withFileTypes: true})) if (e.isDirectory()) names.add(e.name)
    }
    return [...names].sort()
  }

  exists(): boolean {
    return this.dirs().some((d) => existsSync(d))
  }

  /** This group's directory in every cgroup hierarchy of the machine (for listing and removal). */
  private everyDir(): string[] {
    const mounts = this.sys.allMounts ?? []
    return [...new Set([...this.dirs(), ...mounts.map((m) => join(m, this.rel))])]
  }
}

/**
 * Removes groups under our root whose owner process is gone (a SIGKILLed record or replay).
 * Returns the removed paths. Groups of live owners are left alone.
 */
export function reapLeftovers(sys: CgroupSystem, isAlive: (pid: number) => boolean = pidAlive): string[] {
  const removed: string[] = []
  for (const group of deadOwnersGroups(sys, isAlive)) {
    group.remove()
    removed.push(group.rel)
  }
  return removed
}

/**
 * Thaws every frozen group below dead owners' groups, without removing anything: a container
 * runtime can only stop a container whose tasks can run (a SIGKILL waits for the thaw).
 */
export function thawLeftovers(sys: CgroupSystem, isAlive: (pid: number) => boolean = pidAlive): string[] {
  const thawed: string[] = []
  const walk = (g: Cgroup) => {
    try {
      if (g.isFrozen()) {
        g.thaw()
        thawed.push(g.rel)
      }
    } catch {
      // no freezer, or gone meanwhile
    }
    for (const sub of g.children()) walk(Cgroup.at(sys, `${g.rel}/${sub}`))
  }
  for (const group of deadOwnersGroups(sys, isAlive)) walk(group)
  return thawed
}

/** Our top-level groups whose owner process is gone (named `<kind>-<pid>-<n>`). */
function deadOwnersGroups(sys: CgroupSystem, isAlive: (pid: number) => boolean): Cgroup[] {
  const root = Cgroup.at(sys, OUR_ROOT)
  const out: Cgroup[] = []
  for (const name of root.children()) {
    const m = /^[a-z][a-z0-9_]*-(\d+)-\d+$/.exec(name)
    if (!m) continue // not one of ours by name: never touch it
    const owner = Number(m[1])
    if (owner === process.pid || isAlive(owner)) continue
    out.push(Cgroup.at(sys, `${OUR_ROOT}/${name}`))
  }
  return out
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * v2: enables memory, cpu and pids (as available) in the subtree_control of every ancestor of
 * `rel`, from the mount down to its parent. Cgroup.create calls it; a caller that must first
 * empty the parent (no internal processes) calls it after.
 */
export function enableV2Controllers(sys: CgroupSystem, rel: string): void {
  if (!sys.v2Mount) return
  const available = parseControllersList(safeRead(join(sys.v2Mount, 'cgroup.controllers')) ?? '')
  const wanted = ['memory', 'cpu', 'pids'].filter((c) => available.includes(c))
  const parts = rel.split('/')
  // enable on every ancestor from the mount down to the parent of the new group
  for (let i = 0; i < parts.length; i++) {
    const dir = join(sys.v2Mount, ...parts.slice(0, i))
    const control = join(dir, 'cgroup.subtree_control')
    const enabled = parseControllersList(safeRead(control) ?? '')
    const missing = wanted.filter((c) => !enabled.includes(c))
    if (missing.length > 0) writeFile(control, missing.map((c) => `+${c}`).join(' '))
  }
}

/** A cgroup file of "key value" lines (memory.stat, memory.events, cpu.stat) as numbers. */
export function parseKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/)
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v)
  }
  return out
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new CgroupFileError(path, 'read', error)
  }
}

function readInt(path: string): number {
  const raw = readFile(path).trim()
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new CgroupFileError(path, 'read', new Error(`not a number: ${raw.slice(0, 20)}`))
  return n
}

function writeFile(path: string, value: string): void {
  try {
    writeFileSync(path, value)
  } catch (error) {
    throw new CgroupFileError(path, 'write', error)
  }
}

function safeRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4))
/** Blocking sleep for cleanup paths that must finish inside an exit handler. */
export function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms)
}
