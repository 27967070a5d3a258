/**
 * The tool-call broker: a Unix socket the tool shell (collector/native/toolshell.c) calls
 * before every tool call. Per connection: the caller's host pid (SO_PEERCRED), a new group
 * `<parent>/tool-<seq>`, the caller moved in, OK; the command runs; on END (or EOF: the
 * wrapper died) the group is measured, the owner's hook may return a note, processes the call
 * left behind are killed, the wrapper goes back home and the group is removed.
 * Wire protocol: protocol.ts. A bad client gets ERR or is dropped; the broker keeps serving.
 */
import {chmodSync, existsSync, lstatSync, readFileSync, statSync, unlinkSync} from 'node:fs'
import {createConnection, createServer, Server, Socket} from 'node:net'
import {dirname} from 'node:path'

import {peerCredentials} from '../../bpf/index.js'
import {UserError} from '../../datasets/errors.js'
import {Cgroup} from '../../kernel/cgroup.js'
import {onCleanup} from '../../kernel/cleanup.js'
import {FrameReader, parseWrapperMessage, reply} from './protocol.js'
import type {DomainEnd, DomainHooks, DomainStart} from './types.js'
import {agentHome} from './v2-leaf.js'

export interface BrokerOptions {
  /** the socket to create (its directory must exist; it is bind-mounted into containers) */
  socketPath: string
  /** the agent's group, resolved at the first request (a container's is known only once it runs) */
  parent: () => Cgroup
  hooks?: DomainHooks
  log?: (message: string) => void
}

interface Call {
  start: DomainStart
  socket: Socket
  ended: boolean
}

/** a client has this long to send its request */
const REQUEST_TIMEOUT_MS = 10_000
/** leftovers get this long to die before the group is removed anyway */
const KILL_TIMEOUT_MS = 3_000

export class ToolDomainBroker {
  private seq = 0
  private parentGroup: Cgroup | null = null
  private home: Cgroup | null = null
  private readonly open = new Map<number, Call>()
  private readonly finished: DomainEnd[] = []
  private readonly sockets = new Set<Socket>()
  private readonly ending = new Set<Promise<void>>()
  /** groups that could not be removed when their call ended (retried at close) */
  private readonly stuck: Cgroup[] = []
  private closed = false
  private readonly unhook: () => void

  private constructor(
    private readonly server: Server,
    private readonly opts: BrokerOptions,
  ) {
    server.on('connection', (s) => this.serve(s))
    server.on('error', (e) => this.log(`server error: ${e.message}`))
    // Ctrl-C or a crash: no group and no socket of ours may stay behind
    this.unhook = onCleanup(() => this.cleanupSync())
  }

