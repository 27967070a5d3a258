import {Command, Flags} from '@oclif/core'

import {UserError} from '../datasets/errors.js'

/**
 * Exit codes shared by every command (documented in the README):
 * 0 success, 1 user or input error (one line, no stack), 2 bad flags or arguments (oclif),
 * 3 partial success (some inputs were skipped with a named error; the rest is stored).
 */
export const EXIT = {ok: 0, error: 1, usage: 2, partial: 3} as const

/** Every command: --json (typed result) and --debug (stack traces on errors). */
export abstract class BaseCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({description: 'Show stack traces on errors.', helpGroup: 'GLOBAL'}),
  }

  static override enableJsonFlag = true

  /** Known user errors become one clear line; anything else too, unless --debug asks for the stack. */
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    const debug = this.argv.includes('--debug')
    if (err.oclif?.exit !== undefined && !(err instanceof UserError)) return super.catch(err)
    if (debug && err.stack) this.logToStderr(err.stack)
    const message = err instanceof UserError ? err.message : `${err.message || String(err)}${debug ? '' : ' (run with --debug for details)'}`
    return super.catch(Object.assign(new Error(message), {oclif: {exit: err.exitCode ?? EXIT.error}, skipOclifErrorHandling: false}))
  }
}

export const dbFlag = Flags.string({
  default: './agentcgroup.duckdb',
  description: 'DuckDB store file.',
  env: 'AGENTCGROUP_DB',
})
