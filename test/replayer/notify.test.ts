/**
 * The notification helper and the controller's fast path: a v2-style memory.events change
 * (inotify; here on a fake tree, as this machine's cgroup2 has no memory controller) runs an
 * armed write; on real v1 cgroups a usage threshold parks a growing tenant at usage + slack
 * before Node hears of it, and oom_control reports the park.
 */
import {appendFileSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {Notifier, type NotifyEvent} from '../../kernel/notify.js'
import {nativeBinary} from '../../replayer/native.js'
import {TenantProcess} from '../../replayer/tenant.js'
import {tempDir, writeFile} from '../fixtures/recordings.js'

const MiB = 2 ** 20
const dir = tempDir()
const notifiers: Notifier[] = []
const groups: Cgroup[] = []
afterAll(() => {
  for (const n of notifiers) n.close()
  for (const g of groups) g.remove()
  rmSync(dir, {force: true, recursive: true})
})

function next(n: Notifier, id: number): Promise<NotifyEvent> {
  return new Promise((resolve) => {
    const off = n.onEvent((e) => {
      if (e.id !== id) return
      off()
      resolve(e)
    })
  })
}

describe('the notification helper', () => {
  it('v2 path: a memory.events change wakes it and the armed write happens in C first', async () => {
    const events = join(dir, 'memory.events')
    const freeze = join(dir, 'cgroup.freeze')
    writeFile(events, 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n')
    writeFile(freeze, '0')
    const n = Notifier.start(nativeBinary('agentcgroup-notify'))
    notifiers.push(n)
    await n.watchFile(1, events)
    await n.armWrite(1, freeze, '1')
    await expect(n.watchFile(2, join(dir, 'missing'))).rejects.toThrow(/cannot watch .*missing/)
    const got = next(n, 1)
    appendFileSync(events, 'high 1\n')
    const e = await got
    expect(e.actionsDone).toBe(1)
    expect(readFileSync(freeze, 'utf8')).toBe('1')
    expect(Number(e.doneNs - e.wakeNs) / 1e6).toBeLessThan(5)
  })

  const sys = detectCgroupSystem()
  it.runIf(process.getuid?.() === 0 && sys.memory?.version === 'v1')('v1: a usage threshold parks a growing tenant at usage + slack, oom_control reports it', async () => {
    const g = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('notifytest')}`)
    groups.push(g)
    g.setOomKillDisable(true)
    const n = Notifier.start(nativeBinary('agentcgroup-notify'))
    notifiers.push(n)
    await n.threshold(1, g.memoryDir()!, 64 * MiB)
    await n.armPark(1, g.memoryDir()!, 8 * MiB)
    await n.oomControl(2, g.memoryDir()!)
    // one step to 256 MiB, right away
    const t = await TenantProcess.start({cpuPct: [0, 0], offsetsMs: [0, 10], targets: [4 * MiB, 256 * MiB]}, {cpu: false, hugepages: true, rss: false})
    g.addProcess(t.pid)
    const crossed = next(n, 1)
    const parked = next(n, 2)
    await t.prefault()
    t.go(process.hrtime.bigint())
    const e = await crossed
    const p = await parked
    expect(e.actionsDone).toBe(1)
    const limit = g.memoryMaxBytes()!
    // parked within a few MiB of the threshold plus slack (the counter is read a little late)
    expect(limit).toBeGreaterThanOrEqual(64 * MiB + 8 * MiB)
    expect(limit).toBeLessThan(160 * MiB)
    expect(p.count).toBeGreaterThanOrEqual(1)
    expect(g.memoryEvents().under_oom).toBe(true)
    expect(g.memoryCurrentBytes()).toBeLessThanOrEqual(limit)
    // reaction: notification to the limit written
    expect(Number(e.doneNs - e.wakeNs) / 1e6).toBeLessThan(5)
    // raising the limit resumes it; it finishes its trace
    g.setMemoryMax(null)
    const exit = await t.exited
    expect(exit.code).toBe(0)
  })
})
