/**
 * Kernel memory notifications, through the native helper replayer/native/notify.c (Node has
 * no eventfd): v1 usage thresholds, oom_control and pressure levels (cgroup.event_control),
 * PSI triggers, and modifications of v2 files such as memory.events (inotify). The helper also
 * runs the controller's fast path: writes armed on a notification happen in C the moment it
 * arrives, and both times (woken, done) come back on CLOCK_MONOTONIC.
 */
import {type ChildProcessByStdio, spawn} from 'node:child_process'
import {createInterface} from 'node:readline'
import type {Readable, Writable} from 'node:stream'

export interface NotifyEvent {
  id: number
  /** the eventfd counter: notifications since the last read */
  count: number
  wakeNs: bigint
  doneNs: bigint
  /** memory.usage_in_bytes read at wake-up (thresholds), else null */
  usageBytes: number | null
  actionsDone: number
  actionErrno: number
}

export class Notifier {
  private readonly pending: {resolve: (line: string) => void; reject: (e: Error) => void}[] = []
  private readonly listeners = new Set<(e: NotifyEvent) => void>()
  private closed = false

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    const rl = createInterface({input: child.stdout})
    rl.on('line', (line) => this.onLine(line))
    child.stdin.on('error', () => {})
    child.once('exit', () => {
      this.closed = true
      for (const p of this.pending.splice(0)) p.reject(new Error('notification helper exited'))
    })
  }

  /** `binary`: the built agentcgroup-notify (replayer/native.ts finds it). */
  static start(binary: string): Notifier {
    return new Notifier(spawn(binary, [], {stdio: ['pipe', 'pipe', 'inherit']}))
  }

  get pid(): number {
    return this.child.pid!
  }

  onEvent(fn: (e: NotifyEvent) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** v1: fires when memory.usage_in_bytes of the group crosses `bytes`, either way. */
  threshold(id: number, memcgDir: string, bytes: number): Promise<void> {
    return this.ack(`T ${id} ${safe(memcgDir)} ${Math.round(bytes)}`)
  }

  /** v1: fires on OOM in the group (with oom_kill_disable: when a task parks at the limit). */
  oomControl(id: number, memcgDir: string): Promise<void> {
    return this.ack(`O ${id} ${safe(memcgDir)}`)
  }

  pressureLevel(id: number, memcgDir: string, level: 'low' | 'medium' | 'critical'): Promise<void> {
    return this.ack(`L ${id} ${safe(memcgDir)} ${level}`)
  }

  /** A PSI trigger (window in multiples of 2 s without CAP_SYS_RESOURCE). */
  psi(id: number, pressureFile: string, kind: 'some' | 'full', stallUs: number, windowUs: number): Promise<void> {
    return this.ack(`P ${id} ${safe(pressureFile)} ${kind} ${Math.round(stallUs)} ${Math.round(windowUs)}`)
  }

  /** Modification of a file (v2 memory.events, cgroup.events; any file in a fake tree). */
  watchFile(id: number, file: string): Promise<void> {
    return this.ack(`M ${id} ${safe(file)}`)
  }

  /** On event id (upward, for thresholds): limit_in_bytes = usage + slack. */
  armPark(id: number, memcgDir: string, slackBytes: number): Promise<void> {
    return this.ack(`A ${id} park ${safe(memcgDir)} ${Math.round(slackBytes)}`)
  }

  /** On event id (upward, for thresholds): write value to path. */
  armWrite(id: number, path: string, value: string): Promise<void> {
    return this.ack(`A ${id} write ${safe(path)} ${safe(value)}`)
  }

  clear(id: number): Promise<void> {
    return this.ack(`C ${id}`)
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      this.child.stdin.end('Q\n')
    } catch {
      // gone
    }
    this.child.kill('SIGKILL')
  }

  private ack(cmd: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('notification helper is closed'))
    return new Promise<string>((resolve, reject) => {
      this.pending.push({reject, resolve})
      this.child.stdin.write(`${cmd}\n`)
    }).then((line) => {
      if (line.startsWith('X')) throw new Error(line.slice(2).replace(/^-?\d+ /, ''))
    })
  }

  private onLine(line: string): void {
    if (line.startsWith('E ')) {
      const [, id, count, wake, done, usage, acts, err] = line.split(' ')
      const ev: NotifyEvent = {actionErrno: Number(err), actionsDone: Number(acts), count: Number(count), doneNs: BigInt(done), id: Number(id), usageBytes: usage === '-1' ? null : Number(usage), wakeNs: BigInt(wake)}
      for (const fn of this.listeners) fn(ev)
      return
    }
    const p = this.pending.shift()
    if (p) p.resolve(line)
  }
}

function safe(s: string): string {
  if (/\s/.test(s) || s.length === 0) throw new Error(`notify: ${JSON.stringify(s)}: paths and values must have no spaces`)
  return s
}
