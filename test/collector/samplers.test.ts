/**
 * The samplers on real cgroups (cgroupfs, bpf, podman-stats where Podman is installed), and
 * the pure parts they are built from (the run clock, process rows from events, argv quoting).
 */
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {BpfEvent} from '../../bpf/index.js'
import {emptyGroup, spawnHeld} from '../../collector/record.js'
import {BpfSampler} from '../../collector/samplers/bpf.js'
import {CgroupfsSampler} from '../../collector/samplers/cgroupfs.js'
import {RunClock} from '../../collector/samplers/clock.js'
import {PodmanStatsSampler} from '../../collector/samplers/podman-stats.js'
import {formatArgv, ProcessTable} from '../../collector/samplers/processes.js'
import {memoryCgroupLevel, targetFromPaths, targetOfCgroup} from '../../collector/samplers/target.js'
import {monoNsToUs} from '../../datasets/clock.js'
import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {bpfSkipReason, buildWorkload, cgroupSkipReason, MiB} from './workload.js'

describe('run clock, process rows, argv', () => {
  it('converts CLOCK_MONOTONIC ns to UTC µs as datasets/clock.ts does, with one offset', () => {
    const clock = new RunClock({monoNs: 5_000_123_456_789n, wallNs: 1_795_000_000_123_456_789n})
    for (const mono of [5_000_123_456_789, 5_000_123_457_000, 5_100_000_000_001, 4_999_999_999_999]) {
      expect(clock.monoToUs(mono)).toBe(monoNsToUs(BigInt(mono), clock.sync))
    }
    expect(clock.offsetNs).toBe(1_795_000_000_123_456_789n - 5_000_123_456_789n)
    const real = RunClock.take()
    expect(Math.abs(real.nowUs() - Date.now() * 1000)).toBeLessThan(50_000)
  })

  it('builds one row per process: pid reuse, exit codes, peaks, the root process without a fork', () => {
    const clock = new RunClock({monoNs: 0n, wallNs: 1_000_000_000_000n})
    const t = new ProcessTable(clock)
    const base = {cgid: 42, comm: 'sh', ppid: 1, tid: 0}
    const ev = (e: Partial<BpfEvent> & {kind: BpfEvent['kind']; pid: number; tsNs: number}) => t.handle({...base, tid: e.pid, ...e} as BpfEvent)
    const exit = {hiwaterBytes: 0, maxrssBytes: 0, peakRssBytes: 0, startNs: 0, stimeNs: 1000, utimeNs: 2000}
    ev({argv: ['sh', '-c', 'x'], argvTruncated: false, kind: 'exec', pid: 10, startNs: 0, tsNs: 1000})
    ev({kind: 'fork', pid: 11, ppid: 10, startNs: 2000, tsNs: 2000})
    ev({argv: ['alloc', 'KEY=sk-ant-abcdefghijklmnopqrstuvwxyz'], argvTruncated: true, comm: 'alloc', kind: 'exec', pid: 11, ppid: 10, startNs: 2000, tsNs: 3000})
    ev({...exit, hiwaterBytes: 200 * MiB, kind: 'exit', maxrssBytes: 210 * MiB, pid: 11, ppid: 10, status: 9, tsNs: 9000})
    // pid 11 again: a new process
    ev({kind: 'fork', pid: 11, ppid: 10, startNs: 10_000, tsNs: 10_000})
    ev({...exit, kind: 'exit', maxrssBytes: 3 * MiB, pid: 11, ppid: 10, status: 3 << 8, tsNs: 11_000})
    ev({kind: 'oom', pid: 11, tsNs: 8000, anonRssBytes: 1, fileRssBytes: 0, shmemRssBytes: 0, totalVmBytes: 2, uid: 0, oomScoreAdj: 0} as Partial<BpfEvent> & {kind: 'oom'; pid: number; tsNs: number})
    const rows = t.finish(new Map([[10, 5 * MiB]]), (id) => (id === 42 ? 'agentcgroup/x' : null), 20_000)
    expect(rows.map((r) => [r.pid, r.ppid, r.comm, r.exit_code, r.peak_rss_bytes, r.end_us !== null])).toEqual([
      [10, 1, 'sh', null, 5 * MiB, false],
      [11, 10, 'alloc', -9, 200 * MiB, true],
      [11, 10, 'sh', 3, 3 * MiB, true],
    ])
    expect(rows[0].start_us).toBe(1_000_000_000 + 1)
    expect(rows[1].argv).toBe('alloc KEY=[REDACTED:anthropic-key] …')
    expect(rows[1].cpu_usec).toBe(3)
    expect(rows[1].cgroup).toBe('agentcgroup/x')
    expect(JSON.parse(t.events.find((e) => e.kind === 'oom_kill')!.detail!)).toMatchObject({cgroup: 'agentcgroup/x', pid: 11})
    expect(formatArgv(['echo', "it's", 'a b', '--x=1'], false)).toBe(`echo 'it'\\''s' 'a b' --x=1`)
  })
})

