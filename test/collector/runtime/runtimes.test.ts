/**
 * The runtimes on this machine: Podman (private storage, the demo image) and local cgroups.
 * Needs root and Podman; skips saying so otherwise.
 */
import {cpSync, existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {recipeHash} from '../../../collector/image.js'
import {CgroupPoller} from '../../../collector/poller.js'
import {LocalRuntime} from '../../../collector/runtime/local.js'
import {PodmanRuntime} from '../../../collector/runtime/podman.js'
import {demoCatalog} from '../../../collector/tasks.js'
import {demoImageRecipe} from '../../../datasets/catalog/demo.js'
import {Cgroup, detectCgroupSystem} from '../../../kernel/cgroup.js'
import {tempDir} from '../../fixtures/recordings.js'
import {ensureTestImage, podmanSkipReason, podmanSync} from '../helpers.js'

const skip = podmanSkipReason()

describe('demo image recipe', () => {
  it('has a stable hash that changes with the recipe', () => {
    const r = demoImageRecipe()
    expect(recipeHash(r)).toBe(recipeHash({...r}))
    expect(recipeHash({...r, include: [...r.include, 'curl']})).not.toBe(recipeHash(r))
    expect(r.include).toEqual(expect.arrayContaining(['python3', 'python3-pytest', 'git', 'procps', 'gcc', 'make']))
  })
})

describe.skipIf(skip !== null)(`runtimes${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  const sys = detectCgroupSystem()
  let dir: string
  beforeAll(async () => {
    dir = tempDir('agentcgroup-rt-')
    await ensureTestImage()
  }, 900_000)
  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  it('podman: a container under our cgroup parent, no network, removed with its cgroups at teardown', async () => {
    const task = demoCatalog().find((t) => t.id === 'cstats')!
    const repo = join(dir, 'repo-podman')
    cpSync(task.repoDir!, repo, {recursive: true})
    const rt = new PodmanRuntime(sys)
    await rt.prepare(task, () => {})
    await rt.create({mounts: [], repoCopy: repo})
    try {
      const rel = rt.cgroupRel()
      expect(rel).toMatch(new RegExp(`^agentcgroup/bench-${process.pid}-\\d+/libpod-[0-9a-f]{64}$`))
      const cg = await rt.exec(['cat', '/proc/self/cgroup'], {})
      expect(cg.stdout).toContain(`memory:/${rel}`)
      const net = await rt.exec(['cat', '/proc/net/dev'], {})
      expect(net.stdout.split('\n').filter((l) => l.includes(':')).map((l) => l.trim().split(':')[0])).toEqual(['lo'])
      const ls = await rt.exec(['ls'], {})
      expect(ls.stdout).toContain('Makefile')
      expect(rt.workdir()).toBe('/testbed')
    } finally {
      await rt.teardown()
    }
    const parent = join(sys.memory!.path, rt.cgroupRel().split('/').slice(0, 2).join('/'))
    expect(existsSync(parent)).toBe(false)
    expect(podmanSync(['ps', '-a', '--format', '{{.Names}}']).trim()).not.toContain(`agentcgroup-${process.pid}-`)
  })

  it('every demo task fails its tests before the fix (in the demo image)', async () => {
    for (const task of demoCatalog()) {
      const repo = join(dir, `repo-${task.id}`)
      cpSync(task.repoDir!, repo, {recursive: true})
      const rt = new PodmanRuntime(sys)
      await rt.prepare(task, () => {})
      await rt.create({mounts: [], repoCopy: repo})
      try {
        const r = await rt.exec(['bash', '-c', task.testCommand!], {})
        expect(r.code, `${task.id}: ${r.stdout.slice(-300)}`).not.toBe(0)
        expect(r.stdout + r.stderr).toMatch(/failed|FAIL/)
      } finally {
        await rt.teardown()
      }
    }
  }, 120_000)

  it('local: commands run inside a cgroup of ours from their first page; teardown removes it', async () => {
    const task = demoCatalog().find((t) => t.id === 'cstats')!
    const repo = join(dir, 'repo-local')
    cpSync(task.repoDir!, repo, {recursive: true})
    const rt = new LocalRuntime(sys)
    await rt.prepare(task)
    await rt.create({memoryBytes: 64 << 20, mounts: [], repoCopy: repo})
    const rel = rt.cgroupRel()
    try {
      expect(rel).toMatch(new RegExp(`^agentcgroup/bench-${process.pid}-\\d+$`))
      const r = await rt.exec(['cat', '/proc/self/cgroup'], {})
      expect(r.stdout).toContain(`memory:/${rel}`)
      const pwd = await rt.exec(['pwd'], {})
      expect(pwd.stdout.trim()).toBe(repo)
      // the limit holds: 200 MB in a 64 MiB group is OOM-killed
      const big = await rt.exec(['python3', '-c', 'b = bytearray(200 * 1024 * 1024); print(len(b))'], {})
      expect(big.code).not.toBe(0)
    } finally {
      await rt.teardown()
    }
    expect(existsSync(join(sys.memory!.path, rel))).toBe(false)
  })

  it('the /proc poller (the fallback sampler) records samples and the processes of a local run', async () => {
    const task = demoCatalog().find((t) => t.id === 'cstats')!
    const repo = join(dir, 'repo-poller')
    cpSync(task.repoDir!, repo, {recursive: true})
    const rt = new LocalRuntime(sys)
    await rt.prepare(task)
    await rt.create({mounts: [], repoCopy: repo})
    const poller = new CgroupPoller(() => Cgroup.at(sys, rt.cgroupRel()), 20)
    poller.start()
    try {
      await rt.exec(['sh', '-c', 'sleep 0.3; python3 -c "b = bytearray(50 * 1024 * 1024); import time; time.sleep(0.3)"'], {})
    } finally {
      const r = poller.stop()
      await rt.teardown()
      expect(r.samples.length).toBeGreaterThan(10)
      expect(Math.max(...r.samples.map((x) => x.mem_bytes ?? 0))).toBeGreaterThan(50e6)
      expect(r.processes.map((p) => p.comm)).toEqual(expect.arrayContaining(['sleep', 'python3']))
      expect(r.processes.every((p) => p.start_us! > Date.now() * 1000 - 60e6)).toBe(true)
    }
  })

  it('a missing image is a clear error before anything is created', async () => {
    const rt = new PodmanRuntime(sys)
    const task = {...demoCatalog()[0], id: 'acme__x-1', image: 'localhost/agentcgroup-absent:0', repoDir: null}
    await expect(rt.prepare(task, () => {})).rejects.toThrow('image localhost/agentcgroup-absent:0 is not available locally and cannot be pulled offline')
  })
})
