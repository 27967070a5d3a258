/**
 * The samplers on real cgroups (cgroupfs, bpf, podman-stats where Podman is installed), and
 * the pure parts they are built from (the run clock, process rows from events, argv quoting).
 */
import {execFile, execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ProcEvent} from '../../bpf/index.js'
import {emptyGroup, spawnHeld} from '../../collector/record.js'
import {BpfSampler} from '../../collector/samplers/bpf.js'
import {CgroupfsSampler, parseCounter, SampleBuilder} from '../../collector/samplers/cgroupfs.js'
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

  it('builds one row per process record: pid reuse, exit codes, peaks, the root process, the living', () => {
    const clock = new RunClock({monoNs: 0n, wallNs: 1_000_000_000_000n})
    const t = new ProcessTable(clock)
    const proc = (e: Partial<ProcEvent> & {pid: number}) =>
      t.handle({
        agent: false, argvRaw: '', argvTruncated: false, callRoot: 0, cgid: 42, comm: 'sh', execNs: 0, execed: false, exited: true, forked: true,
        hiwaterBytes: 0, kind: 'proc', maxrssBytes: 0, peakRssBytes: 0, ppid: 1, startNs: 0, status: 0, stimeNs: 1000, tid: e.pid, tsNs: 0, utimeNs: 2000, ...e,
      })
    // the recorded command: forked outside, exec'd in the group, still alive at the end (VmHWM)
    proc({argvRaw: 'sh\0-c\0x\0', execNs: 1000, execed: true, exited: false, forked: false, hiwaterBytes: 5 * MiB, pid: 10, startNs: 500})
    proc({argvRaw: 'alloc\0KEY=sk-ant-abcdefghijklmnopqrstuvwxyz\0', argvTruncated: true, callRoot: 11, comm: 'alloc', execNs: 3000, execed: true, hiwaterBytes: 200 * MiB, maxrssBytes: 210 * MiB, pid: 11, ppid: 10, startNs: 2000, status: 9, tsNs: 9000})
    // pid 11 again: a new process that never exec'd, its peak from maxrss
    proc({maxrssBytes: 3 * MiB, pid: 11, ppid: 10, startNs: 10_000, status: 3 << 8, tsNs: 11_000})
    t.handle({anonRssBytes: 1, cgid: 42, comm: 'alloc', fileRssBytes: 0, kind: 'oom', oomScoreAdj: 0, pid: 11, ppid: 10, shmemRssBytes: 0, tid: 11, totalVmBytes: 2, tsNs: 8000, uid: 0})
    const rows = t.finish((id) => (id === 42 ? 'agentcgroup/x' : null), 20_000)
    expect(rows.map((r) => [r.pid, r.ppid, r.comm, r.exit_code, r.peak_rss_bytes, r.end_us !== null, r.call_root])).toEqual([
      [10, 1, 'sh', null, 5 * MiB, false, null],
      [11, 10, 'alloc', -9, 200 * MiB, true, 11],
      [11, 10, 'sh', 3, 3 * MiB, true, null],
    ])
    // not forked in the group: it starts at its exec
    expect(rows[0].start_us).toBe(1_000_000_000 + 1)
    expect(rows[0].argv).toBe('sh -c x')
    expect(rows[0].cpu_usec).toBe(null)
    expect(rows[1].start_us).toBe(1_000_000_000 + 2)
    expect(rows[1].argv).toBe('alloc KEY=[REDACTED:anthropic-key] …')
    expect(rows[1].cpu_usec).toBe(3)
    expect(rows[1].cgroup).toBe('agentcgroup/x')
    expect(rows[2].argv).toBe(null)
    expect(JSON.parse(t.events.find((e) => e.kind === 'oom_kill')!.detail!)).toMatchObject({cgroup: 'agentcgroup/x', pid: 11})
    expect(formatArgv(['echo', "it's", 'a b', '--x=1'], false)).toBe(`echo 'it'\\''s' 'a b' --x=1`)
  })

  it('parses counter files by the rules the addon\'s thread also follows', () => {
    const stat = 'cache 10\nrss 20\ntotal_cache 30\ntotal_rss 40\n'
    expect(parseCounter('123\n', '')).toBe(123)
    expect(parseCounter('max\n', '')).toBe(null)
    expect(parseCounter(stat, 'total_rss')).toBe(40)
    expect(parseCounter(stat, 'rss')).toBe(20)
    expect(parseCounter(stat, 'total_swap')).toBe(null)
    const psi = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=8653683\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=14089\n'
    expect(parseCounter(psi, 'some:total')).toBe(8653683)
    expect(parseCounter(psi, 'full:total')).toBe(14089)
    expect(parseCounter(psi, 'full:avg10')).toBe(0)
    expect(parseCounter(null, '')).toBe(null)
    // the same probes of one file are read once, in order
    const b = new SampleBuilder([{field: 'usage', key: '', path: 'u'}, {divisor: 1000, field: 'cpu', key: '', path: 'c'}, {field: 'oom_kills', key: 'oom_kill', path: 'o'}, {field: 'limit', key: '', path: 'l'}], 'cgroupfs', true)
    b.add(1_000_000, [100, 5_000_000, 0, 2 ** 63 - 4096])
    b.add(1_100_000, [null, 5_050_000, 0, 1000])
    b.add(1_200_000, [300, 105_000_000, 2, 1000])
    // the middle reading had no usage (the group was gone for a moment): dropped
    expect(b.samples.map((x) => [x.mem_bytes, x.cpu_usec, x.cpu_pct, x.mem_limit_bytes])).toEqual([
      [100, 5000, null, null],
      [300, 105_000, 50, 1000],
    ])
    expect(b.events).toEqual([{detail: JSON.stringify({count: 2, source: 'cgroupfs'}), kind: 'oom_kill', t_us: 1_200_000}])
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
    // rss_stat is opt-in (it runs on every page fault of the machine): on here
    await sampler.start(targetOfCgroup(cg), {intervalMs: 50, rssEvents: true})
    const held = spawnHeld(['sh', '-c', `${workload.bin} alloc 64 200 100; sleep 30 & exit 4`], 'ignore')
    cg.addProcess(held.child.pid!)
    held.go()
    const {code} = await held.exited
    expect(code).toBe(4)
    // the background sleep is still there: stopping the group records its end too (once it has
    // exec'd: killed earlier, it would be a forked sh that never ran sleep)
    const comm = (pid: number) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      } catch {
        return ''
      }
    }
    for (let i = 0; i < 200 && !cg.pids().some((pid) => comm(pid) === 'sleep'); i++) await new Promise((res) => setTimeout(res, 10))
    await emptyGroup(cg)
    const r = await sampler.stop()
    expect(r.info.sampler).toBe('bpf+cgroupfs')
    expect(r.info.ringbufDrops).toBe(0)
    expect(r.info.bpfRunTimeNs).toBeGreaterThan(0)
    expect(r.info.programs.every((p) => p.ok)).toBe(true)
    expect(r.info.programs.map((p) => p.name)).toContain('handle_rss_stat')
    // counters come from the addon's thread at the interval
    expect(r.info.intervalMs).toBeGreaterThan(45)
    expect(r.info.intervalMs).toBeLessThan(55)
    const byComm = new Map(r.processes.map((p) => [p.comm, p]))
    expect(r.processes.find((p) => p.pid === held.child.pid)).toMatchObject({exit_code: 4, pid: held.child.pid, ppid: process.pid})
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
