/**
 * Test helpers for the sampler tests: the static workload binary (scripts/sampler-workload.c,
 * compiled once per test file into a temp dir) and what the tests need to run real cgroups.
 */
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {bpfUnavailableReason} from '../../bpf/index.js'
import {Store} from '../../datasets/store.js'
import {detectCgroupSystem} from '../../kernel/cgroup.js'

const sys = detectCgroupSystem()

/** Why the real-kernel tests cannot run here, or null. */
export const cgroupSkipReason: string | null =
  process.getuid?.() !== 0 ? 'needs root' : sys.memory === null ? 'needs a memory cgroup controller' : null
export const bpfSkipReason: string | null = cgroupSkipReason ?? bpfUnavailableReason()

/** Compiles the workload (static, so an exec costs little); returns its path and a cleanup. */
export function buildWorkload(): {bin: string; cleanup: () => void} {
  const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-workload-'))
  const bin = join(dir, 'sampler-workload')
  execFileSync('cc', ['-O2', '-static', '-pthread', '-o', bin, join(process.cwd(), 'scripts', 'sampler-workload.c')])
  return {bin, cleanup: () => rmSync(dir, {force: true, recursive: true})}
}

/** Groups named `<kind>-<pid>-<n>` under agentcgroup/ in any hierarchy. */
export function groupsOf(kind: string, pid: number): string[] {
  const out: string[] = []
  for (const mount of [sys.memory?.path, sys.cpu?.path, sys.cpuacct?.path, sys.freezer?.path, sys.v2Mount]) {
    const root = mount ? join(mount, 'agentcgroup') : null
    if (!root || !existsSync(root)) continue
    for (const name of readdirSync(root)) if (name.startsWith(`${kind}-${pid}-`)) out.push(join(root, name))
  }
  return out
}

export const MiB = 1024 * 1024

/** Rows of a read-only query on a store the test wrote. */
export async function query(db: string, sql: string, params: Record<string, string | number> = {}) {
  const store = await Store.open(db, {readOnly: true})
  try {
    return await store.query(sql, params)
  } finally {
    store.close()
  }
}
