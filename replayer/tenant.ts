/**
 * A tenant process (replayer/native/tenant.c) seen from Node: it is given its schedule on
 * stdin and answers with 64-byte records (layout: replayer/native/tenant.h, the single source
 * of truth) on stdout. Times in records are CLOCK_MONOTONIC ns, the clock of
 * process.hrtime.bigint().
 */
import {type ChildProcessByStdio, spawn} from 'node:child_process'
import type {Readable, Writable} from 'node:stream'

import {nativeBinary} from './native.js'
import type {StepRecord} from './results.js'

export const REC = {done: 4, error: 5, measure: 6, prefaulted: 2, ready: 1, step: 3} as const
/** record flags (tenant.h) */
export const FLAG = {huge: 2, limit: 4, touched: 1} as const
const REC_BYTES = 64

export interface RawRecord {
  kind: number
  step: number
  target: number
  achieved: number
  schedNs: bigint
  startNs: bigint
  endNs: bigint
  rssAnon: number
  err: number
  flags: number
}

export function decodeRecord(b: Buffer, off: number): RawRecord {
  return {
    achieved: Number(b.readBigUInt64LE(off + 16)),
    endNs: b.readBigInt64LE(off + 40),
    err: b.readUInt32LE(off + 56),
    flags: b.readUInt32LE(off + 60),
    kind: b.readUInt32LE(off),
    rssAnon: Number(b.readBigUInt64LE(off + 48)),
    schedNs: b.readBigInt64LE(off + 24),
    startNs: b.readBigInt64LE(off + 32),
    step: b.readUInt32LE(off + 4),
    target: Number(b.readBigUInt64LE(off + 8)),
  }
}

export interface TenantSchedule {
  offsetsMs: number[]
  targets: number[]
  cpuPct: number[]
}

export interface TenantExit {
  code: number | null
  signal: NodeJS.Signals | null
  error: string | null
}

