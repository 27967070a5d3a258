import {Command, Errors, Flags} from '@oclif/core'

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

  /**
   * Errors print as one unwrapped line ("Error: <file>: <problem>"), or as {"error": ...} with
   * --json; the stack only with --debug. oclif's own flag and argument errors keep oclif's
   * message, help hint and exit code 2.
   */
  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err
    const isParseError = err.oclif?.exit === EXIT.usage || err.constructor.name.endsWith('FlagError') || /Unexpected argument|Nonexistent flag|Missing required/.test(err.message)
    if (isParseError) return super.catch(err)
    const code = err.exitCode ?? (err.oclif?.exit && err.oclif.exit !== 0 ? err.oclif.exit : EXIT.error)
    const firstLines = err.message.trimEnd()
    if (this.jsonEnabled()) {
      this.logJson({error: {code, message: firstLines}})
    } else {
      if (this.argv.includes('--debug') && err.stack) this.logToStderr(err.stack)
      this.logToStderr(`Error: ${firstLines}`)
    }
    throw new Errors.ExitError(code)
  }
}

export const dbFlag = Flags.string({
  default: './agentcgroup.duckdb',
  description: 'DuckDB store file.',
  env: 'AGENTCGROUP_DB',
})
