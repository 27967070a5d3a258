/**
 * Tool-call resource domains: the real tool shell (build/toolshell/bash), the real broker and
 * real cgroups (root), one call in a real Podman container, and the cgroup v2 agent leaf on a
 * fake tree. Each test makes its own parent group under agentcgroup/ and removes it.
 */
import {spawn} from 'node:child_process'
import {existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection} from 'node:net'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {loadNative} from '../../bpf/index.js'
import {ToolDomainBroker} from '../../collector/domains/broker.js'
import {FrameReader, frame, parseReply, parseWrapperMessage, runMessage, type BrokerReply} from '../../collector/domains/protocol.js'
import {toolShellDir} from '../../collector/domains/toolshell.js'
import type {DomainEnd, DomainHooks, DomainStart} from '../../collector/domains/types.js'
import {agentHome} from '../../collector/domains/v2-leaf.js'
import {PodmanRuntime} from '../../collector/runtime/podman.js'
import {demoCatalog} from '../../collector/tasks.js'
import {Cgroup, detectCgroupSystem, OUR_ROOT, ownedName, pidAlive, reapLeftovers} from '../../kernel/cgroup.js'
import {tempDir} from '../fixtures/recordings.js'
import {ensureTestImage, podmanSkipReason} from './helpers.js'

const sys = detectCgroupSystem()

function builtReason(): string | null {
  try {
    toolShellDir()
  } catch (error) {
    return (error as Error).message
  }
  return null
}

function realReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (cgroups of ours)'
  if (sys.memory === null) return 'needs the memory cgroup controller'
  const built = builtReason()
  if (built) return built
  try {
    if (typeof loadNative().peerCredentials !== 'function') return 'the native addon lacks peerCredentials: run npm run build'
  } catch (error) {
    return (error as Error).message
  }
  return null
}

const builtSkip = builtReason()
const realSkip = realReason()
const podmanSkip = realSkip ?? podmanSkipReason()
const tag = (why: string | null) => (why ? ` [skipped: ${why}]` : '')

interface Ran {
  pid: number
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

interface Launched {
  pid: number
  stdout: () => string
  kill: (signal: NodeJS.Signals) => void
  done: Promise<Ran>
}

/** The wrapper's environment: ours without a socket, plus `extra`. */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = {...process.env}
  delete env.AGENTCGROUP_SOCK
  delete env.AGENTCGROUP_REAL_SHELL
  return {...env, ...extra}
}

/**
 * Runs `<toolshell>/bash <args...>` the way an agent in `parent` would: a launcher waits until
 * it has been moved into `parent`, then execs the wrapper (same pid). `argFile`: one more
 * argument, read byte for byte from a file (bytes node cannot pass through spawn).
 */
function launch(args: string[], env: NodeJS.ProcessEnv, parent: Cgroup | null, argFile?: string): Launched {
  const script = argFile ? 'read -r _; exec "$0" "$@" "$(cat "$AC_ARGFILE")"' : 'read -r _; exec "$0" "$@"'
  const child = spawn('/bin/sh', ['-c', script, join(toolShellDir(), 'bash'), ...args], {env: {...env, ...(argFile ? {AC_ARGFILE: argFile} : {})}, stdio: 'pipe'})
  const out: Buffer[] = []
  let err = ''
  child.stdout.on('data', (b: Buffer) => out.push(b))
  child.stderr.on('data', (b: Buffer) => (err += b.toString()))
  parent?.addProcess(child.pid!)
  child.stdin.end('\n')
  const done = new Promise<Ran>((resolve) => child.once('close', (code, signal) => resolve({code, pid: child.pid!, signal, stderr: err, stdout: Buffer.concat(out)})))
  return {done, kill: (s) => child.kill(s), pid: child.pid!, stdout: () => Buffer.concat(out).toString()}
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** One raw client: sends `bytes`, returns the replies until the broker closes. */
async function rawClient(path: string, bytes: Buffer | null, hangUpEarly = false): Promise<BrokerReply[]> {
  return new Promise((resolve) => {
    const replies: BrokerReply[] = []
    const reader = new FrameReader()
    const c = createConnection(path, () => {
      if (bytes) c.write(bytes)
      if (hangUpEarly) c.end()
    })
    c.on('data', (d) => {
      for (const f of reader.push(d)) replies.push(parseReply(f))
    })
    c.on('error', () => {})
    c.on('close', () => resolve(replies))
  })
}

function memoryPathOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l) || l.startsWith('0::'))
  return line?.split(':')[2] ?? ''
}

