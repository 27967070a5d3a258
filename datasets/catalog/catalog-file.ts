/**
 * `--catalog`: the built-in name `swe-rebench` (swe-rebench.ts) or a file of SWE-rebench
 * instance ids that a user made:
 *   JSON  ["id", ...] | [{"instance_id": "id", "peak_mem_bytes": 123, "image": "...",
 *         "test_command": "python -m pytest tests/test_x.py", "problem_statement": "..."}, ...]
 *         | {"tasks": [...]}   (image defaults to the paper runner's name for the id; the test
 *         command, run in /testbed after the agent, decides runs.tests_passed)
 *   CSV   a header naming instance_id (peak_mem_bytes optional), one task a row; or no header,
 *         one id a line (a .txt list works the same). Blank lines and # comments are skipped.
 * A task listed twice is two attempts (DESIGN: naming), so duplicates are kept.
 */
import {existsSync, readFileSync} from 'node:fs'
import {basename, extname, resolve} from 'node:path'

import {UserError} from '../errors.js'
import {type Catalog, type CatalogTask, sweRebenchCatalog} from './swe-rebench.js'

export const BUILTIN_CATALOGS = ['swe-rebench'] as const

const ID_RE = /^[A-Za-z0-9][\w.-]*$/

export function readCatalog(spec: string): Catalog {
  if (spec === 'swe-rebench') return sweRebenchCatalog()
  const file = resolve(spec)
  if (!existsSync(file)) throw new UserError(`${spec}: no such catalog file (or give a built-in catalog: ${BUILTIN_CATALOGS.join(', ')})`)
  const text = readFileSync(file, 'utf8')
  const tasks = extname(file).toLowerCase() === '.json' ? fromJson(file, text) : fromLines(file, text)
  if (tasks.length === 0) throw new UserError(`${file}: lists no task`)
  return {name: basename(file, extname(file)), source: file, tasks}
}

function fromJson(file: string, text: string): CatalogTask[] {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new UserError(`${file}: malformed JSON (${(error as Error).message.split('\n')[0]})`)
  }
  const list = Array.isArray(raw) ? raw : (raw as {tasks?: unknown} | null)?.tasks
  if (!Array.isArray(list)) throw new UserError(`${file}: expected a list of instance ids, or an object with a "tasks" list`)
  return list.map((item, i) => {
    const where = `${file}: item ${i}`
    if (typeof item === 'string') return task(where, item, null)
    const o = item as Record<string, unknown> | null
    if (typeof o?.instance_id !== 'string') throw new UserError(`${where}: expected an instance id string or an object with instance_id`)
    const peak = o.peak_mem_bytes ?? null
    if (peak !== null && (typeof peak !== 'number' || !(peak >= 0))) throw new UserError(`${where}: peak_mem_bytes must be a number of bytes or null`)
    const text = (key: string): string | null => {
      const v = o[key] ?? null
      if (v !== null && (typeof v !== 'string' || v.trim() === '')) throw new UserError(`${where}: ${key} must be a non-empty string or null`)
      return v as string | null
    }
    const extra = {image: text('image'), problem_statement: text('problem_statement'), test_command: text('test_command')}
    // only the fields the file gives: a plain id list reads back as before
    return {...task(where, o.instance_id, peak as number | null), ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== null))}
  })
}

function fromLines(file: string, text: string): CatalogTask[] {
  const lines = text.split(/\r?\n/).map((l, i) => ({line: i + 1, text: l.trim()})).filter((l) => l.text !== '' && !l.text.startsWith('#'))
  if (lines.length === 0) return []
  const cells = (t: string) => t.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'))
  const header = cells(lines[0].text)
  const idCol = header.indexOf('instance_id')
  if (idCol < 0) {
    if (header.length > 1) throw new UserError(`${file}:${lines[0].line}: a CSV catalog needs an instance_id column in its header`)
    return lines.map((l) => task(`${file}:${l.line}`, l.text, null))
  }
  const peakCol = header.indexOf('peak_mem_bytes')
  return lines.slice(1).map((l) => {
    const row = cells(l.text)
    const where = `${file}:${l.line}`
    const peakText = peakCol >= 0 ? (row[peakCol] ?? '') : ''
    const peak = peakText === '' ? null : Number(peakText)
    if (peak !== null && !(peak >= 0)) throw new UserError(`${where}: peak_mem_bytes ${JSON.stringify(peakText)} is not a number of bytes`)
    return task(where, row[idCol] ?? '', peak)
  })
}

function task(where: string, id: string, peak: number | null): CatalogTask {
  if (!ID_RE.test(id)) throw new UserError(`${where}: ${JSON.stringify(id)} is not an instance id (letters, digits, '_', '.', '-')`)
  return {instance_id: id, peak_mem_bytes: peak}
}
