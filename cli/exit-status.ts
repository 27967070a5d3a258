/**
 * A command that succeeds in part (e.g. import with skipped recordings) still prints its
 * full result, then the process exits with EXIT.partial. oclif prints --json after run()
 * returns, so the code is handed to bin/run.js here instead of exiting early.
 */
let pending = 0

export function setExitStatus(code: number): void {
  pending = code
}

export function takeExitStatus(): number {
  const code = pending
  pending = 0
  return code
}
