/**
 * Where the tool shell lives: build/toolshell/{bash,zsh}, one static binary built by
 * scripts/build-toolshell.sh from collector/native/toolshell.c. Point the agent's shell at it
 * (Claude Code: CLAUDE_CODE_SHELL or SHELL = `<dir>/bash`; it accepts a path containing
 * "bash" or "zsh") and set AGENTCGROUP_SOCK to the broker's socket as the agent sees it.
 */
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {UserError} from '../../datasets/errors.js'

/** The environment variables the wrapper reads. */
export const SOCK_ENV = 'AGENTCGROUP_SOCK'
export const REAL_SHELL_ENV = 'AGENTCGROUP_REAL_SHELL'
/** Where the broker's socket directory is mounted inside a container. */
export const CONTAINER_SOCK_DIR = '/run/agentcgroup'
/** The broker's socket, in its directory. */
export const SOCKET_NAME = 'ctl.sock'

/** The directory holding the wrapper as `bash` and `zsh`; a UserError when it is not built. */
export function toolShellDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  // collector/domains (sources, tests) or dist/collector/domains (built)
  const places = [join(here, '..', '..', 'build', 'toolshell'), join(here, '..', '..', '..', 'build', 'toolshell')]
  const found = places.find((p) => existsSync(join(p, 'bash')) && existsSync(join(p, 'zsh')))
  if (!found) throw new UserError(`the tool shell is not built (looked in ${places.join(', ')}): run npm run build (scripts/build-toolshell.sh needs gcc and glibc's static libc, libc6-dev)`)
  return found
}
