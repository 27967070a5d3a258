/**
 * The typed wrapper of the BPF addon: finds and loads bpf_addon.node, checks that this machine
 * can run BPF (root, BTF), starts a tracing session on one cgroup subtree and decodes its
 * ring-buffer records (layout from bpf/events.h, offsets from the addon) into typed events.
 *
 * Times stay CLOCK_MONOTONIC nanoseconds here (as numbers: exact to the microsecond for
 * centuries of uptime); the sampler converts them to UTC once per run (see clockSync()).
 */
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import type {BpfNative, NativeLayout, NativeProgramStatus, NativeSession, NativeSessionStats, PeerCredentials} from './native.js'

export type {NativeLayout, NativeProgramStatus as ProgramStatus, NativeSessionStats as SessionStats, PeerCredentials} from './native.js'

/**
 * The objects a recording loads. `rss` (rss_stat: RSS growth events of live processes) runs on
 * every page fault of the machine and is opt-in; peaks come from the kernel's own high-water
 * marks without it. `loadgen` is the benchmark's synthetic source.
 */
export const RECORD_OBJECTS = ['proc', 'oom', 'reclaim'] as const
export type BpfObjectName = (typeof RECORD_OBJECTS)[number] | 'rss' | 'loadgen'

export class BpfUnavailableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BpfUnavailableError'
  }
}

let cached: BpfNative | null = null
let cachedError: BpfUnavailableError | null = null

/** Where the addon may be, from this module in dist/bpf/ or (tests) in bpf/. */
function candidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url))
  const roots = [here, resolve(here, '..', '..', 'bpf')]
  return roots.flatMap((r) => ['Release', 'Debug'].map((b) => join(r, 'build', b, 'bpf_addon.node')))
}

/** Loads the addon once; throws one error naming every place it looked. */
export function loadNative(): BpfNative {
  if (cached) return cached
  if (cachedError) throw cachedError
  const tried = [...new Set(candidates())]
  const found = tried.find((p) => existsSync(p))
  if (!found) {
    cachedError = new BpfUnavailableError(`BPF addon not built (run npm run build; looked in ${tried.join(', ')})`)
    throw cachedError
  }
  try {
    cached = createRequire(import.meta.url)(found) as BpfNative
    return cached
  } catch (error) {
    cachedError = new BpfUnavailableError(`BPF addon ${found} does not load: ${(error as Error).message.split('\n')[0]}`)
    throw cachedError
  }
}

/** Why BPF cannot run here (one line), or null when it can: addon, root, BTF. */
export function bpfUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'BPF needs root'
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no BTF (/sys/kernel/btf/vmlinux missing)'
  try {
    loadNative()
  } catch (error) {
    return (error as Error).message
  }
  return null
}

