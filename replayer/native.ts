/** Where the native helpers built by scripts/build-replayer.sh live (build/replayer/, uncommitted). */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export type NativeHelper = 'agentcgroup-tenant' | 'agentcgroup-notify'

export function nativeBinary(name: NativeHelper): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const places = [join(here, '..', '..', 'build', 'replayer', name), join(here, '..', 'build', 'replayer', name)]
  const found = places.find((p) => existsSync(p))
  if (!found) throw new Error(`${name} is not built (looked in ${places.join(', ')}): run npm run build (scripts/build-replayer.sh needs gcc)`)
  return found
}
