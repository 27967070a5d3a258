/**
 * Errors a user can act on. They print as one line (no stack unless --debug).
 * RecordingError names the file (and line or field) of a recording that cannot be read.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'UserError'
  }
}

export interface RecordingErrorWhere {
  file: string
  line?: number
  field?: string
}

export class RecordingError extends UserError {
  readonly file: string
  readonly line?: number
  readonly field?: string
  readonly problem: string

  constructor(where: RecordingErrorWhere, problem: string) {
    const loc = where.line === undefined ? where.file : `${where.file}:${where.line}`
    // one line whatever the problem text quotes from the recording
    super(`${loc}: ${where.field ? `${where.field}: ` : ''}${problem.replace(/\s*[\r\n]+\s*/g, ' ')}`)
    this.name = 'RecordingError'
    this.file = where.file
    this.line = where.line
    this.field = where.field
    this.problem = problem
  }
}
