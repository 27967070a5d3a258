/**
 * Shared by the collector's tests: real Podman with a private storage under the cache dir
 * (one demo image imported once per machine, shared by every test file), the CLI as a real
 * process, and checks that nothing of ours is left behind.
 */
import {execFile, execFileSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {cacheDir} from '../../collector/image.js'
import {podmanAvailable} from '../../collector/podman.js'
import {detectCgroupSystem, OUR_ROOT, pidAlive} from '../../kernel/cgroup.js'

const execFileP = promisify(execFile)
export const BIN = join(process.cwd(), 'bin', 'run.js')

/** Why the Podman tests cannot run here, or null when they can. */
export function podmanSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (Podman rootful, cgroups of ours)'
  if (!podmanAvailable()) return 'needs podman and runc (scripts/setup.sh installs them)'
  return null
}

/** The private Podman storage of the tests (kept between runs: the image import happens once). */
export function testPodmanRoot(): string {
  return join(cacheDir(), 'podman-test')
}

export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...process.env, AGENTCGROUP_PODMAN_ROOT: testPodmanRoot(), ...extra}
  // a real key in the developer's environment must not turn the replay into a paid run
  delete env.ANTHROPIC_API_KEY
  delete env.ANTHROPIC_AUTH_TOKEN
  delete env.ANTHROPIC_BASE_URL
  delete env.AGENTCGROUP_DB
  return {...env, ...extra}
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

export async function cli(args: string[], opts: {cwd?: string; env?: Record<string, string>; timeoutMs?: number} = {}): Promise<CliResult> {
  try {
    const {stderr, stdout} = await execFileP(process.execPath, [BIN, ...args], {cwd: opts.cwd ?? process.cwd(), env: testEnv(opts.env), maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 600_000})
    return {code: 0, stderr, stdout}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr, stdout: e.stdout}
  }
}

export function podmanSync(args: string[]): string {
  return execFileSync('podman', ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--root', join(testPodmanRoot(), 'root'), '--runroot', join(testPodmanRoot(), 'runroot'), ...args], {encoding: 'utf8'})
}

/**
 * Containers, cgroups and scratch dirs of ours that belong to `pid`, or (null) that belong to
 * a process that is gone: what a run left behind (live runs of other processes are not).
 */
export function leftovers(pid: number | null): string[] {
  const mine = (owner: number) => (pid === null ? !pidAlive(owner) : owner === pid)
  const out: string[] = []
  const names = podmanSync(['ps', '-a', '--filter', 'label=agentcgroup.owner', '--format', '{{.Names}} {{index .Labels "agentcgroup.owner"}}'])
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
  for (const l of names) if (mine(Number(l.split(' ')[1]))) out.push(`container ${l}`)
  const sys = detectCgroupSystem()
  // every hierarchy: podman's --cgroup-parent creates our groups in all of them
  for (const dir of sys.allMounts) {
    const root = join(dir, OUR_ROOT)
    if (!existsSync(root)) continue
    for (const n of readdirSync(root)) {
      const m = /^bench-(\d+)-\d+$/.exec(n)
      if (m && mine(Number(m[1]))) out.push(`cgroup ${join(root, n)}`)
    }
  }
  for (const n of readdirSync(tmpdir())) {
    const m = /^agentcgroup-(?:run|session)-(\d+)-/.exec(n)
    if (m && mine(Number(m[1]))) out.push(`tmp ${n}`)
  }
  return out
}

/** Builds the demo image into the test storage (once per machine; cached by recipe hash). */
export async function ensureTestImage(): Promise<string> {
  process.env.AGENTCGROUP_PODMAN_ROOT = testPodmanRoot()
  const {ensureDemoImage} = await import('../../collector/image.js')
  return (await ensureDemoImage()).image
}
