/**
 * Feature detection: what this machine supports (cgroup layout and controllers, BTF, PSI,
 * sched_ext, memcg_bpf_ops, BPF tool chain, container runtimes, a browser, root) and, for each
 * missing piece, what it turns off. Reads only; every path is under `root` so tests can point
 * it at a fake tree.
 */
import {execFile} from 'node:child_process'
import {constants} from 'node:fs'
import {access, readFile, readdir, stat} from 'node:fs/promises'
import path from 'node:path'

import {
  CONTROLLERS,
  type CgroupLayout,
  type ControllerLocation,
  type V2Tree,
  layoutOf,
  locateController,
  parseCgroupMounts,
  parseControllersList,
  v2MountOf,
} from './cgroup-layout.js'

export interface FeatureItem {
  /** Stable identifier: 'cgroup', 'memory', 'btf', 'podman', ... */
  name: string
  ok: boolean
  /** What was found (path, version) or why it is missing. */
  detail: string
  /** For a missing piece: what it turns off, and the fallback if there is one. */
  disables?: string
}

export interface FeatureReport {
  /** Kernel release (`uname -r`), or 'unknown'. */
  kernel: string
  cgroup: {
    layout: CgroupLayout
    /** Mount path of the cgroup2 tree, or null. */
    v2Mount: string | null
    /** memory, cpu, cpuacct, freezer, pids: where each lives, or null when nowhere. */
    controllers: Record<string, ControllerLocation | null>
  }
  items: FeatureItem[]
  /** Number of items that are not ok. */
  missing: number
}

export interface DetectOptions {
  /** Filesystem root prefixed to every path read (default '/'); tests use a fake tree. */
  root?: string
  /** PATH to search for tools (default process.env.PATH). */
  path?: string
  /** User id to judge root by (default process.getuid()). */
  uid?: number
  /** Timeout of each `<tool> --version` (default 3000 ms). */
  versionTimeoutMs?: number
}

/** What each missing piece turns off. */
export const DISABLES = {
  cgroup: 'local runtime, cgroupfs sampler and real-cgroup replay (use replay --backend sim)',
  cgroupV2: 'the cgroup-v2 backend (memory.max/high/events, cgroup.freeze, cgroup.kill, per-cgroup PSI); the cgroup-v1 backend is used where v1 has the memory controller',
  memory: 'real-cgroup replay and memory limits (use replay --backend sim)',
  cpu: 'CPU weights per run and per tool call',
  cpuacct: 'CPU usage from cgroup files (the cgroupfs sampler records memory only)',
  freezer: 'freezing tenants (the agentcgroup policy throttles instead)',
  pids: 'process-count limits per run',
  btf: 'BPF sampler (record --sampler bpf); use --sampler cgroupfs',
  psi: 'PSI triggers',
  inKernel: 'in-kernel policies; the user-space controller does the job',
  libbpf: 'building the BPF addon (record --sampler bpf); use --sampler cgroupfs',
  bpftool: 'generating vmlinux.h and BPF skeletons (record --sampler bpf); use --sampler cgroupfs',
  clang: 'compiling BPF programs (record --sampler bpf); use --sampler cgroupfs',
  podman: 'podman runtime (run-benchmark falls back to --runtime local)',
  runc: 'podman on hybrid-cgroup hosts (crun refuses hybrid mode)',
  crun: 'crun as the podman OCI runtime (runc is used)',
  chromium: 'report browser tests',
  root: 'creating cgroups and loading BPF: local runtime, record --sampler bpf, real-cgroup replay (use replay --backend sim)',
} as const

/** What each of our BPF programs (bpf/*.bpf.c) gives `record`, and each attach type. */
const BPF_PROGRAM_DISABLES: Record<string, string> = {
  handle_exec: 'command lines (argv) of recorded processes',
  handle_exit: 'exit codes, end times and exact peak RSS of recorded processes',
  handle_fork: 'fork times and parents of recorded processes',
  handle_mark_victim: "OOM victims by pid (the cgroup's OOM counter still counts kills)",
  handle_reclaim_begin: 'memory reclaim stall events',
  handle_reclaim_end: 'memory reclaim stall events',
  handle_rss_stat: 'rss_peak events and the peak RSS of processes still running when a recording ends',
}
const BPF_TYPE_DISABLES = 'nothing: agentcgroup loads tp_btf programs only (this tells what other BPF tools could use)'

