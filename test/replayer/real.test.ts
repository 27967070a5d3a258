/**
 * Replays on this machine's real cgroups (root; the v1 or v2 memory controller, whichever it
 * has): page-precise tenants, the four policies on the paper's scenario against the kernel's
 * own counters, the simulator against the real backend, and cleanup after SIGINT and SIGKILL.
 * Every group is made under agentcgroup/ and removed; no task is left frozen.
 */
import {execFile, spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, describe, expect, it} from 'vitest'

import type {PolicyName} from '../../collector/control/types.js'
import {Store} from '../../datasets/store.js'
import {detectCgroupSystem, OUR_ROOT} from '../../kernel/cgroup.js'
import {flavorOf, runCgroupArm} from '../../replayer/backends/cgroup.js'
import {simulate} from '../../replayer/backends/sim.js'
import {armMetrics} from '../../replayer/metrics.js'
import {buildPlan, poolPlan} from '../../replayer/plan.js'
import type {ArmRun} from '../../replayer/results.js'
import {loadScenario, validateScenario} from '../../replayer/scenario.js'
import {writeArm} from '../../replayer/store-rows.js'
import {measureAllocRate} from '../../replayer/tenant.js'
import {tempDir, writeFile} from '../fixtures/recordings.js'

const sys = detectCgroupSystem()
/**
 * A real replay that kept to its schedule: step lag p99 under 50 ms, not counting the time a
 * tenant was held back on purpose (frozen, parked by the policy, waiting at a cgroup limit):
 * that lateness is the policy's effect, which the simulator models, not the machine's.
 */
const machineLag = (r: ArmRun): number => armMetrics(r, 1).machine_lag_p99_ms ?? Infinity
const faithful = (r: ArmRun): boolean => machineLag(r) < 50
const canRun = process.getuid?.() === 0 && sys.memory !== null
const MiB = 2 ** 20
const dir = tempDir()
afterAll(() => rmSync(dir, {force: true, recursive: true}))

function ourGroups(pid?: number): string[] {
  const out: string[] = []
  for (const mount of [sys.memory?.path, sys.freezer?.path].filter((m): m is string => Boolean(m))) {
    const root = join(mount, OUR_ROOT)
    if (!existsSync(root)) continue
    for (const name of readdirSync(root)) if (name.startsWith(`replay-${pid ?? ''}`)) out.push(join(root, name))
  }
  return out
}

function frozenUnder(root: string): string[] {
  if (!existsSync(root)) return []
  const out: string[] = []
  const walk = (d: string): void => {
    const state = join(d, 'freezer.state')
    if (existsSync(state) && readFileSync(state, 'utf8').trim() !== 'THAWED') out.push(d)
    for (const e of readdirSync(d, {withFileTypes: true})) if (e.isDirectory()) walk(join(d, e.name))
  }
  walk(root)
  return out
}

