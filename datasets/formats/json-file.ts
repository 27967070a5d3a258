/** Reading JSON recordings with errors that name the file, line and field. */
import {readFileSync, statSync} from 'node:fs'

import {RecordingError} from '../errors.js'

/** Reads a file as UTF-8; a missing or empty file is a RecordingError naming it. */
export function readRecordingText(file: string): string {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    throw new RecordingError({file}, 'file is missing or unreadable')
  }
  if (size === 0) throw new RecordingError({file}, 'file is empty')
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new RecordingError({file}, `cannot read: ${(error as Error).message}`)
  }
}

/** JSON.parse with the error's line number (from V8's position) and a short reason. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    const msg = (error as Error).message
    const pos = /position (\d+)/.exec(msg)
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined
    throw new RecordingError({file, line}, `malformed JSON (${msg.replace(/^.*?: /, '').slice(0, 120)})`)
  }
}

export function readJsonFile(file: string): unknown {
  return parseJsonText(file, readRecordingText(file))
}

/** Typed field access that fails with the field's path instead of producing a wrong value. */
export class Fields {
  constructor(
    readonly file: string,
    readonly obj: Record<string, unknown>,
    readonly prefix = '',
  ) {}

  static of(file: string, value: unknown, what = 'top level'): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RecordingError({file}, `${what} must be a JSON object`)
    }
    return new Fields(file, value as Record<string, unknown>)
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null
  }

  private fail(key: string, expected: string): never {
    const got = this.obj[key]
    const shown = typeof got === 'string' ? JSON.stringify(got.slice(0, 40)) : JSON.stringify(got)?.slice(0, 40)
    throw new RecordingError({field: this.prefix + key, file: this.file}, `expected ${expected}, got ${shown}`)
  }

  str(key: string): string | null {
    const v = this.obj[key]
    if (v === undefined || v === null) return null
    if (typeof v !== 'string') this.fail(key, 'a string')
    return v
  }

  num(key: string): number | null {
    const v = this.obj[key]
    if (v === undefined || v === null) return null
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number')
    return v
  }

  bool(key: string): boolean | null {
    const v = this.obj[key]
    if (v === undefined || v === null) return null
    if (typeof v !== 'boolean') this.fail(key, 'true or false')
    return v
  }

  obj_(key: string): Fields | null {
    const v = this.obj[key]
    if (v === undefined || v === null) return null
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'an object')
    return new Fields(this.file, v as Record<string, unknown>, `${this.prefix}${key}.`)
  }

  arr(key: string): unknown[] | null {
    const v = this.obj[key]
    if (v === undefined || v === null) return null
    if (!Array.isArray(v)) this.fail(key, 'an array')
    return v
  }

  reqStr(key: string): string {
    return this.str(key) ?? this.fail(key, 'a string')
  }

  reqNum(key: string): number {
    return this.num(key) ?? this.fail(key, 'a number')
  }

  reqArr(key: string): unknown[] {
    return this.arr(key) ?? this.fail(key, 'an array')
  }

  /** An element of an array field, as Fields, or an error naming `key[i]`. */
  item(key: string, i: number, value: unknown): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RecordingError({field: `${this.prefix}${key}[${i}]`, file: this.file}, 'expected an object')
    }
    return new Fields(this.file, value as Record<string, unknown>, `${this.prefix}${key}[${i}].`)
  }
}
