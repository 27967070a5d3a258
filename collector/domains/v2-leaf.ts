/**
 * cgroup v2's rule of no internal processes: a group that holds processes cannot have child
 * groups with controllers. Before the first tool group is created under the agent's group,
 * the agent's processes move into a leaf `<parent>/agent` and the controllers (memory, cpu,
 * pids, as available) are enabled in the parent's cgroup.subtree_control. On v1 and hybrid
 * (whose cgroup2 tree carries no controllers of ours) nothing of the kind is needed.
 *
 * The leaf is made with mkdir, not Cgroup.create: that enables the controllers in the parent
 * before its processes could leave it (EBUSY); kernel/cgroup.ts enableV2Controllers runs after.
 */
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {Cgroup, CgroupFileError, enableV2Controllers} from '../../kernel/cgroup.js'

export const AGENT_LEAF = 'agent'

/** Where the agent's own processes live: `<parent>/agent` on v2 (made ready here), else the parent. */
export function agentHome(parent: Cgroup): Cgroup {
  if (parent.sys.layout !== 'v2') return parent
  const dir = parent.dir('unified')
  if (!dir) return parent
  const leaf = join(dir, AGENT_LEAF)
  if (!existsSync(leaf)) {
    try {
      mkdirSync(leaf)
    } catch (error) {
      throw new CgroupFileError(leaf, 'mkdir', error)
    }
  }
  const home = Cgroup.at(parent.sys, `${parent.rel}/${AGENT_LEAF}`)
  // processes may fork while they move: repeat until no new one shows up
  const moved = new Set<number>()
  for (let round = 0; round < 100; round++) {
    const fresh = parent.pids().filter((p) => !moved.has(p))
    if (fresh.length === 0) break
    for (const pid of fresh) {
      moved.add(pid)
      try {
        home.addProcess(pid)
      } catch (error) {
        if (!/ESRCH/.test((error as Error).message)) throw error
      }
    }
  }
  enableV2Controllers(parent.sys, home.rel)
  return home
}