/** Program names to refuse on purpose, from AGENTCGROUP_BPF_REFUSE (comma list; tests, doctor). */
export function simulatedRefusals(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.AGENTCGROUP_BPF_REFUSE ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

/** Loads and attaches each program of ours (and one per attach type), then detaches them. */
export function probePrograms(): ReturnType<BpfNative['probe']> {
  return loadNative().probe({simulateRefused: simulatedRefusals()})
}

/** CLOCK_MONOTONIC (the BPF clock) and CLOCK_REALTIME read together. */
export function clockSync(): {monoNs: bigint; wallNs: bigint; uncertaintyNs: bigint} {
  return loadNative().clockSync()
}

/**
 * The credentials of the process at the other end of a connected Unix socket (SO_PEERCRED):
 * its pid in our PID namespace (a client in a container shows its host pid), uid and gid.
 * `fd` is the socket's descriptor; for a net.Socket see collector/domains/broker.ts.
 */
export function peerCredentials(fd: number): PeerCredentials {
  return loadNative().peerCredentials(fd)
}

// ---- events ----------------------------------------------------------------------------------

interface EventBase {
  /** CLOCK_MONOTONIC ns */
  tsNs: number
  /** kernfs id of the task's memory cgroup */
  cgid: number
  /** thread-group id */
  pid: number
  tid: number
  ppid: number
  comm: string
}

/**
 * One process, assembled in the kernel and sent once: at its exit, or read from the map at the
 * end of the session while it still lives (`exited` false, tsNs 0).
 */
export interface ProcEvent extends EventBase {
  kind: 'proc'
  /** its fork time */
  startNs: number
  /** its last exec (0: none seen in the subtree) */
  execNs: number
  /** its fork was seen (ppid is the forking process) */
  forked: boolean
  /** it exec'd in the subtree: comm and argv are its last image's */
  execed: boolean
  exited: boolean
  /** argv strings of the last exec, NUL-separated as the kernel keeps them ('' when none) */
  argvRaw: string
  argvTruncated: boolean
  /** an agent process (an agent comm outside any tool call) */
  agent: boolean
  /** tgid of the tool call's root process it belongs to (0: none), marked in the kernel */
  callRoot: number
  utimeNs: number
  stimeNs: number
  /** getrusage's maxrss: the high-water RSS of every image of the process, before exec too */
  maxrssBytes: number
  /** the kernel's high-water RSS of its last image (at exit; VmHWM when still alive) */
  hiwaterBytes: number
  /** highest RSS rss_stat saw since the last exec (0 without that program) */
  peakRssBytes: number
  /** raw wait status: (code << 8) | signal */
  status: number
}

/** The cgroup's counter files at one tick, in the order they were asked for (null: absent). */
export interface SampleEvent {
  kind: 'sample'
  tsNs: number
  values: (number | null)[]
}

export interface RssEvent extends EventBase {
  kind: 'rss'
  rssBytes: number
  peakBytes: number
}

export interface OomEvent extends EventBase {
  kind: 'oom'
  totalVmBytes: number
  anonRssBytes: number
  fileRssBytes: number
  shmemRssBytes: number
  uid: number
  oomScoreAdj: number
}

export interface ReclaimEvent extends EventBase {
  kind: 'reclaim'
  startNs: number
  nrReclaimed: number
}

export interface LoadgenEvent extends EventBase {
  kind: 'loadgen'
  seq: number
}

export type BpfEvent = ProcEvent | SampleEvent | RssEvent | OomEvent | ReclaimEvent | LoadgenEvent

/** Field offsets as plain numbers, read once per batch (the addon's object is slow to probe). */
function offsets(L: NativeLayout) {
  return {
    cgid: L.hdr.cgid,
    comm: L.hdr.comm,
    commLen: L.commLen,
    hdrSize: L.hdr.size,
    kind: L.hdr.kind,
    kLoadgen: L.kinds.loadgen,
    kOom: L.kinds.oom,
    kProc: L.kinds.proc,
    kReclaim: L.kinds.reclaim,
    kRss: L.kinds.rss,
    kSample: L.kinds.sample,
    loadgenSeq: L.loadgen.seq,
    oomAnon: L.oom.anon_rss_bytes,
    oomFile: L.oom.file_rss_bytes,
    oomScore: L.oom.oom_score_adj,
    oomShmem: L.oom.shmem_rss_bytes,
    oomTotal: L.oom.total_vm_bytes,
    oomUid: L.oom.uid,
    pfAgent: L.procFlags.agent,
    pfArgvTruncated: L.procFlags.argvTruncated,
    pfExeced: L.procFlags.execed,
    pfExited: L.procFlags.exited,
    pfForked: L.procFlags.forked,
    pid: L.hdr.pid,
    ppid: L.hdr.ppid,
    procArgv: L.proc.argv,
    procArgvLen: L.proc.argv_len,
    procCallRoot: L.proc.call_root,
    procExecNs: L.proc.exec_ns,
    procExitCode: L.proc.exit_code,
    procFlags: L.proc.flags,
    procHiwater: L.proc.hiwater_bytes,
    procMaxrss: L.proc.maxrss_bytes,
    procPeak: L.proc.peak_rss_bytes,
    procStart: L.proc.start_ns,
    procStime: L.proc.stime_ns,
    procUtime: L.proc.utime_ns,
    reclaimNr: L.reclaim.nr_reclaimed,
    reclaimStart: L.reclaim.start_ns,
    rssBytes: L.rss.rss_bytes,
    rssPeak: L.rss.peak_bytes,
    sampleCount: L.sample.count,
    samplePresent: L.sample.present,
    sampleValues: L.sample.values,
    tid: L.hdr.tid,
    ts: L.hdr.ts_ns,
  }
}

const offsetCache = new WeakMap<NativeLayout, ReturnType<typeof offsets>>()

/** Decodes one batch ([u32 size][u32 0][record padded to 8]...) and calls `emit` per event. */
export function decodeBatch(buf: Buffer, layout: NativeLayout, emit: (e: BpfEvent) => void): number {
  let O = offsetCache.get(layout)
  if (!O) offsetCache.set(layout, (O = offsets(layout)))
  const u64 = (at: number) => buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 4294967296
  let n = 0
  for (let off = 0; off + 8 <= buf.length; ) {
    const size = buf.readUInt32LE(off)
    const r = off + 8
    off = r + ((size + 7) & ~7)
    if (size < O.hdrSize || r + size > buf.length) continue
    const kind = buf.readUInt32LE(r + O.kind)
    const tsNs = u64(r + O.ts)
    n++
    if (kind === O.kSample) {
      const count = Math.min(buf.readUInt32LE(r + O.sampleCount), 32)
      const present = buf.readUInt32LE(r + O.samplePresent)
      const values: (number | null)[] = []
      for (let i = 0; i < count; i++) values.push(present & (1 << i) ? Number(buf.readBigInt64LE(r + O.sampleValues + i * 8)) : null)
      emit({kind: 'sample', tsNs, values})
      continue
    }
    const cgid = u64(r + O.cgid)
    const pid = buf.readUInt32LE(r + O.pid)
    const tid = buf.readUInt32LE(r + O.tid)
    const ppid = buf.readUInt32LE(r + O.ppid)
    let end = r + O.comm
    const commEnd = end + O.commLen
    while (end < commEnd && buf[end] !== 0) end++
    const comm = buf.toString('latin1', r + O.comm, end)
    if (kind === O.kProc) {
      const flags = buf.readUInt32LE(r + O.procFlags)
      const len = Math.min(buf.readUInt32LE(r + O.procArgvLen), size - O.procArgv)
      emit({
        agent: (flags & O.pfAgent) !== 0,
        argvRaw: len > 0 ? buf.toString('utf8', r + O.procArgv, r + O.procArgv + len) : '',
        argvTruncated: (flags & O.pfArgvTruncated) !== 0,
        callRoot: buf.readUInt32LE(r + O.procCallRoot),
        cgid,
        comm,
        execNs: u64(r + O.procExecNs),
        execed: (flags & O.pfExeced) !== 0,
        exited: (flags & O.pfExited) !== 0,
        forked: (flags & O.pfForked) !== 0,
        hiwaterBytes: u64(r + O.procHiwater),
        kind: 'proc',
        maxrssBytes: u64(r + O.procMaxrss),
        peakRssBytes: u64(r + O.procPeak),
        pid,
        ppid,
        startNs: u64(r + O.procStart),
        status: buf.readUInt32LE(r + O.procExitCode),
        stimeNs: u64(r + O.procStime),
        tid,
        tsNs,
        utimeNs: u64(r + O.procUtime),
      })
    } else if (kind === O.kRss) {
      emit({cgid, comm, kind: 'rss', peakBytes: u64(r + O.rssPeak), pid, ppid, rssBytes: u64(r + O.rssBytes), tid, tsNs})
    } else if (kind === O.kOom) {
      emit({
        anonRssBytes: u64(r + O.oomAnon),
        cgid,
        comm,
        fileRssBytes: u64(r + O.oomFile),
        kind: 'oom',
        oomScoreAdj: buf.readInt32LE(r + O.oomScore),
        pid,
        ppid,
        shmemRssBytes: u64(r + O.oomShmem),
        tid,
        totalVmBytes: u64(r + O.oomTotal),
        tsNs,
        uid: buf.readUInt32LE(r + O.oomUid),
      })
    } else if (kind === O.kReclaim) {
      emit({cgid, comm, kind: 'reclaim', nrReclaimed: u64(r + O.reclaimNr), pid, ppid, startNs: u64(r + O.reclaimStart), tid, tsNs})
    } else if (kind === O.kLoadgen) {
      emit({cgid, comm, kind: 'loadgen', pid, ppid, seq: u64(r + O.loadgenSeq), tid, tsNs})
    } else {
      n--
    }
  }
  return n
}

/** The argv strings of a ProcEvent. */
export function argvOf(argvRaw: string): string[] {
  if (argvRaw === '') return []
  const argv = argvRaw.split('\0')
  if (argv[argv.length - 1] === '') argv.pop()
  return argv
}

/** Decodes a raw wait status: exit code 0-255, or the negative signal number. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f
  return sig === 0 ? (status >> 8) & 0xff : -sig
}

// ---- sessions --------------------------------------------------------------------------------

export interface TracerOptions {
  /** kernfs id of the target memory cgroup (its directory's inode) */
  cgroupId: number | bigint
  /** depth of that cgroup below its hierarchy's root */
  level: number
  /** 'v2': the default hierarchy holds memory; 'v1': a memory hierarchy of its own */
  hierarchy: 'v1' | 'v2'
  objects?: readonly BpfObjectName[]
  /** an RSS event each time a process's peak grew by this much (default 8 MiB) */
  rssThresholdBytes?: number
  /** program names to refuse on purpose (default: AGENTCGROUP_BPF_REFUSE) */
  simulateRefused?: string[]
  /** ring buffer size (default 8 MiB) */
  ringbufBytes?: number
  /** how often batches are handed to onEvent (default 50 ms): each one wakes the main thread */
  deliverMs?: number
  /** counter files the addon's thread reads every sampleMs, as 'sample' events (see cgroupfs.ts) */
  counters?: {path: string; key: string}[]
  sampleMs?: number
  /** tool-call boundaries in the kernel: comm names of the agent and of its tool shells */
  agentComms?: string[]
  callComms?: string[]
  loadgen?: {tgid: number; syscallNr: number}
  /** each event, decoded as its batch arrives */
  onEvent?: (e: BpfEvent) => void
  /** or each batch undecoded, to decode later with decodeBatch(buf, tracer.layout, ...) */
  onBatch?: (buf: Buffer) => void
  /** an exception thrown by onEvent (events keep flowing; the first one is kept) */
  onError?: (error: unknown) => void
}