async function bpfItems(uid: number | undefined, hasBtf: boolean): Promise<FeatureItem[]> {
  const item = (name: string, ok: boolean, detail: string, disables: string): FeatureItem => (ok ? {detail, name, ok} : {detail, disables, name, ok})
  if (uid !== 0) return [item('bpf-programs', false, 'not probed: loading BPF programs needs root', DISABLES.btf)]
  if (!hasBtf) return [item('bpf-programs', false, 'not probed: no BTF', DISABLES.btf)]
  let probe: Awaited<typeof import('../bpf/index.js')>['probePrograms']
  let version = ''
  try {
    const bpf = await import('../bpf/index.js')
    version = bpf.loadNative().libbpfVersion()
    probe = bpf.probePrograms
  } catch (error) {
    return [item('bpf-addon', false, (error as Error).message, DISABLES.btf)]
  }
  const r = probe()
  const items = [item('bpf-addon', true, `loads, libbpf ${version}`, DISABLES.btf)]
  items.push(item('bpf:ringbuf', r.ringbuf.ok, r.ringbuf.ok ? 'BPF ring buffers' : r.ringbuf.error ?? 'not supported', DISABLES.btf))
  for (const t of r.types) {
    const type = t.name.replace(/^probe_/, '')
    items.push(item(`bpf-type:${type}`, t.ok, t.ok ? 'loads and attaches' : `refused at ${t.stage}: ${t.error}`, BPF_TYPE_DISABLES))
  }
  for (const p of r.programs) {
    items.push(item(`bpf:${p.name}`, p.ok, p.ok ? `${p.object}.bpf.c: loads and attaches` : `${p.object}.bpf.c refused at ${p.stage}: ${p.error}`, BPF_PROGRAM_DISABLES[p.name] ?? DISABLES.btf))
  }
  return items
}

const TOOLS = ['bpftool', 'clang', 'podman', 'runc', 'crun', 'chromium'] as const
/** Searched after PATH: bpftool and runc live in sbin, which a non-root PATH often lacks. */
const FALLBACK_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib']
const MEMCG_BPF_OPS_NAMES = ['bpf_memcg_ops', 'memcg_bpf_ops']

export async function detectFeatures(opts: DetectOptions = {}): Promise<FeatureReport> {
  const root = opts.root ?? '/'
  const at = (p: string): string => path.join(root, p)

  const kernel = (await readText(at('/proc/sys/kernel/osrelease')))?.trim() || 'unknown'

  // cgroups
  const mounts = parseCgroupMounts((await readText(at('/proc/self/mounts'))) ?? '')
  const layout = layoutOf(mounts)
  const v2Mount = v2MountOf(mounts)
  const v2: V2Tree = {
    mount: v2Mount,
    controllers: v2Mount === null ? [] : parseControllersList((await readText(at(path.join(v2Mount, 'cgroup.controllers')))) ?? ''),
    hasCpuStat: v2Mount !== null && (await exists(at(path.join(v2Mount, 'cpu.stat')))),
    hasFreeze: v2Mount !== null && kernelAtLeast(kernel, 5, 2),
  }
  const controllers: Record<string, ControllerLocation | null> = {}
  for (const c of CONTROLLERS) controllers[c] = locateController(mounts, v2, c)

  const items: FeatureItem[] = []
  const add = (name: string, ok: boolean, detail: string, disables: string): void => {
    items.push(ok ? {name, ok, detail} : {name, ok, detail, disables})
  }

  add('cgroup', layout !== 'none', layoutDetail(layout, mounts.filter((m) => m.fstype === 'cgroup').length, v2Mount), DISABLES.cgroup)
  const memOnV2 = controllers.memory?.version === 'v2'
  add(
    'cgroup-v2',
    memOnV2,
    v2Mount === null
      ? 'no cgroup2 tree mounted'
      : `${v2Mount} ${memOnV2 ? 'with' : 'without'} the memory controller (controllers: ${v2.controllers.join(' ') || 'none'})`,
    DISABLES.cgroupV2,
  )
  for (const c of CONTROLLERS) {
    const loc = controllers[c]
    add(c, loc !== null, loc ? `cgroup ${loc.version} at ${loc.path}` : 'not mounted in any cgroup hierarchy', DISABLES[c])
  }

  // kernel features
  const btfPath = '/sys/kernel/btf/vmlinux'
  const btf = await readBytes(at(btfPath))
  add('btf', btf !== null, btf ? `${btfPath} (${btf.length} bytes)` : `${btfPath} missing`, DISABLES.btf)

  const psi = await readText(at('/proc/pressure/memory'))
  add('psi', psi !== null, psi !== null ? `/proc/pressure/memory: ${firstLine(psi)}` : '/proc/pressure/memory not readable', DISABLES.psi)

  const schedExt = await exists(at('/sys/kernel/sched_ext'))
  add('sched_ext', schedExt, schedExt ? '/sys/kernel/sched_ext present' : '/sys/kernel/sched_ext missing', DISABLES.inKernel)

  const memcgOps = btf === null ? null : MEMCG_BPF_OPS_NAMES.find((n) => btfHasName(btf, n)) ?? null
  add(
    'memcg_bpf_ops',
    memcgOps !== null,
    memcgOps !== null ? `BTF type ${memcgOps}` : btf === null ? 'no BTF to inspect' : `no ${MEMCG_BPF_OPS_NAMES.join('/')} in BTF`,
    DISABLES.inKernel,
  )

  // BPF build chain and runtimes
  const libbpf = await findLibbpf(at)
  add('libbpf', libbpf.ok, libbpf.detail, DISABLES.libbpf)

  const searchPath = opts.path ?? process.env.PATH ?? ''
  const tools = await Promise.all(TOOLS.map((t) => probeTool(t, searchPath, root, opts.versionTimeoutMs ?? 3000)))
  for (const [i, t] of TOOLS.entries()) add(t, tools[i].ok, tools[i].detail, DISABLES[t])

  const uid = opts.uid ?? process.getuid?.()
  add('root', uid === 0, uid === undefined ? 'user id unknown' : uid === 0 ? 'running as root' : `running as uid ${uid}`, DISABLES.root)

  // BPF programs are probed on the real machine only (loading them needs root and BTF)
  if (root === '/') items.push(...(await bpfItems(uid, btf !== null)))

  return {kernel, cgroup: {layout, v2Mount, controllers}, items, missing: items.filter((i) => !i.ok).length}
}

