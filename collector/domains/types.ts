/**
 * Tool-call resource domains: each tool call's process tree runs in its own child cgroup
 * `<agent cgroup>/tool-<seq>`. The agent's shell is our wrapper (collector/native/toolshell.c);
 * it asks the host-side broker (broker.ts, a Unix socket) to create the group and move it in,
 * and only then runs the command, so every byte the call charges is charged to its group.
 */
import type {Cgroup} from '../../kernel/cgroup.js'

/** A tool call whose group exists and holds the wrapper (the command has not started yet). */
export interface DomainStart {
  /** from 0, in order of arrival within one broker (one agent) */
  seq: number
  /** `tool-<seq>` */
  name: string
  group: Cgroup
  /**
   * the group's memory cgroup kernfs id: the BPF sampler tags every process with it, so each
   * process of the call is attributed to it in the kernel (null without a memory controller)
   */
  cgroupId: number | null
  /** the wrapper's pid in the host's PID namespace (SO_PEERCRED) */
  pid: number
  /** the shell's arguments as the agent passed them (e.g. ['-c', '-l', '<command string>']) */
  argv: string[]
  /** wall clock, µs since the epoch */
  startUs: number
}

/** A finished tool call, measured from its group before the group was removed. */
export interface DomainEnd extends DomainStart {
  endUs: number
  /** the shell's exit status (128+signal when killed); null when the wrapper vanished */
  exitCode: number | null
  /** v1 memory.max_usage_in_bytes, v2 memory.peak (null where the kernel has neither) */
  peakMemBytes: number | null
  /** CPU time of the group, µs */
  cpuUsec: number | null
  /** OOM kills inside the group */
  oomKills: number
  /** processes still in the group when the call ended, killed by the broker */
  leftoversKilled: number
  /** time the controller held the call back (filled in by the controller's hook; 0 otherwise) */
  throttledMs: number
  frozenMs: number
}

/** How the broker's owner takes part in a tool call's life. */
export interface DomainHooks {
  /** the group exists and holds the wrapper; set limits and weights, register with the controller */
  onStart?(d: DomainStart): void
  /**
   * the command ended; called before leftovers are killed and the group removed. May fill in
   * throttledMs/frozenMs, and return a note the wrapper prints to the tool's stderr (the hint
   * to the agent), or null.
   */
  onEnd?(d: DomainEnd): string | null
}
