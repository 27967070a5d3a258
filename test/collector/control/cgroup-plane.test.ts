/**
 * The controller on the cgroup-v2 interface, end to end through real files and the real
 * notification helper, on a fake cgroup2 tree (this machine's cgroup2 has no memory
 * controller, so the v2 backend cannot run on its kernel here). The test plays the kernel:
 * it sets memory.current and bumps memory.events; the controller must answer with
 * memory.high and cgroup.freeze writes, and undo them when pressure passes.
 */
import {appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {CgroupPlane} from '../../../collector/control/cgroup-plane.js'
import {Controller} from '../../../collector/control/controller.js'
import {type ControlledTenant, DEFAULT_POLICY_PARAMS} from '../../../collector/control/types.js'
import {Cgroup, detectCgroupSystem} from '../../../kernel/cgroup.js'
import {Notifier} from '../../../kernel/notify.js'
import {nativeBinary} from '../../../replayer/native.js'
import {tempDir} from '../../fixtures/recordings.js'

const MiB = 2 ** 20
const root = tempDir()
const notifiers: Notifier[] = []
afterAll(() => {
  for (const n of notifiers) n.close()
  rmSync(root, {force: true, recursive: true})
})

async function until(what: string, cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8').trim() : '')

describe('the controller on a (fake) cgroup v2 tree', () => {
  it('agentcgroup: a memory.events high on the budget throttles and freezes LOW, pressure passing undoes it', async () => {
    const mount = join(root, 'sys/fs/cgroup')
    mkdirSync(join(root, 'proc/self'), {recursive: true})
    mkdirSync(mount, {recursive: true})
    writeFileSync(join(root, 'proc/self/mounts'), 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n')
    writeFileSync(join(mount, 'cgroup.controllers'), 'cpu memory pids\n')
    writeFileSync(join(mount, 'cgroup.subtree_control'), '')
    const sys = detectCgroupSystem(root)
    expect(sys.memory?.version).toBe('v2')
    const budget = Cgroup.create(sys, 'agentcgroup/replay-fake-1/budget')
    const groups = [0, 1, 2].map((i) => budget.child(`t${i}`))
    const kernelFiles = (g: Cgroup, current: number): void => {
      const d = g.memoryDir()!
      writeFileSync(join(d, 'memory.current'), String(current))
      writeFileSync(join(d, 'memory.events'), 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n')
      writeFileSync(join(d, 'cgroup.procs'), '')
    }
    kernelFiles(budget, 500 * MiB)
    for (const g of groups) kernelFiles(g, 200 * MiB)

    const n = Notifier.start(nativeBinary('agentcgroup-notify'))
    notifiers.push(n)
    const total = 1100 * MiB
    const plane = new CgroupPlane({budget, flavor: 'v2', groups, names: ['HIGH', 'LOW1', 'LOW2'], notifier: n, ownPids: [process.pid, n.pid], pid: () => null, totalBytes: total, v1Freezer: false})
    const tenants: ControlledTenant[] = [
      {highBytes: null, index: 0, limitBytes: 0, name: 'HIGH', priority: 'high'},
      {highBytes: null, index: 1, limitBytes: 0, name: 'LOW1', priority: 'low'},
      {highBytes: null, index: 2, limitBytes: 0, name: 'LOW2', priority: 'low'},
    ]
    const c = new Controller(plane, tenants, 'agentcgroup', {...DEFAULT_POLICY_PARAMS, stepBytes: 8 * MiB})
    plane.connect((s) => c.onSignal(s))
    plane.t0Ns = process.hrtime.bigint()
    c.setup()
    await plane.ready()
    expect(plane.notes).toEqual([])
    // the sentinel on the budget, protection for HIGH
    expect(Number(read(join(budget.memoryDir()!, 'memory.high')))).toBe(Math.round(0.9 * total))
    expect(Number(read(join(groups[0].memoryDir()!, 'memory.low')))).toBe(total)

    // the kernel: usage at 1060 MiB (above the freeze level), the sentinel crossed
    writeFileSync(join(groups[1].memoryDir()!, 'memory.current'), String(350 * MiB))
    writeFileSync(join(groups[2].memoryDir()!, 'memory.current'), String(340 * MiB))
    writeFileSync(join(budget.memoryDir()!, 'memory.current'), String(1060 * MiB))
    appendFileSync(join(budget.memoryDir()!, 'memory.events'), 'high 1\n')
    const freeze = (i: number) => join(groups[i].memoryDir()!, 'cgroup.freeze')
    const high = (i: number) => join(groups[i].memoryDir()!, 'memory.high')
    await until('LOW frozen', () => read(freeze(1)) === '1' && read(freeze(2)) === '1')
    expect([read(high(1)), read(high(2))]).toEqual([String(358 * MiB), String(348 * MiB)])
    expect(read(freeze(0))).toBe('')
    // a LOW's own memory.events high is counted as the kernel's throttles
    appendFileSync(join(groups[1].memoryDir()!, 'memory.events'), 'high 3\n')
    await until('LOW1 high counted', () => c.events.some((e) => e.kind === 'high' && e.tenant === 1))

    // pressure passes: the re-check sees usage below the resume level
    writeFileSync(join(budget.memoryDir()!, 'memory.current'), String(600 * MiB))
    await until('LOW thawed', () => read(freeze(1)) === '0' && read(freeze(2)) === '0')
    expect([read(high(1)), read(high(2))]).toEqual(['max', 'max'])
    const s = c.finish()
    plane.dispose()
    expect(s.freezeEvents).toBe(2)
    expect(s.perTenant[1].kernelThrottles).toBe(3)
    expect(s.reactionsMs.length).toBeGreaterThanOrEqual(4)
    expect(Math.max(...s.reactionsMs)).toBeLessThan(250)
  })
})
