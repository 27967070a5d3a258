/**
 * The podman runtime: one container per attempt, `--network none`, runc, with
 * `--cgroup-parent /agentcgroup/bench-<pid>-<n>` so the sampler knows where it lands
 * (`<parent>/libpod-<id>` in every v1 hierarchy; conmon in `<parent>/conmon`). PID 1 sleeps;
 * the agent and the tests are `podman exec`ed into it (they join the container's cgroup).
 * The parent cgroup is ours (removed at teardown, or reaped after a kill -9 by name).
 */
import {spawnSync} from 'node:child_process'

import {Cgroup, CgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {onCleanup, trackCgroup} from '../../kernel/cleanup.js'
import {UserError} from '../../datasets/errors.js'
import type {ExecOptions, ExecResult} from '../exec.js'
import {ensureDemoImage} from '../image.js'
import {imageExists, podman, podmanGlobalArgs, podmanOk, removeContainer} from '../podman.js'
import type {BenchTask} from '../tasks.js'
import type {CreateSpec, Mount, Runtime} from './types.js'

/** Containers of ours are named `agentcgroup-<owner pid>-<n>` so leftovers can be reaped. */
export const CONTAINER_PREFIX = 'agentcgroup-'

export class PodmanRuntime implements Runtime {
  readonly name = 'podman' as const
  image: string | null = null
  private container: string | null = null
  private pid = 0
  private cgroupPath = ''
  private parent: Cgroup | null = null
  private untrackParent: (() => void) | null = null
  private unhook: (() => void) | null = null
  private workdirPath = '/testbed'

  /** `parentRel`: where the container's parent group goes (a node of --control), default our root */
  constructor(
    private readonly sys: CgroupSystem,
    private readonly parentRel: string = OUR_ROOT,
  ) {}

  async prepare(task: BenchTask, log: (msg: string) => void): Promise<void> {
    this.workdirPath = task.workdir
    if (task.image === null) {
      this.image = (await ensureDemoImage(log)).image
      return
    }
    this.image = task.image
    if (!(await imageExists(task.image))) {
      throw new UserError(`image ${task.image} is not available locally and cannot be pulled offline (build or load it, e.g. podman load, then run again)`)
    }
  }

  async create(spec: CreateSpec): Promise<void> {
    if (!this.image) throw new Error('internal: create before prepare')
    const name = ownedName('bench')
    this.parent = Cgroup.create(this.sys, `${this.parentRel}/${name}`)
    this.untrackParent = trackCgroup(this.parent)
    this.container = `${CONTAINER_PREFIX}${name.slice('bench-'.length)}`
    const container = this.container
    // a synchronous last resort at exit (Ctrl-C twice, errors): the container must not outlive us
    this.unhook = onCleanup(() => {
      removeContainerSync(container)
    })
    const mounts = [...spec.mounts]
    if (spec.repoCopy) mounts.push({host: spec.repoCopy, target: this.workdirPath})
    const args = ['run', '-d', '--name', container, '--network', 'none', '--cgroup-parent', `/${this.parentRel}/${name}`, '--label', `agentcgroup.owner=${process.pid}`, '-w', this.workdirPath]
    for (const m of mounts) args.push('-v', `${m.host}:${m.target}${m.readOnly ? ':ro' : ''}`)
    if (spec.memoryBytes) args.push('--memory', String(spec.memoryBytes), '--memory-swap', String(spec.memoryBytes))
    args.push(this.image, 'sleep', 'infinity')
    await podmanOk(args, {timeoutMs: 120_000})
    const info = (await podmanOk(['inspect', '--format', '{{.State.Pid}} {{.State.CgroupPath}}', container])).trim().split(' ')
    this.pid = Number(info[0])
    this.cgroupPath = info[1] ?? ''
  }

  cgroupRel(): string {
    return this.cgroupPath.replace(/^\/+/, '')
  }

  containerName(): string | null {
    return this.container
  }

  netnsPid(): number | null {
    return this.pid || null
  }

  workdir(): string {
    return this.workdirPath
  }

  pathInside(m: Mount): string {
    return m.target
  }

  exec(argv: string[], env: Record<string, string>, opts: ExecOptions & {cwd?: string} = {}): Promise<ExecResult> {
    if (!this.container) throw new Error('internal: exec before create')
    const {cwd, ...rest} = opts
    const args = ['exec', '-i', '-w', cwd ?? this.workdirPath]
    // `-e NAME` takes the value from podman's own environment: no key on a command line
    for (const k of Object.keys(env)) args.push('-e', k)
    return podman([...args, this.container, ...argv], {...rest, env: {...process.env, ...env}})
  }

  async teardown(): Promise<void> {
    if (this.container) await removeContainer(this.container)
    this.unhook?.()
    this.unhook = null
    this.container = null
    // podman removes libpod-<id>; the parent (and conmon's group) are ours to remove
    this.untrackParent?.()
    this.untrackParent = null
    this.parent = null
  }
}

function removeContainerSync(name: string): void {
  spawnSync('podman', [...podmanGlobalArgs(), 'rm', '-f', '-t', '0', '--ignore', name], {stdio: 'ignore', timeout: 20_000})
}

/** Removes containers of ours whose owner process is gone (after a kill -9); returns their names. */
export async function reapContainers(isAlive: (pid: number) => boolean): Promise<string[]> {
  const r = await podman(['ps', '-a', '--filter', 'label=agentcgroup.owner', '--format', '{{.Names}} {{index .Labels "agentcgroup.owner"}}'])
  if (r.code !== 0) return []
  const removed: string[] = []
  for (const line of r.stdout.trim().split('\n')) {
    const [name, owner] = line.trim().split(' ')
    if (!name || !name.startsWith(CONTAINER_PREFIX)) continue
    if (owner && Number(owner) !== process.pid && isAlive(Number(owner))) continue
    if (Number(owner) === process.pid) continue
    await removeContainer(name)
    removed.push(name)
  }
  return removed
}