  static async start(opts: BrokerOptions): Promise<ToolDomainBroker> {
    const path = opts.socketPath
    const dir = dirname(path)
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`broker socket ${path}: directory ${dir} does not exist`)
    // sockaddr_un holds 108 bytes with the final NUL
    if (Buffer.byteLength(path) > 107) throw new UserError(`broker socket path is too long (${Buffer.byteLength(path)} bytes, at most 107): ${path}`)
    await removeStaleSocket(path)
    const server = createServer({allowHalfOpen: false})
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(path, () => {
        server.off('error', reject)
        resolve()
      })
    })
    // the agent in the container may run as any user
    chmodSync(path, 0o666)
    return new ToolDomainBroker(server, opts)
  }

  get socketPath(): string {
    return this.opts.socketPath
  }

  /** Finished calls, in the order they ended. */
  records(): DomainEnd[] {
    return [...this.finished]
  }

  /** Calls whose command is running. */
  active(): DomainStart[] {
    return [...this.open.values()].map((c) => c.start)
  }

  /** Ends every open call (kills its processes, removes its group), stops serving, removes the socket. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const call of [...this.open.values()]) this.track(this.finish(call, null))
    while (this.ending.size > 0) await Promise.all([...this.ending])
    for (const s of this.sockets) s.destroy()
    for (const g of this.stuck.splice(0)) {
      try {
        g.remove()
      } catch (error) {
        this.log(`cannot remove ${g.rel}: ${(error as Error).message}`)
      }
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    unlinkQuietly(this.opts.socketPath)
    this.unhook()
  }

  // ---- one connection -------------------------------------------------------------------

  private serve(socket: Socket): void {
    this.sockets.add(socket)
    const reader = new FrameReader()
    let call: Call | null = null
    let state: 'request' | 'running' | 'done' = 'request'
    // SO_PEERCRED is read at once: the kernel recorded the peer at connect()
    let peer: number | Error
    try {
      // node has no public accessor for an accepted socket's descriptor; its libuv handle (a
      // Pipe wrap on Unix) exposes it as `fd`, the descriptor getsockopt needs
      const fd = (socket as unknown as {_handle?: {fd?: number}})._handle?.fd
      if (typeof fd !== 'number' || fd < 0) throw new Error('no file descriptor for the connection')
      peer = peerCredentials(fd).pid
    } catch (error) {
      peer = error as Error
    }
    const refuse = (reason: string) => {
      this.log(`refused a tool call: ${reason}`)
      state = 'done'
      if (!socket.destroyed) socket.end(reply.err(reason))
    }
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
      if (state === 'request') refuse('no request in time')
    })
    socket.on('data', (chunk) => {
      if (state === 'done') return
      let frames: Buffer[]
      try {
        frames = reader.push(chunk)
      } catch (error) {
        return refuse((error as Error).message)
      }
      for (const payload of frames) {
        let msg
        try {
          msg = parseWrapperMessage(payload)
        } catch (error) {
          if (state === 'running' && call) {
            // not our wrapper's talk: the call ends here (its command is killed)
            this.log(`${call.start.name}: ${(error as Error).message}`)
            state = 'done'
            this.track(this.finish(call, null))
            socket.destroy()
            return
          }
          return refuse((error as Error).message)
        }
        if (state === 'request') {
          if (msg.kind !== 'run') return refuse('expected RUN first')
          if (peer instanceof Error) return refuse(`cannot identify the caller: ${peer.message}`)
          socket.setTimeout(0)
          const started = this.begin(peer, msg.argv, socket)
          if (!started) {
            state = 'done'
            socket.end()
            return
          }
          call = started
          state = 'running'
        } else if (state === 'running' && call) {
          if (msg.kind !== 'end') {
            this.log(`${call.start.name}: a second RUN on one connection`)
            state = 'done'
            this.track(this.finish(call, null))
            socket.destroy()
            return
          }
          state = 'done'
          const c = call
          this.track(
            this.finish(c, msg.status).then((note) => {
              if (!socket.destroyed) socket.end(reply.done(note))
            }),
          )
          return
        }
      }
    })
    socket.on('error', (e) => {
      if ((e as NodeJS.ErrnoException).code !== 'ECONNRESET' && (e as NodeJS.ErrnoException).code !== 'EPIPE') this.log(`connection: ${e.message}`)
    })
    socket.on('close', () => {
      this.sockets.delete(socket)
      // EOF after OK without END: the wrapper was killed; its call ends now
      if (call && !call.ended) this.track(this.finish(call, null, true))
    })
  }

  /** Creates the group, moves the caller in, runs onStart, replies OK; null after replying ERR. */
  private begin(pid: number, argv: string[], socket: Socket): Call | null {
    let group: Cgroup | null = null
    try {
      if (this.closed) throw new Error('the broker is closing')
      const parent = this.resolveParent()
      const where = cgroupPathOf(pid, parent)
      if (where !== null && !(where === `/${parent.rel}` || where.startsWith(`/${parent.rel}/`))) throw new Error(`pid ${pid} is not in the agent's cgroup /${parent.rel} (it is in ${where})`)
      if (where !== null && where.startsWith(`/${parent.rel}/tool-`)) throw new Error(`pid ${pid} is already inside a tool call (${where})`)
      let seq = this.seq++
      while (Cgroup.at(parent.sys, `${parent.rel}/tool-${seq}`).exists()) seq = this.seq++
      const name = `tool-${seq}`
      group = parent.child(name)
      const start: DomainStart = {argv, cgroupId: safe(() => group!.memoryCgroupId(), null), group, name, pid, seq, startUs: nowUs()}
      group.addProcess(pid)
      this.opts.hooks?.onStart?.(start)
      const call: Call = {ended: false, socket, start}
      this.open.set(seq, call)
      socket.write(reply.ok(name))
      return call
    } catch (error) {
      const reason = (error as Error).message
      this.log(`no group for pid ${pid}: ${reason}`)
      if (group) {
        try {
          if (group.pids().includes(pid)) this.homeOf().addProcess(pid)
          group.remove()
        } catch (e) {
          this.log(`cannot undo ${group.rel}: ${(e as Error).message}`)
        }
      }
      socket.write(reply.err(reason))
      return null
    }
  }

  /** Measures, asks the hook, kills what the call left, brings the wrapper home, removes the group. */
  /** `vanished`: the wrapper closed the connection without END (it was killed). */
  private async finish(call: Call, exitCode: number | null, vanished = false): Promise<string | null> {
    if (call.ended) return null
    call.ended = true
    const {group, pid, name} = call.start
    const leftovers = new Set(safe(() => group.pids(), []).filter((p) => p !== pid))
    const end: DomainEnd = {
      ...call.start,
      cpuUsec: safe(() => group.cpuUsageUsec(), null),
      endUs: nowUs(),
      exitCode,
      frozenMs: 0,
      leftoversKilled: leftovers.size,
      oomKills: safe(() => group.memoryEvents().oom_kill, 0),
      peakMemBytes: safe(() => group.memoryPeakBytes(), null),
      throttledMs: 0,
    }
    let note: string | null = null
    try {
      note = this.opts.hooks?.onEnd?.(end) ?? null
    } catch (error) {
      this.log(`${name}: onEnd hook failed: ${(error as Error).message}`)
    }
    // a vanished wrapper (EOF) is dead or dying: it leaves the group by itself
    if (!vanished) {
      try {
        if (group.pids().includes(pid)) this.homeOf().addProcess(pid)
      } catch (error) {
        this.log(`${name}: cannot move the wrapper (pid ${pid}) home: ${(error as Error).message}`)
      }
    }
    const wrapperInside = !vanished && safe(() => group.pids().includes(pid), false)
    // SIGKILL until empty (a leftover may fork meanwhile); never a live wrapper
    const deadline = Date.now() + KILL_TIMEOUT_MS
    for (;;) {
      const pids = safe(() => group.pids(), []).filter((p) => !wrapperInside || p !== pid)
      if (pids.length === 0 || Date.now() > deadline) break
      for (const p of pids) {
        if (p !== pid) leftovers.add(p)
        try {
          process.kill(p, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    end.leftoversKilled = leftovers.size
    if (wrapperInside) {
      this.log(`${name}: kept (the wrapper, pid ${pid}, could not leave it); removed at close`)
      this.stuck.push(group)
    } else {
      try {
        group.remove()
      } catch (error) {
        this.log(`${name}: cannot remove ${group.rel}: ${(error as Error).message}`)
        this.stuck.push(group)
      }
    }
    this.open.delete(call.start.seq)
    this.finished.push(end)
    return note
  }

  private resolveParent(): Cgroup {
    if (!this.parentGroup) {
      const parent = this.opts.parent()
      this.home = agentHome(parent)
      this.parentGroup = parent
    }
    return this.parentGroup
  }

  private homeOf(): Cgroup {
    return this.home ?? this.resolveParent()
  }

  private track(p: Promise<unknown>): void {
    const done = p.then(
      () => undefined,
      (error) => this.log(`ending a call: ${(error as Error).message}`),
    )
    this.ending.add(done)
    void done.finally(() => this.ending.delete(done))
  }

  /** The synchronous last resort at exit: every open group removed, the socket gone. */
  private cleanupSync(): void {
    for (const call of this.open.values()) {
      const {group, pid} = call.start
      try {
        if (group.pids().includes(pid)) this.homeOf().addProcess(pid)
      } catch {
        // removal kills it then
      }
      try {
        group.remove()
      } catch {
        // the parent's owner removes it with the parent
      }
    }
    this.open.clear()
    for (const g of this.stuck.splice(0)) {
      try {
        g.remove()
      } catch {
        // the parent's owner removes it with the parent
      }
    }
    try {
      this.server.close()
    } catch {
      // not listening
    }
    unlinkQuietly(this.opts.socketPath)
  }

  private log(message: string): void {
    this.opts.log?.(`tool broker: ${message}`)
  }
}

/**
 * The caller's cgroup path (as seen from the host) in the hierarchy that holds memory, or the
 * v2 tree; null when /proc does not say (then the caller is not checked).
 */
function cgroupPathOf(pid: number, group: Cgroup): string | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
  } catch {
    return null
  }
  const v1 = group.sys.memory?.version === 'v1'
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line)
    if (!m) continue
    if (v1 ? m[1].split(',').includes('memory') : m[1] === '') return m[2]
  }
  return null
}

async function removeStaleSocket(path: string): Promise<void> {
  let st
  try {
    st = lstatSync(path)
  } catch {
    return
  }
  if (!st.isSocket()) throw new UserError(`broker socket ${path}: a file that is not a socket is in the way`)
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path)
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
  if (live) throw new UserError(`broker socket ${path} is in use by another broker`)
  unlinkQuietly(path)
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // gone already
  }
}

function safe<T>(fn: () => T, fallback: T): T {
  try {
    return fn()
  } catch {
    return fallback
  }
}

function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000)
}
