/**
 * What a sampler watches: one cgroup, as the directories of its controllers. On cgroup v1 the
 * memory, cpuacct (and, on hybrid hosts, cgroup2) directories; on v2 one directory. Made from
 * a Cgroup of ours (record, the local runtime, a container under our --cgroup-parent) or from
 * paths (a container's cgroup anywhere): samplers only read it.
 */
import {readFileSync, statSync} from 'node:fs'
import {isAbsolute, relative} from 'node:path'

import type {Cgroup} from '../../kernel/cgroup.js'

export interface SamplerTarget {
  /** for messages and the processes' cgroup column: the path below the memory mount */
  path: string
  /** where the memory controller lives */
  version: 'v1' | 'v2'
  /** the group's memory directory (v1 memory hierarchy, or its v2 directory) */
  memoryDir: string
  /** the memory hierarchy's mount point */
  memoryMount: string
  /** v1 cpuacct directory; null on v2 (cpu.stat in the v2 directory) */
  cpuacctDir: string | null
  /** the group's directory in a cgroup2 tree (v2, or hybrid's unified tree): cpu.stat, PSI */
  unifiedDir: string | null
  /** podman-stats: the container to ask about */
  container?: string
}

export function targetOfCgroup(cg: Cgroup, container?: string): SamplerTarget {
  const memoryDir = cg.dir('memory')
  const memoryMount = cg.sys.memory?.path
  if (!memoryDir || !memoryMount) throw new Error(`${cg.rel}: no memory controller on this machine`)
  return {
    container,
    cpuacctDir: cg.sys.cpuacct?.version === 'v1' ? cg.dir('cpuacct') : null,
    memoryDir,
    memoryMount,
    path: cg.rel,
    unifiedDir: cg.dir('unified'),
    version: cg.version,
  }
}

/** A cgroup given by paths: v1 `{memory, cpuacct?, unified?}` (and its mount) or a v2 directory. */
export function targetFromPaths(p: {version: 'v1' | 'v2'; memoryDir: string; memoryMount: string; cpuacctDir?: string | null; unifiedDir?: string | null; container?: string}): SamplerTarget {
  const rel = relative(p.memoryMount, p.memoryDir)
  if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${p.memoryDir} is not below ${p.memoryMount}`)
  return {
    container: p.container,
    cpuacctDir: p.cpuacctDir ?? null,
    memoryDir: p.memoryDir,
    memoryMount: p.memoryMount,
    path: rel,
    unifiedDir: p.unifiedDir ?? (p.version === 'v2' ? p.memoryDir : null),
    version: p.version,
  }
}

/** kernfs id of the memory cgroup (its directory's inode), as the BPF programs see it. */
export function memoryCgroupId(t: SamplerTarget): bigint {
  return statSync(t.memoryDir, {bigint: true}).ino
}

/**
 * Depth of the memory cgroup below its hierarchy's root: the path below the mount plus the
 * depth of the mount's own root (a bind mount of a subtree, e.g. in a container).
 */
export function memoryCgroupLevel(t: SamplerTarget, mountinfo = safeRead('/proc/self/mountinfo')): number {
  const depth = (p: string) => p.split('/').filter((s) => s.length > 0).length
  let rootDepth = 0
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ')
    // fields: id parent major:minor root mount-point ...
    if (f.length > 4 && unescape(f[4]) === t.memoryMount) rootDepth = depth(unescape(f[3]))
  }
  return rootDepth + depth(relative(t.memoryMount, t.memoryDir))
}

function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
