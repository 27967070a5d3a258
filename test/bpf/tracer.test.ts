/**
 * The BPF addon on this machine's kernel: programs load (each on its own), refusals are named,
 * events of the target cgroup subtree (and only those) arrive with the right fields, and the
 * ring buffer keeps up. Needs root and BTF (CI has both); skips saying why elsewhere.
 */
import {spawn} from 'node:child_process'
import {chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {argvOf, type BpfEvent, BpfTracer, clockSync, exitCodeOf, loadNative, probePrograms, type ProcEvent, type SampleEvent} from '../../bpf/index.js'
import {spawnHeld} from '../../collector/record.js'
import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {bpfSkipReason, buildWorkload} from '../collector/workload.js'

const OUR_PROGRAMS = ['handle_exec', 'handle_fork', 'handle_exit', 'handle_rss_stat', 'handle_mark_victim', 'handle_reclaim_begin', 'handle_reclaim_end']

describe.skipIf(bpfSkipReason !== null)('BPF programs on this kernel', () => {
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
  const level = (cg: Cgroup) => cg.rel.split('/').length

  it('describes events.h with the compiler\'s offsets', () => {
    const L = loadNative().layout()
    expect(L.hdr.size).toBe(48)
    for (const k of ['proc', 'rss', 'oom', 'reclaim', 'loadgen', 'sample'] as const) expect(L[k].size % 8).toBe(0)
    expect(L.proc.argv + L.argvMax).toBe(L.proc.size)
    expect(L.sample.values + 8 * L.maxCounters).toBe(L.sample.size)
    expect(new Set(Object.values(L.kinds)).size).toBe(6)
    expect(new Set(Object.values(L.procFlags)).size).toBe(6)
  })

  it('loads each program on its own; a refused one is named and the others of its object still load', () => {
    const all = probePrograms()
    expect(all.programs.map((p) => p.name).sort()).toEqual([...OUR_PROGRAMS].sort())
    // tp_btf programs are what this kernel allows (fentry, LSM and kprobes are refused here)
    expect(all.programs.filter((p) => !p.ok)).toEqual([])
    expect(all.types.find((t) => t.name === 'probe_tp_btf')?.ok).toBe(true)
    for (const t of all.types.filter((x) => !x.ok)) expect(t.error).toMatch(/\S/)
    expect(all.ringbuf.ok).toBe(true)

    const native = loadNative()
    const partial = native.probe({simulateRefused: ['handle_fork']})
    const fork = partial.programs.find((p) => p.name === 'handle_fork')!
    expect(fork).toMatchObject({ok: false, stage: 'load'})
    // the kernel's own words, not ours: the verifier refuses a sleepable tracepoint program
    expect(fork.error).toMatch(/sleepable/)
    expect(partial.programs.filter((p) => p.object === 'proc' && p.ok).map((p) => p.name).sort()).toEqual(['handle_exec', 'handle_exit'])
  })

  it('sends one record per process of the subtree only, with argv, parents, exit codes and peak RSS', async () => {
    const cg = group()
    const child = cg.child('sub')
    made.push(child)
    const events: BpfEvent[] = []
    const sync = clockSync()
    const tracer = BpfTracer.start({
      cgroupId: cg.memoryCgroupId(),
      hierarchy: cg.version,
      level: level(cg),
      objects: ['proc', 'rss', 'oom', 'reclaim'],
      onEvent: (e) => events.push(e),
    })
    expect(tracer.refused).toEqual([])
    const script = [
      '/bin/true "a b" c',
      '(exit 7)',
      'sh -c \'kill -TERM $$\'',
      `${workload.bin} alloc 32 50 0`,
      // a grandchild group: below the target, still ours to report
      `sh -c 'echo $$ > ${child.dir('memory')}/cgroup.procs; exec /bin/echo in-child-group' > /dev/null`,
    ].join('; ')
    const held = spawnHeld(['sh', '-c', script], 'ignore')
    cg.addProcess(held.child.pid!)
    // a process outside the group at the same time: must not be reported
    const outside = spawn('/bin/true', ['outside-the-group'])
    held.go()
    await Promise.all([held.exited, new Promise((r) => outside.once('exit', r))])
    await tracer.stop()

    const procs = events.filter((e): e is ProcEvent => e.kind === 'proc')
    // one record per process: no pid twice (none was reused in this short run)
    expect(new Set(procs.map((p) => p.pid)).size).toBe(procs.length)
    expect(procs.some((e) => e.argvRaw.includes('outside-the-group'))).toBe(false)
    const root = procs.find((e) => e.pid === held.child.pid)!
    // forked outside, moved in, then exec'd: seen from its exec
    expect(root).toMatchObject({execed: true, exited: true, forked: false})
    expect(argvOf(root.argvRaw)).toEqual(['sh', '-c', script])
    expect(root.ppid).toBe(process.pid)
    expect(exitCodeOf(root.status)).toBe(0)
    const tru = procs.find((e) => argvOf(e.argvRaw)[0] === '/bin/true')!
    expect(argvOf(tru.argvRaw)).toEqual(['/bin/true', 'a b', 'c'])
    expect(tru).toMatchObject({comm: 'true', execed: true, exited: true, forked: true, ppid: held.child.pid})
    expect(tru.startNs).toBeLessThanOrEqual(tru.execNs)
    expect(tru.execNs).toBeLessThanOrEqual(tru.tsNs)

    // the subshell `(exit 7)` forks and never execs: its parent's comm, no argv
    const forkedOnly = procs.filter((e) => e.forked && !e.execed)
    expect(forkedOnly.length).toBeGreaterThanOrEqual(1)
    for (const f of forkedOnly) expect(f).toMatchObject({argvRaw: '', comm: 'sh', ppid: held.child.pid})
    const codes = procs.map((e) => exitCodeOf(e.status))
    expect(codes).toContain(7)
    expect(codes).toContain(-15)
    expect(procs.every((e) => e.exited)).toBe(true)

    const alloc = procs.find((e) => argvOf(e.argvRaw)[1] === 'alloc')!
    expect(alloc.hiwaterBytes).toBeGreaterThanOrEqual(32 * 1024 * 1024)
    expect(alloc.hiwaterBytes).toBeLessThan(34 * 1024 * 1024)
    // rss_stat (loaded here on purpose) saw the same peak
    expect(alloc.peakRssBytes).toBeGreaterThan(30 * 1024 * 1024)
    const rss = events.filter((e) => e.kind === 'rss' && e.pid === alloc.pid)
    expect(rss.length).toBeGreaterThanOrEqual(3) // 8 MiB steps up to 32 MiB

    const inChild = procs.find((e) => argvOf(e.argvRaw)[0] === '/bin/echo')!
    expect(inChild.cgid).toBe(child.memoryCgroupId())
    expect(inChild.cgid).not.toBe(cg.memoryCgroupId())

    // one clock: event times are CLOCK_MONOTONIC, after the sync point, in order of happening
    expect(root.execNs).toBeGreaterThan(Number(sync.monoNs))
    expect(tru.tsNs).toBeGreaterThan(root.execNs)
    expect(root.tsNs).toBeGreaterThan(tru.tsNs)
    expect(Number(sync.wallNs) / 1e6).toBeGreaterThan(Date.now() - 60_000)
  })

  it('reads the processes still alive from the kernel map at the end, with their peak so far', async () => {
    const cg = group()
    const events: BpfEvent[] = []
    const held = spawnHeld(['sh', '-c', `${workload.bin} alloc 24 60000 0 & sleep 60`], 'ignore')
    cg.addProcess(held.child.pid!)
    const tracer = BpfTracer.start({cgroupId: cg.memoryCgroupId(), hierarchy: cg.version, level: level(cg), onEvent: (e) => events.push(e)})
    held.go()
    // the allocator has touched its 24 MiB when its group's usage passes it
    const usage = () => Number(readFileSync(`${cg.dir('memory')}/memory.usage_in_bytes`, 'utf8'))
    for (let i = 0; i < 100 && usage() < 24 * 1024 * 1024; i++) await new Promise((r) => setTimeout(r, 50))
    await tracer.stop()
    cg.killAll()
    await held.exited
    const procs = events.filter((e): e is ProcEvent => e.kind === 'proc')
    const alloc = procs.find((e) => argvOf(e.argvRaw)[1] === 'alloc')!
    expect(alloc).toMatchObject({exited: false, tsNs: 0})
    expect(alloc.hiwaterBytes).toBeGreaterThanOrEqual(24 * 1024 * 1024)
    expect(procs.find((e) => e.comm === 'sleep')).toMatchObject({exited: false})
  })

  it('samples the counter files in the addon thread, on the BPF clock', async () => {
    const cg = group()
    const events: BpfEvent[] = []
    const mem = cg.dir('memory')
    const t0 = Number(clockSync().monoNs)
    const tracer = BpfTracer.start({
      cgroupId: cg.memoryCgroupId(),
      counters: [
        {key: '', path: `${mem}/memory.usage_in_bytes`},
        {key: 'total_rss', path: `${mem}/memory.stat`},
        {key: 'no_such_key', path: `${mem}/memory.stat`},
        {key: '', path: `${mem}/no-such-file`},
      ],
      deliverMs: 1000,
      hierarchy: cg.version,
      level: level(cg),
      onEvent: (e) => events.push(e),
      sampleMs: 20,
    })
    await new Promise((r) => setTimeout(r, 300))
    await tracer.stop()
    const samples = events.filter((e): e is SampleEvent => e.kind === 'sample')
    // one at start, one per 20 ms tick, one at stop
    expect(samples.length).toBeGreaterThanOrEqual(10)
    expect(samples.length).toBeLessThanOrEqual(20)
    for (const s of samples) {
      expect(s.tsNs).toBeGreaterThan(t0)
      expect(s.values[0]).toBeTypeOf('number')
      expect(s.values[1]).toBeTypeOf('number')
      expect(s.values.slice(2)).toEqual([null, null])
    }
    const gaps = samples.slice(2, -1).map((s, i) => (s.tsNs - samples[i + 1].tsNs) / 1e6)
    for (const g of gaps) expect(g).toBeGreaterThan(10)
  })

  it('marks tool calls in the kernel: a shell the agent\'s child execs is a call root, its descendants carry it', async () => {
    const cg = group()
    const events: BpfEvent[] = []
    // an "agent" whose comm is fakeagent (comm is the exec'd path's last component)
    const dir = mkdtempSync(join(tmpdir(), 'agentcgroup-agent-'))
    copyFileSync('/bin/bash', join(dir, 'fakeagent'))
    chmodSync(join(dir, 'fakeagent'), 0o755)
    const agentScript = [
      // a tool call: a shell the agent runs, with a child and a grandchild
      `bash -c '/bin/true first; sh -c "/bin/true nested"; exit 3'`,
      // not a call: the agent runs a non-shell program directly
      '/bin/true direct',
      `bash -c '/bin/echo second'`,
      // a builtin last: bash would exec a lone last command in place of the agent
      ':',
    ].join('; ')
    const held = spawnHeld([join(dir, 'fakeagent'), '-c', agentScript], 'ignore')
    cg.addProcess(held.child.pid!)
    const tracer = BpfTracer.start({
      agentComms: ['fakeagent'],
      callComms: ['bash', 'sh'],
      cgroupId: cg.memoryCgroupId(),
      hierarchy: cg.version,
      level: level(cg),
      onEvent: (e) => events.push(e),
    })
    held.go()
    await held.exited
    await tracer.stop()
    rmSync(dir, {force: true, recursive: true})
    const procs = events.filter((e): e is ProcEvent => e.kind === 'proc')
    const agent = procs.find((e) => e.pid === held.child.pid)!
    expect(agent).toMatchObject({agent: true, callRoot: 0, comm: 'fakeagent'})
    const roots = procs.filter((e) => e.callRoot !== 0 && e.callRoot === e.pid)
    expect(roots.length).toBe(2)
    for (const r of roots) expect(r.ppid).toBe(agent.pid)
    const [first, second] = roots.sort((a, b) => a.startNs - b.startNs)
    expect(exitCodeOf(first.status)).toBe(3)
    const under = (root: ProcEvent) => procs.filter((e) => e.callRoot === root.pid && e.pid !== root.pid).map((e) => argvOf(e.argvRaw).join(' '))
    expect(under(first)).toEqual(expect.arrayContaining(['/bin/true first', 'sh -c /bin/true nested', '/bin/true nested']))
    // bash runs a lone last command in place: the root itself becomes /bin/echo
    expect(argvOf(second.argvRaw)[0]).toBe('/bin/echo')
    const direct = procs.find((e) => argvOf(e.argvRaw).join(' ') === '/bin/true direct')!
    expect(direct.callRoot).toBe(0)
    // the nested sh is inside a call: not a root of its own
    expect(procs.find((e) => argvOf(e.argvRaw).join(' ') === 'sh -c /bin/true nested')!.callRoot).toBe(first.pid)
  })

  it('carries 50k events a second without a drop', async () => {
    const cg = group()
    const held = spawnHeld([workload.bin, 'syscalls', '1', '50000'], 'pipe')
    let out = ''
    held.child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    cg.addProcess(held.child.pid!)
    let received = 0
    const tracer = BpfTracer.start({
      cgroupId: cg.memoryCgroupId(),
      hierarchy: cg.version,
      level: level(cg),
      loadgen: {syscallNr: 110, tgid: held.child.pid!},
      objects: ['loadgen'],
      onEvent: (e) => {
        if (e.kind === 'loadgen') received++
      },
    })
    held.go()
    await held.exited
    const stats = await tracer.stop()
    const generated = (JSON.parse(out) as {calls: number; syscall_nr: number}).calls
    expect(generated).toBeGreaterThan(20_000) // fewer on a busy machine; what counts is below
    expect(received).toBe(generated)
    expect(Number(stats.drops)).toBe(0)
    expect(Number(stats.records)).toBe(received)
  })
})

describe.skipIf(bpfSkipReason === null)('BPF programs on this kernel', () => {
  it.skip(`skipped: ${bpfSkipReason}`, () => {})
})

describe.skipIf(bpfSkipReason !== null)('doctor on this machine', () => {
  it('probes each program type and each program, and names a refused one with what it disables', async () => {
    const {detectFeatures} = await import('../../kernel/features.js')
    process.env.AGENTCGROUP_BPF_REFUSE = 'handle_mark_victim'
    try {
      const r = await detectFeatures()
      const names = r.items.map((i) => i.name)
      for (const p of OUR_PROGRAMS) expect(names).toContain(`bpf:${p}`)
      expect(names).toEqual(expect.arrayContaining(['bpf-addon', 'bpf:ringbuf', 'bpf-type:tp_btf', 'bpf-type:raw_tp', 'bpf-type:fentry', 'bpf-type:kprobe', 'bpf-type:lsm']))
      const refused = r.items.find((i) => i.name === 'bpf:handle_mark_victim')!
      expect(refused).toMatchObject({ok: false, disables: expect.stringMatching(/OOM victims/)})
      expect(refused.detail).toMatch(/^oom\.bpf\.c refused at load: .*\[refusal simulated\]$/)
      expect(r.items.find((i) => i.name === 'bpf:handle_exec')?.ok).toBe(true)
    } finally {
      delete process.env.AGENTCGROUP_BPF_REFUSE
    }
  })
})
