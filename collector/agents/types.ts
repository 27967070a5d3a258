/**
 * An agent adapter says how to start the agent in a runtime, where its transcript is, and
 * how a tool call looks in the process tree (for attributing processes to tool calls).
 */
import type {ToolCallRow} from '../../datasets/model.js'
import type {LatencyMode, ReplayEvent} from '../replay-server.js'
import type {Mount, Runtime} from '../runtime/types.js'
import type {BenchTask} from '../tasks.js'
import type {ToolCallComms} from '../samplers/types.js'

export interface AgentContext {
  task: BenchTask
  runtime: Runtime
  prompt: string
  /** a private host directory for the agent's HOME (and scratch files) */
  homeDir: string
  /** host scratch directory of this attempt (configs, copies) */
  scratchDir: string
  timeoutMs: number
  /** files of the recorded session to replay (session file, then sub-agent files), if any */
  sessionFiles: string[] | null
  latency: LatencyMode
  log: (msg: string) => void
  /** the agent is up: its first model request (or first tool call) happened now */
  onActive: (tUs: number) => void
  onServerEvent: (ev: ReplayEvent) => void
  /**
   * With tool-call cgroups: the shell the agent must use for its tool calls (our wrapper, as
   * the agent sees it) and the environment that reaches the broker. Null: the usual shell.
   */
  shell: ToolShell | null
}

export interface ToolShell {
  /** the wrapper's path, named bash (zsh beside it) so agents accept it as their shell */
  path: string
  env: Record<string, string>
}

export interface AgentResult {
  exitCode: number | null
  timedOut: boolean
  /** raw transcript files (redacted before they are stored) */
  transcripts: {file: string; text: string}[]
  /** tool calls the adapter measured itself (scripted), when it has no transcript */
  toolCalls: ToolCallRow[]
  agentVersion: string | null
  /** the last lines of the agent's output, for errors */
  outputTail: string
}

export interface Agent {
  readonly name: string
  /** mounts the agent needs (HOME, its binaries); created before the container */
  mounts(ctx: Pick<AgentContext, 'homeDir' | 'runtime'>): Mount[]
  run(ctx: AgentContext): Promise<AgentResult>
  /** Is this process the shell of a tool call? (argv, and the tool it serves) */
  toolShell(argv: string): string | null
  /**
   * How its tool calls look in the process tree, for the BPF sampler to mark in the kernel:
   * the agent's comm and its tool shells' (absent: the agent runs no tool shells of its own)
   */
  readonly toolCallComms?: ToolCallComms
}

export function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join('\n')
}