/**
 * One tracing session on a cgroup subtree. Programs the kernel refuses are left out and
 * listed in `programs` (the rest run). stop() detaches, delivers what is left, then resolves.
 */
export class BpfTracer {
  private closed: Promise<void>
  private finalStats: NativeSessionStats | null = null

  private constructor(
    private readonly session: NativeSession,
    closed: Promise<void>,
    readonly programs: NativeProgramStatus[],
    readonly layout: NativeLayout,
  ) {
    this.closed = closed
  }

  static start(opts: TracerOptions): BpfTracer {
    const native = loadNative()
    const layout = native.layout()
    let resolveClosed: () => void = () => {}
    const closed = new Promise<void>((r) => {
      resolveClosed = r
    })
    const onEvent = opts.onEvent
    const onBatch = (buf: Buffer) => {
      try {
        if (opts.onBatch) opts.onBatch(buf)
        else if (onEvent) decodeBatch(buf, layout, onEvent)
      } catch (error) {
        // never let an exception escape into the addon's thread-safe call
        opts.onError?.(error)
      }
    }
    const session = new native.Session(
      {
        loadgenNr: opts.loadgen?.syscallNr ?? -1,
        loadgenTgid: opts.loadgen?.tgid ?? 0,
        agentComms: opts.agentComms ?? [],
        callComms: opts.callComms ?? [],
        counters: opts.counters ?? [],
        deliverMs: opts.deliverMs ?? 50,
        objects: [...(opts.objects ?? RECORD_OBJECTS)],
        sampleMs: opts.sampleMs ?? 0,
        ringbufBytes: opts.ringbufBytes ?? 8 << 20,
        rssThresholdBytes: BigInt(opts.rssThresholdBytes ?? 8 << 20),
        simulateRefused: opts.simulateRefused ?? simulatedRefusals(),
        targetCgid: BigInt(opts.cgroupId),
        targetLevel: opts.level,
        useDfl: opts.hierarchy === 'v2',
        // records wait in the buffer until the timer drains it, unless a quarter of it fills
        wakeupBytes: BigInt(Math.floor((opts.ringbufBytes ?? 8 << 20) / 4)),
      },
      onBatch,
      () => resolveClosed(),
    )
    return new BpfTracer(session, closed, session.programs(), layout)
  }

  /** Programs that run (loaded and attached). */
  get running(): string[] {
    return this.programs.filter((p) => p.ok).map((p) => p.name)
  }

  get refused(): NativeProgramStatus[] {
    return this.programs.filter((p) => !p.ok)
  }

  drops(): number {
    return Number(this.finalStats?.drops ?? this.session.drops())
  }

  stats(): NativeSessionStats {
    return this.finalStats ?? this.session.stats()
  }

  /** Detaches now (synchronous: safe in exit handlers); stop() still delivers what is left. */
  detach(): NativeSessionStats {
    this.finalStats ??= this.session.stop()
    return this.finalStats
  }

  async stop(): Promise<NativeSessionStats> {
    const stats = this.detach()
    await this.closed
    return stats
  }
}
