/**
 * A runtime runs a task's agent and tests somewhere we can measure: a Podman container whose
 * cgroup parent is ours, or the host inside a cgroup of ours. The attempt runner calls, in
 * order: prepare (image), create (container / cgroup), exec (agent, tests) any number of
 * times, then teardown (always, also after errors).
 */
import type {ExecOptions, ExecResult} from '../exec.js'
import type {BenchTask} from '../tasks.js'

export interface Mount {
  host: string
  /** path in the container (the local runtime uses the host path) */
  target: string
  readOnly?: boolean
}

export interface CreateSpec {
  /** host directory holding the repository copy (null: the repository is in the image) */
  repoCopy: string | null
  mounts: Mount[]
  /** a memory limit for the container, bytes */
  memoryBytes?: number | null
}

export interface Runtime {
  readonly name: 'podman' | 'local'
  /** the image actually used (null for local) */
  readonly image: string | null
  /** image_prepare: makes sure the image exists; a clear error when it cannot */
  prepare(task: BenchTask, log: (msg: string) => void): Promise<void>
  /** container_create: the container (or cgroup) exists and is ready for exec */
  create(spec: CreateSpec): Promise<void>
  /** the cgroup to sample, relative to the mounts (always under agentcgroup/) */
  cgroupRel(): string
  /** the container's name (podman), for samplers that ask podman */
  containerName(): string | null
  /** pid whose network namespace the agent sees (null: the host's) */
  netnsPid(): number | null
  /** the task's working directory as the agent sees it */
  workdir(): string
  /** where a host path of a mount appears to the agent */
  pathInside(m: Mount): string
  /** runs a command inside (argv[0] is resolved inside); env is added to a clean base */
  exec(argv: string[], env: Record<string, string>, opts?: ExecOptions & {cwd?: string}): Promise<ExecResult>
  /** teardown: nothing of ours is left (container, cgroups) */
  teardown(): Promise<void>
}