describe('protocol', () => {
  it('round-trips arguments with any bytes but NUL, in frames cut anywhere', () => {
    const args = ['-c', `it's "q"\n$HOME \\`, Buffer.from([0x61, 0xff, 0xfe, 0x0a]), '']
    const bytes = runMessage(args)
    const reader = new FrameReader()
    const frames = [...bytes].flatMap((b) => reader.push(Buffer.from([b])))
    expect(frames).toHaveLength(1)
    const msg = parseWrapperMessage(frames[0])
    expect(msg.kind).toBe('run')
    if (msg.kind !== 'run') return
    expect(msg.raw.map((b) => b.toString('hex'))).toEqual(args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a).toString('hex')))
    expect(msg.argv[1]).toBe(`it's "q"\n$HOME \\`)
    expect(parseWrapperMessage(Buffer.from('END 143'))).toEqual({kind: 'end', status: 143})
    expect(() => parseWrapperMessage(Buffer.from('END 999'))).toThrow(/unexpected/)
    expect(() => parseWrapperMessage(Buffer.from('RUN\0abc'))).toThrow(/NUL-terminated/)
    const big = Buffer.alloc(4)
    big.writeUInt32BE(0xffffffff)
    expect(() => new FrameReader().push(big)).toThrow(/exceeds/)
    expect(parseReply(frame('DONE').subarray(4))).toEqual({kind: 'done', note: null})
    expect(parseReply(frame('DONE a\nb').subarray(4))).toEqual({kind: 'done', note: 'a\nb'})
  })
})

describe.skipIf(builtSkip !== null)(`tool shell without a broker${tag(builtSkip)}`, () => {
  it('runs the real shell silently when AGENTCGROUP_SOCK is unset', async () => {
    const r = await launch(['-c', 'echo "$0 ran"; exit 3'], shellEnv(), null).done
    expect(r.stdout.toString()).toBe('bash ran\n')
    expect(r.stderr).toBe('')
    expect(r.code).toBe(3)
  })

  it('warns in one line and still runs the command when the broker cannot be reached', async () => {
    const dir = tempDir('agentcgroup-dom-')
    try {
      const r = await launch(['-c', 'echo ran; echo "sock=${AGENTCGROUP_SOCK-unset}"'], shellEnv({AGENTCGROUP_SOCK: join(dir, 'none.sock')}), null).done
      expect(r.stdout.toString()).toBe('ran\nsock=unset\n')
      expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([expect.stringMatching(/^agentcgroup: no tool-call cgroup \(cannot reach the broker at .*none\.sock: No such file or directory\)$/)])
      expect(r.code).toBe(0)
    } finally {
      rmSync(dir, {force: true, recursive: true})
    }
  })
})

