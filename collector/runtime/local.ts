/**
 * The local runtime, for machines without Podman: the task's repository is copied into a
 * temp dir (by the attempt runner) and every command runs on the host inside a cgroup of ours
 * (`agentcgroup/bench-<pid>-<n>`): a small shell puts itself into the group, then execs the
 * command, so the command's memory is charged there from its first page.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import {UserError} from '../../datasets/errors.js'
import {AGENT_LEAF} from '../domains/v2-leaf.js'
import {Cgroup, CgroupFileError, CgroupSystem, OUR_ROOT, ownedName} from '../../kernel/cgroup.js'
import {trackCgroup} from '../../kernel/cleanup.js'
import {ExecOptions, ExecResult, run} from '../exec.js'
import type {BenchTask} from '../tasks.js'
import type {CreateSpec, Mount, Runtime} from './types.js'

const ENTER = 'for d in "$@"; do [ "$d" = -- ] && break; echo $$ > "$d/cgroup.procs" || exit 126; done; while [ "$1" != -- ]; do shift; done; shift; exec "$@"'

export class LocalRuntime implements Runtime {
  readonly name = 'local' as const
  readonly image = null
  private cg: Cgroup | null = null
  private untrack: (() => void) | null = null
  private repo = ''

  /** `parentRel`: where the attempt's group goes (a node of --control), default our root */
  constructor(
    private readonly sys: CgroupSystem,
    private readonly parentRel: string = OUR_ROOT,
  ) {}

  async prepare(task: BenchTask): Promise<void> {
    if (task.repoDir === null) throw new UserError(`task ${task.id}: its repository exists only in its image ${task.image ?? ''}; use --runtime podman`)
  }

  async create(spec: CreateSpec): Promise<void> {
    if (!spec.repoCopy) throw new Error('internal: the local runtime needs a repository copy')
    this.repo = spec.repoCopy
    try {
      this.cg = Cgroup.create(this.sys, `${this.parentRel}/${ownedName('bench')}`)
    } catch (error) {
      if (error instanceof CgroupFileError) throw new UserError(`the local runtime needs a cgroup of its own: ${error.message} (run as root)`)
      throw error
    }
    this.untrack = trackCgroup(this.cg)
    if (spec.memoryBytes) this.cg.setMemoryMax(spec.memoryBytes)
  }

  cgroupRel(): string {
    if (!this.cg) throw new Error('internal: cgroup before create')
    return this.cg.rel
  }

  containerName(): string | null {
    return null
  }

  netnsPid(): number | null {
    return null
  }

  workdir(): string {
    return this.repo
  }

  pathInside(m: Mount): string {
    return m.host
  }

  exec(argv: string[], env: Record<string, string>, opts: ExecOptions & {cwd?: string} = {}): Promise<ExecResult> {
    if (!this.cg) throw new Error('internal: exec before create')
    const {cwd, ...rest} = opts
    const base = {PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8'}
    // cgroup v2: once tool calls have groups of their own, the agent's processes live in a leaf
    const leaf = this.cg.version === 'v2' ? this.cg.dir('unified') : null
    const home = leaf && existsSync(join(leaf, AGENT_LEAF)) ? Cgroup.at(this.sys, `${this.cg.rel}/${AGENT_LEAF}`) : this.cg
    return run('/bin/sh', ['-c', ENTER, 'enter', ...home.dirs(), '--', ...argv], {...rest, cwd: cwd ?? this.repo, env: {...base, ...env}})
  }

  async teardown(): Promise<void> {
    this.untrack?.()
    this.untrack = null
    this.cg = null
  }
}
