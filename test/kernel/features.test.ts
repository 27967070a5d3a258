import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {layoutOf, parseCgroupMounts, unescapeMountField} from '../../kernel/cgroup-layout.js'
import {type FeatureReport, btfHasName, detectFeatures, kernelAtLeast} from '../../kernel/features.js'

const roots: string[] = []
afterAll(async () => {
  for (const r of roots) await rm(r, {recursive: true, force: true})
})

/** A fake filesystem root: files given by absolute path inside it. */
async function fakeRoot(files: Record<string, string | Buffer>, dirs: string[] = []): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'agentcgroup-features-'))
  roots.push(root)
  for (const d of dirs) await mkdir(path.join(root, d), {recursive: true})
  for (const [p, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, p)), {recursive: true})
    await writeFile(path.join(root, p), content)
  }
  return root
}

const HYBRID_MOUNTS = `proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
`

const V2_MOUNTS = `proc /proc proc rw 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0
`

const item = (r: FeatureReport, name: string) => {
  const found = r.items.find((i) => i.name === name)
  if (!found) throw new Error(`no item ${name}`)
  return found
}

// An empty PATH and a fake root: no tool is found, nothing real is run.
const isolated = {path: '', uid: 1000}

describe('detectFeatures on a fake root', () => {
  it('hybrid layout: v1 memory, cpu+cpuacct, freezer; cgroup2 without memory', async () => {
    const btf = Buffer.concat([Buffer.from([0x9f, 0xeb, 1, 0]), Buffer.from('\0task_struct\0mem_cgroup\0bpf_struct_ops_x\0')])
    const root = await fakeRoot({
      '/proc/sys/kernel/osrelease': '6.18.44-test\n',
      '/proc/self/mounts': HYBRID_MOUNTS,
      '/sys/fs/cgroup/unified/cgroup.controllers': 'hugetlb\n',
      '/sys/kernel/btf/vmlinux': btf,
      '/proc/pressure/memory': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      '/usr/include/bpf/libbpf.h': '/* libbpf */\n',
      '/usr/lib/x86_64-linux-gnu/libbpf.so.1.1.2': '',
      '/usr/lib/x86_64-linux-gnu/libbpf.so': '',
    })
    const r = await detectFeatures({root, ...isolated})

    expect(r.kernel).toBe('6.18.44-test')
    expect(r.cgroup.layout).toBe('hybrid')
    expect(r.cgroup.v2Mount).toBe('/sys/fs/cgroup/unified')
    expect(r.cgroup.controllers).toEqual({
      memory: {version: 'v1', path: '/sys/fs/cgroup/memory'},
      cpu: {version: 'v1', path: '/sys/fs/cgroup/cpu,cpuacct'},
      cpuacct: {version: 'v1', path: '/sys/fs/cgroup/cpu,cpuacct'},
      freezer: {version: 'v1', path: '/sys/fs/cgroup/freezer'},
      pids: null,
    })
    expect(item(r, 'memory').ok).toBe(true)
    expect(item(r, 'memory').disables).toBeUndefined()
    expect(item(r, 'cgroup-v2')).toMatchObject({ok: false, detail: expect.stringContaining('without the memory controller')})
    expect(item(r, 'pids')).toMatchObject({ok: false, disables: expect.any(String)})
    expect(item(r, 'btf').ok).toBe(true)
    expect(item(r, 'psi')).toMatchObject({ok: true, detail: expect.stringContaining('some avg10=0.00')})
    expect(item(r, 'sched_ext')).toMatchObject({ok: false, disables: 'in-kernel policies; the user-space controller does the job'})
    expect(item(r, 'memcg_bpf_ops')).toMatchObject({ok: false, disables: 'in-kernel policies; the user-space controller does the job'})
    expect(item(r, 'libbpf')).toMatchObject({ok: true, detail: expect.stringContaining('/usr/lib/x86_64-linux-gnu/libbpf.so.1.1.2')})
    expect(item(r, 'podman')).toMatchObject({ok: false, disables: 'podman runtime (run-benchmark falls back to --runtime local)'})
    expect(item(r, 'chromium')).toMatchObject({ok: false, disables: 'report browser tests'})
    expect(item(r, 'root')).toMatchObject({ok: false, detail: 'running as uid 1000'})
    expect(r.missing).toBe(r.items.filter((i) => !i.ok).length)
    for (const i of r.items) expect(i.ok ? i.disables === undefined : typeof i.disables === 'string' && i.disables.length > 0).toBe(true)
  })

  it('pure v2 with cpu memory pids; sched_ext and memcg_bpf_ops present; tools found under root', async () => {
    const root = await fakeRoot(
      {
        '/proc/sys/kernel/osrelease': '6.12.0\n',
        '/proc/self/mounts': V2_MOUNTS,
        '/sys/fs/cgroup/cgroup.controllers': 'cpu memory pids\n',
        '/sys/fs/cgroup/cpu.stat': 'usage_usec 1\n',
        '/sys/kernel/btf/vmlinux': Buffer.from('\0\0memcg_bpf_ops\0mem_cgroup\0'),
        '/proc/pressure/memory': 'some avg10=1.00 avg60=0.00 avg300=0.00 total=5\n',
        '/usr/lib64/libbpf.so.1': '',
        '/opt/bin/podman': '#!/bin/sh\necho "podman version 9.9.9"\n',
        '/usr/bin/chromium': '#!/bin/sh\necho "Chromium 1.2.3"\n',
      },
      ['/sys/kernel/sched_ext'],
    )
    await chmod(path.join(root, '/opt/bin/podman'), 0o755)
    await chmod(path.join(root, '/usr/bin/chromium'), 0o755)
    const r = await detectFeatures({root, path: '/opt/bin', uid: 0})

    expect(r.cgroup.layout).toBe('v2')
    expect(r.cgroup.v2Mount).toBe('/sys/fs/cgroup')
    const v2 = {version: 'v2', path: '/sys/fs/cgroup'}
    // cpuacct (cpu.stat) and freezer (cgroup.freeze) are core in v2, not listed controllers.
    expect(r.cgroup.controllers).toEqual({memory: v2, cpu: v2, cpuacct: v2, freezer: v2, pids: v2})
    expect(item(r, 'cgroup-v2')).toMatchObject({ok: true})
    expect(item(r, 'sched_ext').ok).toBe(true)
    expect(item(r, 'memcg_bpf_ops')).toMatchObject({ok: true, detail: 'BTF type memcg_bpf_ops'})
    // A library without the header is not enough to build the addon.
    expect(item(r, 'libbpf')).toMatchObject({ok: false, detail: expect.stringContaining('libbpf.h missing')})
    expect(item(r, 'podman')).toMatchObject({ok: true, detail: '/opt/bin/podman: podman version 9.9.9'})
    // chromium is also looked for in /usr/bin, off PATH
    expect(item(r, 'chromium')).toMatchObject({ok: true, detail: '/usr/bin/chromium: Chromium 1.2.3'})
    expect(item(r, 'root').ok).toBe(true)
  })

  it('no BTF, no PSI, no cgroups: every missing piece says what it disables', async () => {
    const root = await fakeRoot({
      '/proc/sys/kernel/osrelease': '4.19.0\n',
      '/proc/self/mounts': 'proc /proc proc rw 0 0\n',
    })
    const r = await detectFeatures({root, ...isolated})

    expect(r.cgroup.layout).toBe('none')
    expect(r.cgroup.v2Mount).toBeNull()
    expect(Object.values(r.cgroup.controllers).every((c) => c === null)).toBe(true)
    expect(item(r, 'btf')).toMatchObject({ok: false, disables: 'BPF sampler (record --sampler bpf); use --sampler cgroupfs'})
    expect(item(r, 'psi')).toMatchObject({ok: false, disables: 'PSI triggers'})
    expect(item(r, 'memory')).toMatchObject({ok: false, disables: 'real-cgroup replay and memory limits (use replay --backend sim)'})
    expect(item(r, 'memcg_bpf_ops')).toMatchObject({ok: false, detail: 'no BTF to inspect'})
    expect(item(r, 'cgroup').ok).toBe(false)
    expect(r.items.filter((i) => i.ok).length).toBe(0)
    expect(r.missing).toBe(r.items.length)
    for (const i of r.items) expect(i.disables, i.name).toMatch(/\S/)
  })

  it('a missing root gives "unknown" and layout none, without throwing', async () => {
    const r = await detectFeatures({root: path.join(os.tmpdir(), 'agentcgroup-does-not-exist'), ...isolated})
    expect(r.kernel).toBe('unknown')
    expect(r.cgroup.layout).toBe('none')
  })
})