describe.skipIf(realSkip !== null)(`tool-call domains on real cgroups${tag(realSkip)}`, () => {
  let dir: string
  let parent: Cgroup
  let broker: ToolDomainBroker
  const logs: string[] = []
  const cleanups: (() => void | Promise<void>)[] = []

  async function setup(hooks: DomainHooks = {}, parentCg?: Cgroup): Promise<void> {
    dir = tempDir('agentcgroup-dom-')
    parent = parentCg ?? Cgroup.create(sys, `${OUR_ROOT}/${ownedName('test')}`)
    broker = await ToolDomainBroker.start({hooks, log: (m) => logs.push(m), parent: () => parent, socketPath: join(dir, 'broker.sock')})
    cleanups.push(async () => {
      await broker.close()
      parent.remove()
      rmSync(dir, {force: true, recursive: true})
    })
  }
  const env = () => shellEnv({AGENTCGROUP_SOCK: broker.socketPath})

  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn()
    logs.length = 0
  })

  it('runs each call in its own group (tool-0, tool-1), measures it and removes it', async () => {
    const starts: DomainStart[] = []
    const inside: boolean[] = []
    await setup({onStart: (d) => (starts.push(d), inside.push(d.group.pids().includes(d.pid)))})
    expect(statMode(broker.socketPath)).toBe(0o666)
    const a = launch(['-c', `cat /proc/self/cgroup; /usr/bin/python3 -c "b = b'x' * (64 << 20)"; exit 7`], env(), parent)
    const r0 = await a.done
    expect(r0.stderr).toBe('')
    expect(r0.code).toBe(7)
    expect(r0.stdout.toString()).toMatch(new RegExp(`memory:/${parent.rel}/tool-0\\n`))
    const r1 = await launch(['-c', '-l', 'cat /proc/self/cgroup; for f in /proc/$$/fd/*; do echo \"fd ${f##*/} $(readlink $f)\"; done'], env(), parent).done
    expect(r1.code).toBe(0)
    expect(r1.stdout.toString()).toMatch(new RegExp(`memory:/${parent.rel}/tool-1\\n`))
    // the broker connection is close-on-exec: the command sees only its stdio
    const sockets = r1.stdout.toString().split('\n').filter((l) => /^fd (\d+) socket:/.test(l) && Number(l.split(' ')[1]) > 2)
    expect(sockets).toEqual([])
    const [e0, e1] = broker.records()
    expect(broker.records()).toHaveLength(2)
    expect(broker.active()).toEqual([])
    expect(starts.map((s) => [s.name, s.pid])).toEqual([
      ['tool-0', a.pid],
      ['tool-1', r1.pid],
    ])
    expect(inside).toEqual([true, true])
    expect(e0).toMatchObject({exitCode: 7, leftoversKilled: 0, name: 'tool-0', oomKills: 0, seq: 0, throttledMs: 0, frozenMs: 0})
    expect(e0.argv[0]).toBe('-c')
    expect(e1.argv).toEqual(['-c', '-l', 'cat /proc/self/cgroup; for f in /proc/$$/fd/*; do echo \"fd ${f##*/} $(readlink $f)\"; done'])
    expect(e0.peakMemBytes).toBeGreaterThanOrEqual(64 << 20)
    expect(e0.cpuUsec).toBeGreaterThan(0)
    expect(e0.endUs).toBeGreaterThan(e0.startUs)
    expect(e0.group.exists()).toBe(false)
    expect(e1.group.exists()).toBe(false)
    // the wrapper went back to the agent's group before it exited: only its group is left
    expect(parent.children()).toEqual([])
  })

  it('passes quotes, newlines and non-UTF-8 bytes through intact', async () => {
    await setup()
    const odd = [`it's "quoted"`, 'line1\nline2', '`$HOME` \\ $(no)', '']
    const r = await launch(['-c', 'printf "[%s]" "$@"', 'sh', ...odd], env(), parent).done
    expect(r.stdout.toString()).toBe(odd.map((s) => `[${s}]`).join(''))
    expect(broker.records()[0].argv).toEqual(['-c', 'printf "[%s]" "$@"', 'sh', ...odd])
    const bytes = Buffer.from([0x61, 0xff, 0xfe, 0x22, 0x0a, 0x62])
    const file = join(dir, 'arg.bin')
    writeFileSync(file, bytes)
    const r2 = await launch(['-c', 'printf %s "$1" | od -An -tx1 | tr -d " \\n"', 'sh'], env(), parent, file).done
    expect(r2.stdout.toString()).toBe(bytes.toString('hex'))
    expect(broker.records()[1].argv[3]).toBe(bytes.toString('utf8'))
  })

  it('kills what the call left running, and prints the hook note on the tool stderr', async () => {
    const ends: DomainEnd[] = []
    await setup({onEnd: (d) => (ends.push({...d}), 'memory was tight here\nsecond line')})
    const r = await launch(['-c', 'sleep 60 & echo $!'], env(), parent).done
    const sleeper = Number(r.stdout.toString().trim())
    expect(sleeper).toBeGreaterThan(0)
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('agentcgroup: memory was tight here\nsecond line\n')
    expect(ends[0].leftoversKilled).toBe(1)
    expect(broker.records()[0].leftoversKilled).toBe(1)
    await until(() => !existsSync(`/proc/${sleeper}`) || readFileSync(`/proc/${sleeper}/stat`, 'utf8').includes(') Z '))
  })

  it('forwards SIGTERM: the command ends and the wrapper exits by the same signal', async () => {
    await setup()
    const l = launch(['-c', 'echo started; sleep 30; echo after'], env(), parent)
    await until(() => l.stdout().includes('started'))
    l.kill('SIGTERM')
    const r = await l.done
    expect(r.signal).toBe('SIGTERM')
    expect(r.stdout.toString()).toBe('started\n')
    const end = broker.records()[0]
    expect(end.exitCode).toBe(143)
    // bash died of the signal; the sleep it was waiting for was left over
    expect(end.leftoversKilled).toBe(1)
    expect(end.group.exists()).toBe(false)
  })

  it('ends the call of a wrapper that was SIGKILLed (exit code unknown, its command killed)', async () => {
    await setup()
    const l = launch(['-c', 'echo started; sleep 30; echo after'], env(), parent)
    await until(() => l.stdout().includes('started'))
    l.kill('SIGKILL')
    await l.done
    await until(() => broker.records().length === 1)
    const end = broker.records()[0]
    expect(end.exitCode).toBeNull()
    expect(end.leftoversKilled).toBe(2) // bash and its sleep
    expect(end.group.exists()).toBe(false)
  })

  it('survives malformed and foreign clients, and serves the next call as tool-0', async () => {
    await setup()
    const path = broker.socketPath
    expect(await rawClient(path, frame('HELLO'))).toEqual([{kind: 'err', reason: expect.stringMatching(/unexpected message/)}])
    const huge = Buffer.alloc(4)
    huge.writeUInt32BE(0x7fffffff)
    expect(await rawClient(path, huge)).toEqual([{kind: 'err', reason: expect.stringMatching(/exceeds/)}])
    expect(await rawClient(path, null, true)).toEqual([])
    expect(await rawClient(path, runMessage(['-c']).subarray(0, 6), true)).toEqual([])
    // a well-formed request from a process outside the agent's group (this test) is refused
    expect(await rawClient(path, runMessage(['-c', 'true']))).toEqual([{kind: 'err', reason: expect.stringMatching(/not in the agent's cgroup/)}])
    expect(memoryPathOf(process.pid)).not.toContain(OUR_ROOT)
    const r = await launch(['-c', 'cat /proc/self/cgroup'], env(), parent).done
    expect(r.stdout.toString()).toMatch(new RegExp(`memory:/${parent.rel}/tool-0\\n`))
    expect(r.stderr).toBe('')
  })

  it('serves calls that overlap, each in its own group', async () => {
    await setup()
    const a = launch(['-c', 'echo started; sleep 0.5'], env(), parent)
    const b = launch(['-c', 'echo started; sleep 0.5'], env(), parent)
    await until(() => a.stdout().includes('started') && b.stdout().includes('started'))
    expect(broker.active().map((d) => d.name).sort()).toEqual(['tool-0', 'tool-1'])
    expect(new Set(broker.active().map((d) => d.pid))).toEqual(new Set([a.pid, b.pid]))
    const [ra, rb] = await Promise.all([a.done, b.done])
    expect([ra.code, rb.code]).toEqual([0, 0])
    expect(broker.records().map((e) => e.exitCode)).toEqual([0, 0])
    expect(parent.children()).toEqual([])
  })

  it('close() ends an open call and removes its group and the socket', async () => {
    await setup()
    const l = launch(['-c', 'echo started; sleep 30'], env(), parent)
    await until(() => l.stdout().includes('started'))
    const [open] = broker.active()
    expect(open.name).toBe('tool-0')
    await broker.close()
    const r = await l.done
    expect(r.signal).toBe('SIGKILL')
    expect(open.group.exists()).toBe(false)
    expect(existsSync(broker.socketPath)).toBe(false)
    expect(broker.records()[0]).toMatchObject({exitCode: null, name: 'tool-0'})
  })

  it('a tool group with a live wrapper does not keep reapLeftovers from removing a dead owner’s parent', async () => {
    const deadOwner = 999_999_996
    await setup({}, Cgroup.create(sys, `${OUR_ROOT}/${ownedName('test', deadOwner)}`))
    const l = launch(['-c', 'echo started; sleep 30'], env(), parent)
    await until(() => l.stdout().includes('started'))
    expect(reapLeftovers(sys, (pid) => pid !== deadOwner)).toEqual([parent.rel])
    expect(parent.exists()).toBe(false)
    const r = await l.done
    expect(r.signal).toBe('SIGKILL')
  })
})

describe.skipIf(podmanSkip !== null)(`tool-call domains in a Podman container${tag(podmanSkip)}`, () => {
  beforeAll(async () => {
    await ensureTestImage()
  }, 900_000)

  it('creates the tool group under the container cgroup for the wrapper host pid', async () => {
    const dir = tempDir('agentcgroup-dom-')
    const task = demoCatalog()[0]
    const rt = new PodmanRuntime(sys)
    let broker: ToolDomainBroker | null = null
    try {
      await rt.prepare(task, () => {})
      await rt.create({mounts: [{host: toolShellDir(), readOnly: true, target: '/opt/agentcgroup/shell'}, {host: dir, target: '/run/agentcgroup'}], repoCopy: null})
      const seen: {pid: number; hostPath: string; nspid: string}[] = []
      broker = await ToolDomainBroker.start({
        hooks: {
          onStart: (d) =>
            seen.push({
              hostPath: memoryPathOf(d.pid),
              nspid: /NSpid:\s*(.*)/.exec(readFileSync(`/proc/${d.pid}/status`, 'utf8'))?.[1] ?? '',
              pid: d.pid,
            }),
        },
        parent: () => Cgroup.at(sys, rt.cgroupRel()),
        socketPath: join(dir, 'broker.sock'),
      })
      const r = await rt.exec(['/opt/agentcgroup/shell/bash', '-c', '-l', 'cat /proc/self/cgroup; echo "inside pid $$"'], {AGENTCGROUP_SOCK: '/run/agentcgroup/broker.sock'})
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const rel = rt.cgroupRel()
      expect(seen).toHaveLength(1)
      expect(seen[0].hostPath).toBe(`/${rel}/tool-0`)
      // two pids: the host's (what the broker saw) and the container's
      const [hostPid, innerPid] = seen[0].nspid.split(/\s+/).map(Number)
      expect(hostPid).toBe(seen[0].pid)
      expect(innerPid).toBeGreaterThan(0)
      expect(innerPid).not.toBe(hostPid)
      expect(r.stdout).toMatch(/tool-0\n/)
      const end = broker.records()[0]
      expect(end).toMatchObject({exitCode: 0, name: 'tool-0'})
      expect(end.group.rel).toBe(`${rel}/tool-0`)
      expect(end.group.exists()).toBe(false)
    } finally {
      await broker?.close()
      await rt.teardown()
      rmSync(dir, {force: true, recursive: true})
    }
  }, 300_000)
})

describe('cgroup v2: the agent leaf (fake tree)', () => {
  it('moves the parent processes into <parent>/agent and enables the controllers before the first tool group', () => {
    const root = tempDir('agentcgroup-dom-v2-')
    try {
      const mnt = join(root, 'sys/fs/cgroup')
      mkdirSync(join(root, 'proc/self'), {recursive: true})
      writeFileSync(join(root, 'proc/self/mounts'), 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n')
      const parentDir = join(mnt, OUR_ROOT, 'bench-1-1')
      mkdirSync(parentDir, {recursive: true})
      writeFileSync(join(mnt, 'cgroup.controllers'), 'cpuset cpu io memory pids\n')
      writeFileSync(join(mnt, 'cgroup.subtree_control'), 'cpu memory pids\n')
      writeFileSync(join(mnt, OUR_ROOT, 'cgroup.subtree_control'), 'cpu memory pids\n')
      writeFileSync(join(parentDir, 'cgroup.controllers'), 'cpu memory pids\n')
      writeFileSync(join(parentDir, 'cgroup.subtree_control'), '')
      writeFileSync(join(parentDir, 'cgroup.procs'), '111\n222\n')
      const fake = detectCgroupSystem(root)
      expect(fake.layout).toBe('v2')
      const parent = Cgroup.at(fake, `${OUR_ROOT}/bench-1-1`)
      const home = agentHome(parent)
      expect(home.rel).toBe(`${OUR_ROOT}/bench-1-1/agent`)
      expect(existsSync(join(parentDir, 'agent'))).toBe(true)
      // a plain file keeps the last write: the last of the parent's processes
      expect(readFileSync(join(parentDir, 'agent', 'cgroup.procs'), 'utf8')).toBe('222')
      expect(readFileSync(join(parentDir, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu +pids')
      const tool = parent.child('tool-0')
      expect(existsSync(join(parentDir, 'tool-0'))).toBe(true)
      expect(tool.rel).toBe(`${OUR_ROOT}/bench-1-1/tool-0`)
      // on v1 and hybrid nothing moves: the agent stays in its group
      if (sys.layout !== 'v2') expect(agentHome(Cgroup.at(sys, `${OUR_ROOT}/x`)).rel).toBe(`${OUR_ROOT}/x`)
    } finally {
      rmSync(root, {force: true, recursive: true})
    }
  })
})

function statMode(path: string): number {
  return lstatSync(path).mode & 0o777
}
