/**
 * Parsing /proc/<pid>/mounts into the machine's cgroup layout: which hierarchies are mounted
 * (cgroup v1 per controller, one cgroup2 tree) and where each controller lives.
 * Pure functions over file contents; `kernel/features.ts` does the reading.
 */

export type CgroupLayout = 'v1' | 'v2' | 'hybrid' | 'none'

export interface CgroupMount {
  /** Mount point, as the process sees it (octal escapes of /proc/mounts decoded). */
  path: string
  fstype: 'cgroup' | 'cgroup2'
  /** Mount options, e.g. ['rw', 'relatime', 'cpu', 'cpuacct'] or ['rw', 'name=systemd']. */
  options: string[]
}

export interface ControllerLocation {
  version: 'v1' | 'v2'
  /** The hierarchy's mount point. */
  path: string
}

/** The controllers `doctor` reports on, in order. */
export const CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'freezer', 'pids'] as const
export type ControllerName = (typeof CONTROLLERS)[number]

/** /proc/mounts escapes space, tab, newline and backslash as \ooo (octal). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
}

/** The cgroup and cgroup2 mounts of a /proc/self/mounts text, in file order. */
export function parseCgroupMounts(mountsText: string): CgroupMount[] {
  const mounts: CgroupMount[] = []
  for (const line of mountsText.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 4) continue
    const [, mountPoint, fstype, opts] = fields
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue
    mounts.push({path: unescapeMountField(mountPoint), fstype, options: opts.split(',')})
  }
  return mounts
}

/** v1 and v2 mounted: hybrid; one of them: that one; neither: none. */
export function layoutOf(mounts: readonly CgroupMount[]): CgroupLayout {
  const v1 = mounts.some((m) => m.fstype === 'cgroup')
  const v2 = mounts.some((m) => m.fstype === 'cgroup2')
  if (v1 && v2) return 'hybrid'
  if (v1) return 'v1'
  if (v2) return 'v2'
  return 'none'
}

/** The cgroup2 mount to use: /sys/fs/cgroup if it is one, else the first listed. */
export function v2MountOf(mounts: readonly CgroupMount[]): string | null {
  const v2 = mounts.filter((m) => m.fstype === 'cgroup2')
  return (v2.find((m) => m.path === '/sys/fs/cgroup') ?? v2[0])?.path ?? null
}

/** The v1 mount that carries a controller (its name is one of the mount options). */
export function v1MountOf(mounts: readonly CgroupMount[], controller: string): string | null {
  return mounts.find((m) => m.fstype === 'cgroup' && m.options.includes(controller))?.path ?? null
}

/** Controllers enabled in a cgroup2 tree, from its root `cgroup.controllers` ("cpu io memory pids"). */
export function parseControllersList(text: string): string[] {
  return text.split(/\s+/).filter((s) => s.length > 0)
}

export interface V2Tree {
  /** Mount path of the cgroup2 tree, or null when none is mounted. */
  mount: string | null
  /** Controllers listed in its root cgroup.controllers. */
  controllers: readonly string[]
  /** The root has cpu.stat (CPU usage accounting is core in cgroup v2, without the cpu controller). */
  hasCpuStat: boolean
  /** The kernel has cgroup.freeze (the v2 freezer is core, not a listed controller; Linux >= 5.2). */
  hasFreeze: boolean
}

/**
 * Where a controller lives. A controller bound to a v1 hierarchy cannot be in v2, so v1 wins;
 * otherwise v2 when listed in its cgroup.controllers. cpuacct and freezer have no v2 controller
 * name: they count as v2 when the tree gives their function (cpu.stat, cgroup.freeze).
 */
export function locateController(mounts: readonly CgroupMount[], v2: V2Tree, controller: string): ControllerLocation | null {
  const v1 = v1MountOf(mounts, controller)
  if (v1 !== null) return {version: 'v1', path: v1}
  if (v2.mount === null) return null
  const inV2 =
    v2.controllers.includes(controller) ||
    (controller === 'cpuacct' && (v2.hasCpuStat || v2.controllers.includes('cpu'))) ||
    (controller === 'freezer' && v2.hasFreeze)
  return inV2 ? {version: 'v2', path: v2.mount} : null
}
