/**
 * The podman CLI. A private storage (`AGENTCGROUP_PODMAN_ROOT=<dir>`: --root <dir>/root
 * --runroot <dir>/runroot) keeps tests and benchmarks apart from the user's images.
 * runc is forced: crun refuses hybrid cgroup hosts.
 */
import {mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {commandExists, ExecOptions, ExecResult, run, runOk} from './exec.js'

export function podmanGlobalArgs(): string[] {
  const args = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs']
  const root = process.env.AGENTCGROUP_PODMAN_ROOT
  if (root) args.push('--root', join(root, 'root'), '--runroot', join(root, 'runroot'))
  return args
}

/**
 * The directory podman runs in: conmon writes an empty `oom` marker into its working
 * directory when a container is OOM-killed, which must not land in the user's folder.
 */
function podmanCwd(): string {
  const dir = join(tmpdir(), 'agentcgroup-podman')
  mkdirSync(dir, {recursive: true})
  return dir
}

export function podman(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run('podman', [...podmanGlobalArgs(), ...args], {cwd: podmanCwd(), ...opts})
}

export function podmanOk(args: string[], opts: ExecOptions = {}): Promise<string> {
  return runOk('podman', [...podmanGlobalArgs(), ...args], {cwd: podmanCwd(), ...opts})
}

export function podmanAvailable(): boolean {
  return commandExists('podman') && commandExists('runc')
}

export async function imageExists(name: string): Promise<boolean> {
  const r = await podman(['image', 'exists', name])
  return r.code === 0
}

/** Force-removes a container now (-t 0: PID 1 may ignore SIGTERM); a missing one is fine. */
export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '-f', '-t', '0', '--ignore', name])
}