export class TenantProcess {
  readonly records: RawRecord[] = []
  readonly exited: Promise<TenantExit>
  private buf: Buffer = Buffer.alloc(0)
  private waiters: {kind: number; resolve: (r: RawRecord) => void; reject: (e: Error) => void}[] = []
  private exitInfo: TenantExit | null = null
  private stderr = ''
  /** per record kind, how many a caller has already waited for (each answer is used once) */
  private readonly taken = new Map<number, number>()
  doneNs: bigint | null = null

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, Readable>) {
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk))
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000)
    })
    child.stdin.on('error', () => {}) // EPIPE after an OOM kill: seen through 'exit'
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const err = this.records.find((r) => r.kind === REC.error)
        this.exitInfo = {code, error: err ? `tenant error: errno ${err.err} at step ${err.step}` : this.stderr.trim() || null, signal}
        for (const w of this.waiters.splice(0)) w.reject(new Error(`tenant ${child.pid} exited (${signal ?? code}) before answering`))
        resolve(this.exitInfo)
      })
    })
  }

  get pid(): number {
    return this.child.pid!
  }

  /** Spawns a tenant and hands it its schedule; resolves once it has parsed it. */
  static async start(s: TenantSchedule, opts: {hugepages: boolean; cpu: boolean; rss: boolean; reserveBytes?: number}): Promise<TenantProcess> {
    const child = spawn(nativeBinary('agentcgroup-tenant'), [], {stdio: ['pipe', 'pipe', 'pipe']})
    const t = new TenantProcess(child)
    const lines = [`S ${s.targets.length} ${opts.hugepages ? 1 : 0} ${opts.cpu ? 1 : 0} ${opts.rss ? 1 : 0} ${opts.reserveBytes ?? 0}`]
    for (let i = 0; i < s.targets.length; i++) lines.push(`${Math.round(s.offsetsMs[i] * 1e6)} ${s.targets[i]} ${Math.round((s.cpuPct[i] ?? 0) * 100)}`)
    child.stdin.write(`${lines.join('\n')}\n`)
    await t.next(REC.ready)
    return t
  }

  /** Touches step 0's target (P) or the whole reserve (W) before the clock starts. */
  async prefault(whole = false): Promise<RawRecord> {
    this.child.stdin.write(whole ? 'W\n' : 'P\n')
    return this.next(REC.prefaulted)
  }

  /**
   * The warm pool's mode: it releases memory on time but takes memory back only with CPU no
   * tenant wants (SCHED_IDLE, in 16 MiB pieces, giving up when its next step is due).
   */
  idleTakeBack(): void {
    this.child.stdin.write('I\n')
  }

  /** Limit-hit counters (v1 memory.failcnt, v2 memory.events) of its group and its ancestors: a
   * grow step during which one rose is flagged (it waited on a limit, not on the machine). */
  watchLimits(files: string[]): void {
    for (const f of files.slice(0, 4)) {
      if (/\s/.test(f)) continue
      this.child.stdin.write(`C ${f}\n`)
    }
  }

  go(t0Ns: bigint): void {
    this.child.stdin.write(`G ${t0Ns}\n`)
  }

  kill(): void {
    try {
      this.child.kill('SIGKILL')
    } catch {
      // gone
    }
  }

  /** Step records, in ms from t0. */
  steps(t0Ns: bigint): StepRecord[] {
    const ms = (ns: bigint): number => Number(ns - t0Ns) / 1e6
    return this.records
      .filter((r) => r.kind === REC.step)
      .map((r) => ({achievedBytes: r.achieved, endMs: ms(r.endNs), limitHit: (r.flags & (FLAG.touched | FLAG.limit)) !== 0, rssBytes: r.rssAnon, schedMs: ms(r.schedNs), startMs: ms(r.startNs), step: r.step, targetBytes: r.target}))
  }

  private next(kind: number): Promise<RawRecord> {
    const n = this.taken.get(kind) ?? 0
    this.taken.set(kind, n + 1)
    const have = this.records.filter((r) => r.kind === kind)[n]
    if (have) return Promise.resolve(have)
    if (this.exitInfo) return Promise.reject(new Error(`tenant ${this.pid} exited (${this.exitInfo.signal ?? this.exitInfo.code})${this.exitInfo.error ? `: ${this.exitInfo.error}` : ''}`))
    return new Promise((resolve, reject) => this.waiters.push({kind, reject, resolve}))
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
    let off = 0
    for (; off + REC_BYTES <= this.buf.length; off += REC_BYTES) {
      const r = decodeRecord(this.buf, off)
      this.records.push(r)
      if (r.kind === REC.done) this.doneNs = r.endNs
      for (let i = 0; i < this.waiters.length; i++) {
        if (this.waiters[i].kind === r.kind || r.kind === REC.error) {
          const [w] = this.waiters.splice(i, 1)
          if (r.kind === REC.error) w.reject(new Error(`tenant error: errno ${r.err} at step ${r.step}`))
          else w.resolve(r)
          // one record answers one waiter (the oldest); an error answers them all
          if (r.kind !== REC.error) break
          i--
        }
      }
    }
    this.buf = this.buf.subarray(off)
  }
}

/** The machine's allocation throughput (doctor, every replay, bench:replay), `mib` MiB per pass. */
export async function measureAllocRate(mib = 128): Promise<import('./results.js').AllocRate> {
  const child = spawn(nativeBinary('agentcgroup-tenant'), ['--measure', String(mib)], {stdio: ['ignore', 'pipe', 'inherit']})
  const chunks: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => chunks.push(c))
  const code = await new Promise<number | null>((r) => child.once('exit', r))
  if (code !== 0) throw new Error(`agentcgroup-tenant --measure exited ${code}`)
  const b = Buffer.concat(chunks)
  const rate: Record<number, number> = {}
  for (let off = 0; off + REC_BYTES <= b.length; off += REC_BYTES) {
    const r = decodeRecord(b, off)
    rate[r.step] = r.achieved / 2 ** 20 / (Number(r.endNs - r.startNs) / 1e9)
  }
  return {fresh4kMiBs: rate[10], hugeFirstMiBs: rate[20], hugeWarmMiBs: rate[21], memsetFreshMiBs: rate[0]}
}
