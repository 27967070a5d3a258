/**
 * The native surface of bpf/src/addon.cc (bpf_addon.node), cast once in bpf/index.ts.
 * Raw shapes: bigint where the kernel gives 64-bit values, field offsets from the compiler.
 */

/** One BPF program of ours (or a doctor probe) and whether the kernel took it. */
export interface NativeProgramStatus {
  name: string
  /** the .bpf.c it comes from: proc, rss, oom, reclaim, loadgen, probe */
  object: string
  ok: boolean
  /** where it failed: open, load (verifier, missing attach target) or attach */
  stage?: 'open' | 'load' | 'attach'
  /** one line: libbpf's message and the verifier's last words */
  error?: string
}

export interface NativeSessionOptions {
  /** kernfs id of the target memory cgroup (0 = every task) */
  targetCgid: bigint
  /** its depth below the hierarchy root */
  targetLevel: number
  /** cgroup v2: match the default hierarchy cgroup; v1: the memory controller's */
  useDfl: boolean
  /** objects to load: proc, rss, oom, reclaim, loadgen */
  objects: string[]
  /** program names to refuse on purpose (tests and doctor): loaded as sleepable, the kernel says no */
  simulateRefused?: string[]
  rssThresholdBytes?: bigint
  /** bytes waiting before a record wakes the reader (0: every record) */
  wakeupBytes?: bigint
  /** power of two, a multiple of the page size */
  ringbufBytes?: number
  /** how often the poll thread hands a batch to JavaScript, ms */
  deliverMs?: number
  /** sampling interval of the counter files, ms (0: none) */
  sampleMs?: number
  /** counter files (at most layout().maxCounters), parsed as in counters.h */
  counters?: {path: string; key: string}[]
  /** proc.bpf.c's tool-call boundaries: comm names of the agent and of its tool shells */
  agentComms?: string[]
  callComms?: string[]
  loadgenTgid?: number
  loadgenNr?: number
}

export interface NativeProgramStats {
  name: string
  /** present when kernel.bpf_stats_enabled could be turned on */
  runTimeNs?: bigint
  runCount?: bigint
}

export interface NativeSessionStats {
  programs: NativeProgramStats[]
  /** records handed to JavaScript */
  records: bigint
  /** calls into JavaScript that carried them */
  batches: bigint
  /** records lost because the ring buffer was full */
  drops: bigint
  /** why per-program run time is missing */
  runTimeUnavailable?: string
}

export interface NativeSession {
  programs(): NativeProgramStatus[]
  drops(): bigint
  stats(): NativeSessionStats
  /** detaches everything; the last batches arrive, then onClose is called */
  stop(): NativeSessionStats
}

export interface NativeSessionConstructor {
  new (opts: NativeSessionOptions, onBatch: (batch: Buffer) => void, onClose: () => void): NativeSession
}

export interface FieldOffsets {
  size: number
  [field: string]: number
}

export interface NativeLayout {
  hdr: FieldOffsets
  proc: FieldOffsets
  sample: FieldOffsets
  procFlags: Record<'forked' | 'execed' | 'exited' | 'argvTruncated' | 'agent' | 'callRoot', number>
  rss: FieldOffsets
  oom: FieldOffsets
  reclaim: FieldOffsets
  loadgen: FieldOffsets
  kinds: Record<'proc' | 'rss' | 'oom' | 'reclaim' | 'loadgen' | 'sample', number>
  commLen: number
  argvMax: number
  maxCounters: number
}

export interface BpfNative {
  Session: NativeSessionConstructor
  probe(opts?: {simulateRefused?: string[]}): {
    ringbuf: {ok: boolean; error?: string}
    programs: NativeProgramStatus[]
    types: NativeProgramStatus[]
  }
  clockSync(): {monoNs: bigint; wallNs: bigint; uncertaintyNs: bigint}
  layout(): NativeLayout
  libbpfVersion(): string
  /** getsockopt(SO_PEERCRED) on a connected Unix socket's fd; pid in our PID namespace */
  peerCredentials(fd: number): PeerCredentials
}

/** Who is at the other end of a Unix socket, as the kernel recorded it at connect(). */
export interface PeerCredentials {
  pid: number
  uid: number
  gid: number
}
