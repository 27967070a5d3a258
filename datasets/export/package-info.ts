/** The installed package: its root folder (data files ship beside the code) and version. */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let root: string | undefined

/** The folder holding agentcgroup's package.json, from the sources (vitest) or dist/ alike. */
export function packageRoot(): string {
  if (root) return root
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as {name?: string}).name === 'agentcgroup') return (root = dir)
    dir = dirname(dir)
  }
  throw new Error('internal: cannot find the agentcgroup package root')
}

export function packageVersion(): string {
  return String((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {version?: string}).version ?? '0.0.0')
}