describe.skipIf(cgroupSkipReason !== null)('samplers on real cgroups', () => {
  const sys = detectCgroupSystem()
  const made: Cgroup[] = []
  let workload: {bin: string; cleanup: () => void}
  beforeAll(() => {
    workload = buildWorkload()
  })
  afterAll(() => {
    for (const cg of made.reverse()) cg.remove()
    workload?.cleanup()
  })
  const group = () => {
    const cg = Cgroup.create(sys, `${OUR_ROOT}/${ownedName('test')}`)
    made.push(cg)
    return cg
  }

  it('a target from paths is the target of the Cgroup, and knows its depth', () => {
    const cg = group()
    const t = targetOfCgroup(cg)
    const fromPaths = targetFromPaths({cpuacctDir: t.cpuacctDir, memoryDir: t.memoryDir, memoryMount: t.memoryMount, unifiedDir: t.unifiedDir, version: t.version})
    expect(fromPaths).toEqual({...t, container: undefined})
    expect(memoryCgroupLevel(t)).toBe(2)
    expect(memoryCgroupLevel(t, `30 23 0:31 /sub/tree ${t.memoryMount} rw - cgroup cgroup rw,memory\n`)).toBe(4)
    expect(() => targetFromPaths({memoryDir: '/tmp', memoryMount: t.memoryMount, version: 'v1'})).toThrow(/not below/)
  })

  it('cgroupfs: memory rises and falls with the allocation, CPU % is instantaneous, one clock', async () => {
    const cg = group()
    const sampler = new CgroupfsSampler()
    await sampler.start(targetOfCgroup(cg), {intervalMs: 20})
    const held = spawnHeld([workload.bin, 'alloc', '96', '400', '300'], 'ignore')
    cg.addProcess(held.child.pid!)
    held.go()
    await held.exited
    const r = await sampler.stop()
    const mem = r.samples.map((s) => s.mem_bytes ?? 0)
    const peakAt = mem.indexOf(Math.max(...mem))
    expect(mem[peakAt]).toBeGreaterThanOrEqual(96 * MiB)
    expect(mem[peakAt]).toBeLessThan(100 * MiB)
    expect(mem[0]).toBeLessThan(8 * MiB)
    expect(Math.min(...mem.slice(peakAt))).toBeLessThan(8 * MiB)
    expect(r.samples[peakAt].mem_anon_bytes).toBeGreaterThanOrEqual(96 * MiB)
    expect(r.samples.every((s) => s.source === 'cgroupfs')).toBe(true)
    // 20 ms apart at the median, even on a busy machine
    expect(r.info.intervalMs).toBeGreaterThanOrEqual(18)
    expect(r.info.intervalMs).toBeLessThan(60)
    expect(r.samples[0].cpu_pct).toBeNull()
    expect(r.samples.slice(1).every((s) => s.cpu_pct_kind === 'instant' && (s.cpu_pct ?? -1) >= 0)).toBe(true)
    expect(Math.max(...r.samples.map((s) => s.cpu_pct ?? 0))).toBeGreaterThan(20)
    expect(r.samples.at(-1)!.cpu_usec).toBeGreaterThan(0)
    const times = r.samples.map((s) => s.t_us)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    expect(Math.abs(times[0] - Date.now() * 1000)).toBeLessThan(30e6)
    expect(r.info.overheadCpuPct).toBeGreaterThan(0)
  })

  it.skipIf(bpfSkipReason !== null)('bpf: processes with exit codes and peaks, counters on the same clock, cost measured', async () => {
    const cg = group()
    const sampler = new BpfSampler()
    await sampler.start(targetOfCgroup(cg), {intervalMs: 50})
    const held = spawnHeld(['sh', '-c', `${workload.bin} alloc 64 200 100; sleep 30 & exit 4`], 'ignore')
    cg.addProcess(held.child.pid!)
    held.go()
    const {code} = await held.exited
    expect(code).toBe(4)
    // the background sleep is still there: stopping the group records its end too
    await emptyGroup(cg)
    const r = await sampler.stop()
    expect(r.info.sampler).toBe('bpf+cgroupfs')
    expect(r.info.ringbufDrops).toBe(0)
    expect(r.info.bpfRunTimeNs).toBeGreaterThan(0)
    expect(r.info.programs.every((p) => p.ok)).toBe(true)
    const byComm = new Map(r.processes.map((p) => [p.comm, p]))
    expect(byComm.get('sh')).toMatchObject({exit_code: 4, pid: held.child.pid, ppid: process.pid})
    expect(byComm.get('sleep')).toMatchObject({exit_code: -9, ppid: held.child.pid})
    const alloc = byComm.get('sampler-workloa')!
    expect(alloc.argv).toBe(`${workload.bin} alloc 64 200 100`)
    expect(alloc.peak_rss_bytes! / (64 * MiB)).toBeGreaterThan(0.99)
    expect(alloc.peak_rss_bytes! / (64 * MiB)).toBeLessThan(1.03)
    expect(alloc.cgroup).toBe(cg.rel)
    // the process ran while the counters saw its memory: same clock
    const during = r.samples.filter((s) => s.t_us >= alloc.start_us! && s.t_us <= alloc.end_us!)
    expect(Math.max(...during.map((s) => s.mem_bytes ?? 0))).toBeGreaterThan(60 * MiB)
    expect(r.events.filter((e) => e.kind === 'rss_peak').length).toBeGreaterThanOrEqual(7)
  })

  it('podman-stats needs a container, and samples one where Podman is installed', async () => {
    const cg = group()
    await expect(new PodmanStatsSampler().start(targetOfCgroup(cg), {intervalMs: 1000})).rejects.toThrow(/Podman container/)
    if (spawnSync('sh', ['-c', 'command -v podman']).status !== 0) return
    const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-podman-'))
    const podmanArgs = ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot')]
    try {
      mkdirSync(join(dir, 'rootfs'))
      copyFileSync(workload.bin, join(dir, 'rootfs', 'workload'))
      execFileSync('sh', ['-c', `chmod 755 '${dir}/rootfs/workload' && tar -C '${dir}/rootfs' -cf '${dir}/rootfs.tar' .`])
      execFileSync('podman', [...podmanArgs, 'import', '-q', join(dir, 'rootfs.tar'), 'localhost/agentcgroup-test:latest'], {stdio: 'ignore'})
      const id = execFileSync('podman', [...podmanArgs, 'run', '-d', '--network', 'none', '--cgroup-parent', `/${cg.rel}`, 'localhost/agentcgroup-test:latest', '/workload', 'alloc', '48', '2500', '0'], {encoding: 'utf8'}).trim()
      const sampler = new PodmanStatsSampler()
      const t = targetOfCgroup(cg, id)
      await sampler.start(t, {intervalMs: 500, podmanArgs})
      // not execFileSync: the sampler's timer must keep running while we wait
      await promisify(execFile)('podman', [...podmanArgs, 'wait', id])
      const r = await sampler.stop()
      execFileSync('podman', [...podmanArgs, 'rm', '-f', id], {stdio: 'ignore'})
      expect(r.samples.length).toBeGreaterThanOrEqual(2)
      expect(Math.max(...r.samples.map((s) => s.mem_bytes ?? 0))).toBeGreaterThan(40e6)
      expect(r.samples.every((s) => s.source === 'podman-stats')).toBe(true)
      expect(r.samples.filter((s) => s.cpu_pct !== null).every((s) => s.cpu_pct_kind === 'lifetime_avg')).toBe(true)
      // a podman process per sample: the cost the paper paid
      expect(r.info.ownCpuUsec).toBeGreaterThan(r.samples.length * 5_000)
    } finally {
      spawnSync('podman', [...podmanArgs, 'rm', '-af'], {stdio: 'ignore'})
      // not `system reset`: it would remove the machine's networks too, not only this private store
    spawnSync('podman', [...podmanArgs, 'rm', '-af'], {stdio: 'ignore'})
    spawnSync('podman', [...podmanArgs, 'rmi', '-af'], {stdio: 'ignore'})
      rmSync(dir, {force: true, recursive: true})
    }
  })
})

describe.skipIf(cgroupSkipReason === null)('samplers on real cgroups', () => {
  it.skip(`skipped: ${cgroupSkipReason}`, () => {})
})