function layoutDetail(layout: CgroupLayout, v1Count: number, v2Mount: string | null): string {
  switch (layout) {
    case 'none':
      return 'no cgroup filesystem mounted'
    case 'v1':
      return `v1 (${v1Count} hierarchies)`
    case 'v2':
      return `v2 at ${v2Mount}`
    case 'hybrid':
      return `hybrid (${v1Count} v1 hierarchies, cgroup2 at ${v2Mount})`
  }
}

/** True when the release (e.g. '6.18.44-foo') is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release)
  if (!m) return false
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return maj > major || (maj === major && min >= minor)
}

/** A BTF type name appears in the string section NUL-delimited; match it whole, not as a substring. */
export function btfHasName(btf: Buffer, name: string): boolean {
  return btf.indexOf(Buffer.from(`\0${name}\0`, 'latin1')) !== -1
}

async function findLibbpf(at: (p: string) => string): Promise<{ok: boolean; detail: string}> {
  const header = '/usr/include/bpf/libbpf.h'
  const hasHeader = await exists(at(header))
  let lib: string | null = null
  for (const dir of LIB_DIRS) {
    const names = await readdir(at(dir)).catch(() => [] as string[])
    // The most specific name carries the version: libbpf.so.1.1.2 over libbpf.so.1 over libbpf.so.
    const sos = names.filter((n) => /^libbpf\.so(\.|$)/.test(n)).sort((a, b) => b.length - a.length)
    if (sos.length > 0) {
      lib = path.posix.join(dir, sos[0])
      break
    }
  }
  const parts = [hasHeader ? header : `${header} missing`, lib ?? `no libbpf.so* in ${LIB_DIRS.join(', ')}`]
  return {ok: hasHeader && lib !== null, detail: parts.join('; ')}
}

async function probeTool(name: string, searchPath: string, root: string, timeoutMs: number): Promise<{ok: boolean; detail: string}> {
  const dirs = [...searchPath.split(':').filter((d) => d.startsWith('/')), ...FALLBACK_BIN_DIRS]
  for (const dir of new Set(dirs)) {
    const logical = path.posix.join(dir, name)
    const real = path.join(root, logical)
    if (!(await isExecutableFile(real))) continue
    // Some tools (bpftool) start their version line with argv[0]: show it once.
    const version = (await toolVersion(real, timeoutMs)).replace(real, name)
    return {ok: true, detail: `${logical}: ${version}`}
  }
  return {ok: false, detail: 'not found on PATH'}
}

/** First line of `<tool> --version` (stdout, else stderr), or why there is none. */
function toolVersion(file: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, ['--version'], {timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 1 << 20}, (err, stdout, stderr) => {
      const line = firstLine(String(stdout)) || firstLine(String(stderr))
      if (err && (err as {killed?: boolean}).killed) resolve(line || `--version timed out after ${timeoutMs} ms`)
      else if (line) resolve(line)
      else resolve(err ? `--version failed: ${err.message.split('\n')[0]}` : 'version unknown')
    })
  })
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? ''
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return null
  }
}

async function readBytes(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file)
  } catch {
    return null
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK)
    return true
  } catch {
    return false
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false
    await access(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}