describe.skipIf(!canRun)(`replay on real cgroups (${flavorOf(sys) ?? 'none'})`, () => {
  it('unconstrained at 1x, a tenant holds its trace to the page and its RSS is within 5 % at every step', async () => {
    writeFile(join(dir, 'short.json'), {format: 'agentcgroup-trace/1', mem_bytes: [64, 128, 96, 200, 40, 150, 150, 80].map((m) => m * MiB), t_ms: [0, 300, 600, 900, 1200, 1500, 1800, 2100]})
    const sc = validateScenario({policy: 'none', speed: 1, tenants: [{name: 'T', trace: join(dir, 'short.json')}], total: '2G', warm_pool: false}, 'short')
    const run = await runCgroupArm(await buildPlan(sc, null), 'none', {pool: null, sys})
    const t = run.tenants[0]
    expect(t.end).toBe('done')
    expect(t.steps).toHaveLength(8)
    for (const s of t.steps) {
      expect(s.achievedBytes).toBe(s.targetBytes)
      expect(Math.abs(s.rssBytes - s.targetBytes) / s.targetBytes).toBeLessThan(0.05)
      // the absolute schedule: no step starts before it is due
      expect(s.startMs).toBeGreaterThanOrEqual(s.schedMs - 0.01)
    }
    expect(ourGroups(process.pid)).toEqual([])
  })

  describe('the paper scenario (1100 MiB, 50x)', async () => {
    const runs = new Map<PolicyName, ArmRun>()
    const sc = loadScenario('paper')
    const plan = await buildPlan(sc, null)
    const pool = poolPlan(plan, 2048 * MiB)
    const get = async (p: PolicyName): Promise<ArmRun> => {
      if (!runs.has(p)) runs.set(p, await runCgroupArm(plan, p, {pool, sys}))
      return runs.get(p)!
    }

    it.each(['none', 'static', 'high', 'agentcgroup'] as const)('%s: the OOM kills we record are the kernel\'s own counts', async (p) => {
      const run = await get(p)
      for (const t of run.tenants) {
        expect(t.oomKills, t.name).toBe(t.kernel.oomKills)
        expect(t.end === 'oom_killed').toBe(t.kernel.oomKills > 0)
      }
      // v2 counts kills in every ancestor too; v1 only in the victim's group
      if (run.flavor === 'v2') expect(run.tenants.reduce((a, t) => a + t.oomKills, 0)).toBe(run.budgetOomKills)
      // every freeze was undone, every parked tenant counted by the kernel's eventfd
      expect(run.controller.perTenant.every((x) => x.freezeActions === 0 || x.frozenMs > 0)).toBe(true)
    })

    it('where none loses a tenant to the OOM killer, agentcgroup loses none and HIGH finishes on time', async (ctx) => {
      // the budget is tight at the LOW peaks; a replay slowed by other load may miss them
      let none = await get('none')
      for (let k = 0; k < 3 && !none.tenants.some((t) => t.end === 'oom_killed'); k++) none = await runCgroupArm(plan, 'none', {pool, sys})
      if (!none.tenants.some((t) => t.end === 'oom_killed')) ctx.skip(`none got no OOM kill in 4 runs (machine step lag p99 ${machineLag(none)} ms: the machine is too loaded)`)
      const ac = await get('agentcgroup')
      expect(ac.tenants.map((t) => t.end)).toEqual(['done', 'done', 'done'])
      const high = ac.tenants[0]
      expect(high.completionMs! / high.expectedMs).toBeLessThan(1.1)
      expect(ac.controller.throttleEvents + ac.controller.freezeEvents).toBeGreaterThan(0)
      const m = armMetrics(ac, sc.totalBytes)
      expect(m.reaction_p99_ms).not.toBeNull()
    })

    it('the simulator matches: same survivors per priority, completion times within 10 %', async (ctx) => {
      const rate = await measureAllocRate(64)
      for (const p of ['none', 'static', 'high', 'agentcgroup'] as const) {
        // the claim holds for a faithful real replay; under other load, replay again (3 tries)
        let real = await get(p)
        for (let k = 0; k < 3 && !faithful(real); k++) {
          real = await runCgroupArm(plan, p, {pool, sys})
          runs.set(p, real)
        }
        if (!faithful(real)) ctx.skip(`the machine is too loaded for a faithful replay (${p}: machine step lag p99 ${machineLag(real)} ms)`)
        const sim = simulate(plan, p, {allocMiBs: rate.hugeWarmMiBs, flavor: flavorOf(sys)!})
        const survivors = (r: ArmRun) => ({high: r.tenants.filter((t) => t.priority === 'high' && t.end === 'done').length, low: r.tenants.filter((t) => t.priority === 'low' && t.end === 'done').length})
        expect(survivors(sim), p).toEqual(survivors(real))
        for (const [i, t] of real.tenants.entries()) {
          const s = sim.tenants[i]
          if (t.completionMs === null || s.completionMs === null) continue
          expect(Math.abs(s.completionMs - t.completionMs) / t.completionMs, `${p} ${t.name}`).toBeLessThan(0.1)
        }
      }
    })

    it('writes every run into the store', async () => {
      const store = await Store.open(join(dir, 'replay.duckdb'))
      try {
        for (const p of ['none', 'agentcgroup'] as const) {
          const run = await get(p)
          await writeArm(store, run, armMetrics(run, sc.totalBytes), {plan, poolBytes: pool.warmBytes, predictedSlipS: 0, rate: null, rateMiBs: null, repeatIndex: 0, replayId: `paper/${p}/test/0`})
        }
        const rows = await store.query("SELECT policy, survivors, (SELECT count(*)::INTEGER FROM replay_allocs a WHERE a.replay_id = r.replay_id) AS allocs FROM replays r ORDER BY policy")
        const done = async (p: PolicyName) => (await get(p)).tenants.filter((t) => t.end === 'done').length
        expect(rows.map((r) => [r.policy, r.survivors])).toEqual([['agentcgroup', await done('agentcgroup')], ['none', await done('none')]])
        expect(rows.every((r) => Number(r.allocs) > 200)).toBe(true)
        const ev = await store.query("SELECT count(*)::INTEGER AS n FROM replay_events WHERE replay_id = 'paper/none/test/0' AND kind = 'oom_kill'")
        expect(ev[0].n).toBe((await get('none')).tenants.filter((t) => t.end === 'oom_killed').length)
      } finally {
        store.close()
      }
      expect(ourGroups(process.pid)).toEqual([])
      expect(frozenUnder(join(sys.freezer!.path, OUR_ROOT))).toEqual([])
    })
  })

  it('SIGINT in the middle removes every group; after a SIGKILL the next start reaps them, nothing stays frozen', async () => {
    writeFile(join(dir, 'slow.yaml'), ['total: 1G', 'speed: 1', 'policy: agentcgroup', 'warm_pool: false', 'tenants:', '  - {run: dask__dask-11628, priority: high}', '  - {run: sigmavirus24__github3.py-673, priority: low}'].join('\n'))
    const bin = join(process.cwd(), 'bin', 'run.js')
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const child = spawn(process.execPath, [bin, 'replay', '--scenario', join(dir, 'slow.yaml'), '--no-store'], {stdio: 'ignore'})
      const pid = child.pid!
      // wait until its tenants run inside its groups
      const deadline = Date.now() + 30_000
      let tenants: number[] = []
      while (Date.now() < deadline) {
        const g = ourGroups(pid).find((d) => d.includes('/memory/'))
        const t0 = g && join(g, 'budget', 't0', 'cgroup.procs')
        tenants = t0 && existsSync(t0) ? (readFileSync(t0, 'utf8').match(/\d+/g) ?? []).map(Number) : []
        if (tenants.length > 0) break
        await new Promise((r) => setTimeout(r, 50))
      }
      expect(tenants.length, 'the replay started its tenants').toBeGreaterThan(0)
      await new Promise((r) => setTimeout(r, 300))
      const exited = new Promise((r) => child.once('exit', r))
      child.kill(signal)
      await exited
      if (signal === 'SIGKILL') {
        // tenants die with their parent; the groups stay until the next start reaps them
        await new Promise((r) => setTimeout(r, 200))
        // (another agentcgroup command starting meanwhile may reap them first: that is the point)
        const {stdout} = await promisify(execFile)(process.execPath, [bin, 'replay', '--cleanup', '--json'])
        expect(Array.isArray((JSON.parse(stdout) as {cleanup: string[]}).cleanup)).toBe(true)
      }
      expect(ourGroups(pid)).toEqual([])
      for (const t of tenants) expect(existsSync(`/proc/${t}`) && !readFileSync(`/proc/${t}/stat`, 'utf8').includes(') Z')).toBe(false)
      expect(frozenUnder(join(sys.freezer!.path, OUR_ROOT)).filter((d) => d.includes(`replay-${pid}-`))).toEqual([])
    }
  })
})

describe.skipIf(canRun)('replay on real cgroups', () => {
  it.skip('skipped: needs root and a memory cgroup controller (the simulator tests run everywhere)', () => {})
})
