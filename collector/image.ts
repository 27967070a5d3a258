/**
 * The demo image, built offline: debootstrap (minbase, the recipe's packages) into a root
 * filesystem, tarred once into the cache (`$AGENTCGROUP_CACHE`, else /var/cache/agentcgroup
 * as root, else ~/.cache/agentcgroup), then `podman import`ed as
 * localhost/agentcgroup-demo:<recipe hash>. A changed recipe changes the hash, so the image
 * (and the tarball) are rebuilt only then. One builder at a time: a lock file in the cache
 * holds the builder's pid (a dead builder's lock is taken over).
 */
import {createHash} from 'node:crypto'
import {closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'

import {demoImageRecipe, DemoImageRecipe} from '../datasets/catalog/demo.js'
import {UserError} from '../datasets/errors.js'
import {pidAlive} from '../kernel/cgroup.js'
import {commandExists, run} from './exec.js'
import {imageExists, podmanOk} from './podman.js'

export function cacheDir(): string {
  const dir = process.env.AGENTCGROUP_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/agentcgroup' : join(homedir(), '.cache', 'agentcgroup'))
  mkdirSync(dir, {recursive: true})
  return dir
}

export function recipeHash(recipe: DemoImageRecipe): string {
  const canonical = JSON.stringify(recipe, Object.keys(recipe).sort())
  return createHash('sha256').update(canonical).update(JSON.stringify(recipe.include)).digest('hex').slice(0, 12)
}

export function demoImageTag(recipe = demoImageRecipe()): string {
  return `localhost/agentcgroup-demo:${recipeHash(recipe)}`
}

export interface ImageResult {
  image: string
  /** what had to be done: nothing, an import of the cached root fs, or a full debootstrap */
  action: 'cached' | 'imported' | 'built'
  seconds: number
}

let inProcess: Promise<ImageResult> | null = null

/** Makes sure the demo image exists (building it offline if needed); shared by concurrent callers. */
export function ensureDemoImage(log: (msg: string) => void = () => {}): Promise<ImageResult> {
  inProcess ??= buildDemoImage(log).finally(() => {
    inProcess = null
  })
  return inProcess
}

async function buildDemoImage(log: (msg: string) => void): Promise<ImageResult> {
  const t0 = performance.now()
  const recipe = demoImageRecipe()
  const tag = demoImageTag(recipe)
  if (await imageExists(tag)) return {action: 'cached', image: tag, seconds: (performance.now() - t0) / 1000}
  const dir = cacheDir()
  const release = await lock(join(dir, `demo-${recipeHash(recipe)}.lock`))
  try {
    if (await imageExists(tag)) return {action: 'cached', image: tag, seconds: (performance.now() - t0) / 1000}
    const tarball = join(dir, `demo-rootfs-${recipeHash(recipe)}.tar`)
    let action: ImageResult['action'] = 'imported'
    if (!existsSync(tarball)) {
      action = 'built'
      await debootstrapTarball(recipe, tarball, log)
    }
    log(`importing ${tarball} as ${tag}`)
    await podmanOk(['import', '--change', `WORKDIR=${recipe.workdir}`, '--change', 'CMD=["sleep","infinity"]', tarball, tag], {timeoutMs: 300_000})
    return {action, image: tag, seconds: (performance.now() - t0) / 1000}
  } finally {
    release()
  }
}

async function debootstrapTarball(recipe: DemoImageRecipe, tarball: string, log: (msg: string) => void): Promise<void> {
  if (process.getuid?.() !== 0) throw new UserError('building the demo image needs root (debootstrap); run scripts/setup.sh as root, or use --runtime local')
  if (!commandExists('debootstrap')) throw new UserError('building the demo image needs debootstrap (apt-get install debootstrap; scripts/setup.sh does it)')
  removeStaleBuilds(dirname(tarball))
  const rootfs = `${tarball}.rootfs-${process.pid}`
  rmSync(rootfs, {force: true, recursive: true})
  log(`debootstrap ${recipe.suite} (${recipe.variant}, ${recipe.include.length} extra packages): about 2-4 minutes, once`)
  try {
    const r = await run('debootstrap', [`--variant=${recipe.variant}`, `--include=${recipe.include.join(',')}`, recipe.suite, rootfs, recipe.mirror], {timeoutMs: 1_200_000})
    if (r.code !== 0) {
      const last = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' ')
      throw new UserError(`debootstrap ${recipe.suite} failed (exit ${r.code ?? r.signal}): ${last}`)
    }
    // the repository mount point, and no apt caches in the image
    mkdirSync(join(rootfs, recipe.workdir.replace(/^\/+/, '')), {recursive: true})
    rmSync(join(rootfs, 'var/cache/apt/archives'), {force: true, recursive: true})
    mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), {recursive: true})
    const tmp = `${tarball}.tmp-${process.pid}`
    const t = await run('tar', ['-C', rootfs, '-cf', tmp, '.'], {timeoutMs: 600_000})
    if (t.code !== 0) throw new Error(`tar of the demo root filesystem failed: ${t.stderr.trim().split('\n').at(-1)}`)
    renameSync(tmp, tarball)
  } finally {
    rmSync(rootfs, {force: true, recursive: true})
  }
}

/** Half-built root filesystems and tarballs of builders that died (Ctrl-C, kill -9). */
function removeStaleBuilds(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /\.(?:rootfs|tmp)-(\d+)$/.exec(name)
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join(dir, name), {force: true, recursive: true})
  }
}

/** An exclusive lock file holding our pid; a lock whose pid is dead is taken over. */
async function lock(path: string): Promise<() => void> {
  for (;;) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(path, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      let owner = 0
      try {
        owner = Number(readFileSync(path, 'utf8').trim())
      } catch {
        continue
      }
      const stale = !owner || !pidAlive(owner) || Date.now() - statSync(path).mtimeMs > 3_600_000
      if (stale) rmSync(path, {force: true})
      else await new Promise((r) => setTimeout(r, 500))
    }
  }
}
