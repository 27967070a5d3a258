/** The command line a command was run with, as a shell would take it back (recorded in outputs). */
export function commandLine(bin: string, id: string, argv: string[]): string {
  return [bin, id, ...argv].map(shellQuote).join(' ')
}

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`
}
