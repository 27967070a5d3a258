/** Reading JSON recordings with errors that name the file, line and field. */
import {isUtf8} from 'node:buffer'
import {readFileSync, statSync} from 'node:fs'

import {RecordingError} from '../errors.js'

/** Reads a file as UTF-8; a missing, empty or non-UTF-8 file is a RecordingError naming it. */
export function readRecordingText(file: string): string {
  let size: number
  try {
    size = statSync(file).size
  } catch {
    throw new RecordingError({file}, 'file is missing or unreadable')
  }
  if (size === 0) throw new RecordingError({file}, 'file is empty')
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new RecordingError({file}, `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  // a UTF-8 byte order mark (some editors write one) is not part of the text
  const text = bytes.toString('utf8', bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)
  // decoding would turn binary garbage into U+FFFD silently; the runner and Claude Code write UTF-8 only
  if (!isUtf8(bytes)) {
    const at = text.indexOf('\uFFFD')
    throw new RecordingError({file, line: lineAt(text, at < 0 ? 0 : at)}, 'not UTF-8 text (binary or corrupted)')
  }
  return text
}

/** JSON.parse with the line of the first syntax error and a short one-line reason. */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    if (text.trim() === '') throw new RecordingError({file}, 'file is empty (whitespace only)')
    const syntax = jsonSyntaxError(text)
    // V8 gives no position for some errors and quotes the text around it (newlines included)
    const reason = syntax?.reason ?? (error as Error).message.replace(/, ".*$/s, '').split('\n')[0]
    throw new RecordingError({file, line: syntax ? lineAt(text, syntax.offset) : undefined}, `malformed JSON (${reason})`)
  }
}

/** The 1-based line holding text[offset]. */
export function lineAt(text: string, offset: number): number {
  let line = 1
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++
  return line
}

const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/**
 * Where and why text is not JSON (null when it is): a small scanner run only after
 * JSON.parse failed, so the error can name the line and say what was expected.
 */
export function jsonSyntaxError(text: string): {offset: number; reason: string} | null {
  const n = text.length
  const closers: string[] = []
  let i = 0
  let want: 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'after' = 'value'
  const show = (at: number): string => {
    const ch = String.fromCodePoint(text.codePointAt(at)!)
    // control, format and odd space characters print as nothing useful: show their code point
    return /[\p{C}\p{Z}]/u.test(ch) && ch !== ' ' ? `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : `'${ch}'`
  }
  const col = (at: number): number => at - text.lastIndexOf('\n', at - 1)
  const fail = (at: number, expected: string) =>
    at >= n ? {offset: n, reason: 'ends mid-value: truncated?'} : {offset: at, reason: `expected ${expected}, found ${show(at)} at column ${col(at)}`}
  /** scans the string at text[i] === '"'; on a bad character returns it and leaves i there */
  const string = (): {offset: number; reason: string} | null => {
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c === 0x22) {
        i++
        return null
      }
      if (c < 0x20) return {offset: i, reason: `control character ${show(i)} inside a string at column ${col(i)}`}
      if (c === 0x5c) {
        const e = text[i + 1]
        if (e === 'u' && /^[\dA-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) i += 5
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i++
        else return fail(i + 1, 'an escape (\\n, \\", \\uXXXX, ...)')
      }
    }
    return fail(n, '')
  }
  for (;;) {
    while (i < n && ' \t\n\r'.includes(text[i])) i++
    if (i >= n) return want === 'after' && closers.length === 0 ? null : fail(n, '')
    const c = text[i]
    if (want === 'after') {
      const close = closers.at(-1)
      if (close === undefined) return fail(i, 'the end of the file after the value')
      if (c === close) {
        closers.pop()
        i++
      } else if (c === ',') {
        i++
        want = close === ']' ? 'value' : 'key'
      } else return fail(i, `',' or '${close}'`)
      continue
    }
    if ((want === 'valueOrClose' && c === ']') || (want === 'keyOrClose' && c === '}')) {
      closers.pop()
      i++
      want = 'after'
      continue
    }
    if (want === 'key' || want === 'keyOrClose') {
      if (c !== '"') return fail(i, 'a "quoted" key')
      const bad = string()
      if (bad) return bad
      want = 'colon'
      continue
    }
    if (want === 'colon') {
      if (c !== ':') return fail(i, "':'")
      i++
      want = 'value'
      continue
    }
    if (c === '[' || c === '{') {
      closers.push(c === '[' ? ']' : '}')
      i++
      want = c === '[' ? 'valueOrClose' : 'keyOrClose'
      continue
    }
    want = 'after'
    if (c === '"') {
      const bad = string()
      if (bad) return bad
      continue
    }
    const literal = ['true', 'false', 'null'].find((w) => text.startsWith(w, i))
    if (literal) {
      i += literal.length
      continue
    }
    NUMBER_RE.lastIndex = i
    const num = NUMBER_RE.exec(text)
    if (!num) return fail(i, 'a value')
    i += num[0].length
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
    if (got === undefined) throw new RecordingError({field: this.prefix + key, file: this.file}, `missing (expected ${expected})`)
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

  /** An integer within ±max (the store's INTEGER/BIGINT columns cannot take more; a fraction would be rounded). */
  int(key: string, max = Number.MAX_SAFE_INTEGER): number | null {
    const v = this.num(key)
    if (v !== null && !(Number.isInteger(v) && Math.abs(v) <= max)) this.fail(key, max < Number.MAX_SAFE_INTEGER ? `an integer up to ${max}` : 'an integer')
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
