/**
 * The chart runtimes inlined into every report: vega, vega-lite and vega-embed, read from
 * their packages' UMD builds (each sets a global: vega, vegaLite, vegaEmbed). Read once per
 * process.
 */
import {readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

const require = createRequire(import.meta.url)

export interface Runtime {
  name: string
  version: string
  source: string
}

let cached: Runtime[] | undefined

function umd(pkg: string, file: string): Runtime {
  // the packages' exports hide package.json and build/, so locate them from the main entry
  const buildDir = dirname(require.resolve(pkg))
  const pkgJson = JSON.parse(readFileSync(join(buildDir, '..', 'package.json'), 'utf8')) as {version: string}
  return {name: pkg, source: readFileSync(join(buildDir, file), 'utf8'), version: pkgJson.version}
}

export function chartRuntimes(): Runtime[] {
  cached ??= [umd('vega', 'vega.min.js'), umd('vega-lite', 'vega-lite.min.js'), umd('vega-embed', 'vega-embed.min.js')]
  return cached
}