describe('cgroup layout helpers', () => {
  it('parses mounts, decodes octal escapes, classifies layouts', () => {
    expect(unescapeMountField('/mnt/my\\040cg')).toBe('/mnt/my cg')
    const hybrid = parseCgroupMounts(HYBRID_MOUNTS)
    expect(hybrid.map((m) => m.fstype)).toEqual(['cgroup', 'cgroup', 'cgroup', 'cgroup', 'cgroup2'])
    expect(layoutOf(hybrid)).toBe('hybrid')
    expect(layoutOf(parseCgroupMounts(V2_MOUNTS))).toBe('v2')
    expect(layoutOf(hybrid.filter((m) => m.fstype === 'cgroup'))).toBe('v1')
    expect(layoutOf([])).toBe('none')
  })

  it('matches BTF names whole and compares kernel releases', () => {
    const btf = Buffer.from('\0bpf_struct_ops_memcg_bpf_ops_x\0')
    expect(btfHasName(btf, 'memcg_bpf_ops')).toBe(false)
    expect(btfHasName(Buffer.from('\0bpf_memcg_ops\0'), 'bpf_memcg_ops')).toBe(true)
    expect(kernelAtLeast('6.18.44-fc', 5, 2)).toBe(true)
    expect(kernelAtLeast('5.1.0', 5, 2)).toBe(false)
    expect(kernelAtLeast('unknown', 5, 2)).toBe(false)
  })
})

describe('detectFeatures on this machine', () => {
  it('reports the running kernel and a known layout', async () => {
    const r = await detectFeatures()
    expect(r.kernel).toBe(os.release())
    expect(['v1', 'v2', 'hybrid', 'none']).toContain(r.cgroup.layout)
    expect(r.items.find((i) => i.name === 'root')?.ok).toBe(process.getuid?.() === 0)
  })
})
