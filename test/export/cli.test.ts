/**
 * export / import / merge as a user runs them: a real process through bin/run.js (exit codes,
 * one-line errors) and runCommand for the --json contracts. oclif loads commands from dist/:
 * `npm run build` first.
 */
import {execFile} from 'node:child_process'
import {existsSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {shellQuote} from '../../cli/command-line.js'
import type {ExportCommandResult} from '../../cli/commands/export.js'
import type {ImportCommandResult} from '../../cli/commands/import.js'
import type {Manifest} from '../../datasets/export/manifest.js'
import {tempDir} from '../fixtures/recordings.js'
import {buildStore, cleanup, diffStores, expectIdentical} from './helpers.js'

const run = promisify(execFile)
const BIN = join(process.cwd(), 'bin', 'run.js')

async function cli(args: string[]): Promise<{code: number; stdout: string; stderr: string}> {
  try {
    const {stderr, stdout} = await run(process.execPath, [BIN, ...args], {maxBuffer: 64 * 1024 * 1024})
    return {code: 0, stderr, stdout}
  } catch (error) {
    const e = error as {code: number; stdout: string; stderr: string}
    return {code: e.code, stderr: e.stderr, stdout: e.stdout}
  }
}

const dirs: string[] = []
afterAll(() => cleanup(dirs))

describe('agentcgroup export / import DIR / merge', () => {
  let dir: string
  let db: string

  beforeAll(async () => {
    dir = tempDir()
    dirs.push(dir)
    db = join(dir, 'store.duckdb')
    await buildStore(db, join(dir, 'recordings'))
  })

  it('export --json returns the typed result and records its command line in the manifest', async () => {
    const out = join(dir, 'beta-csv')
    const {error, stdout} = await runCommand(['export', '--db', db, '--format', 'csv', '--dataset', 'beta', '--out', out, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as ExportCommandResult
    expect(result).toMatchObject({format: 'csv', runs: 3})
    expect(result.tables.find((t) => t.name === 'runs')).toMatchObject({file: 'runs.csv', rows: 3})
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest
    expect(manifest.command).toBe(`agentcgroup export --db ${db} --format csv --dataset beta --out ${out} --json`)
    expect(shellQuote("it's a path")).toBe(`'it'\\''s a path'`)
    expect(manifest.filter).toEqual({datasets: ['beta'], run_ids: []})
  })

  it('import DIR reads an export back, the whole store equal to the source', async () => {
    const out = join(dir, 'all')
    expect((await runCommand(['export', '--db', db, '--out', out], {root: process.cwd()})).error).toBeUndefined()
    const target = join(dir, 'target.duckdb')
    const {error, stdout} = await runCommand(['import', out, '--db', target, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as ImportCommandResult
    expect(result.imported).toHaveLength(7)
    expect(result.runs_found).toBe(7)
    expectIdentical(await diffStores(db, target))
  })

  it('a damaged export: import exits 3 listing it, --strict exits 1, merge exits 1 with one line', async () => {
    const out = join(dir, 'damaged')
    expect((await runCommand(['export', '--db', db, '--out', out], {root: process.cwd()})).error).toBeUndefined()
    rmSync(join(out, 'phases.parquet'))
    const target = join(dir, 'damaged-target.duckdb')
    let r = await cli(['import', out, '--db', target])
    expect(r.code).toBe(3)
    expect(r.stdout).toContain(`error: ${join(out, 'phases.parquet')}: missing (listed in ${join(out, 'manifest.json')} for table phases)`)
    r = await cli(['import', out, '--db', target, '--strict'])
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    const merged = join(dir, 'merged.duckdb')
    r = await cli(['merge', merged, out])
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(`Error: ${join(out, 'phases.parquet')}: missing (listed in ${join(out, 'manifest.json')} for table phases)`)
    expect(existsSync(merged)).toBe(false)
  })

  it('export refuses an unknown --format before touching anything', async () => {
    const {error} = await runCommand(['export', '--db', db, '--format', 'xlsx', '--out', join(dir, 'x')], {root: process.cwd()})
    expect(error?.oclif?.exit).toBe(2)
    expect(error?.message).toMatch(/Expected --format=xlsx to be one of: parquet, csv, json/)
    expect(existsSync(join(dir, 'x'))).toBe(false)
  })
})
