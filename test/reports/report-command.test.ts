/**
 * `agentcgroup report` as users run it (oclif loads commands from dist/: build first): the
 * file it writes, its --json result, the selection flags and a bad --analysis file.
 */
import {execFile} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ReportResult} from '../../cli/commands/report.js'
import {tempDir, writeAttempt} from '../fixtures/recordings.js'

const BIN = join(process.cwd(), 'bin', 'run.js')

describe('agentcgroup report', () => {
  let dir: string
  let db: string

  beforeAll(async () => {
    dir = tempDir('agentcgroup-report-cmd-')
    db = join(dir, 'r.duckdb')
    writeAttempt(join(dir, 'rec', 'ds_a', 'task_one', 'attempt_1'))
    writeAttempt(join(dir, 'rec', 'ds_b', 'task_two', 'attempt_1'))
    await promisify(execFile)(process.execPath, [BIN, 'import', join(dir, 'rec'), '--db', db])
  })

  afterAll(() => {
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('writes the HTML file and returns its stats with --json', async () => {
    const out = join(dir, 'all.html')
    const {error, stdout} = await runCommand(['report', '--db', db, '--out', out, '--json'])
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as ReportResult
    expect(result).toMatchObject({analysis: true, drill_runs: 2, figure_runs: 2, out, policy_section: false, runs: 2})
    expect(result.sections).toEqual(['overview', 'time', 'tools', 'memory', 'bursts', 'variability', 'metrics', 'drilldown'])
    expect(statSync(out).size).toBe(result.bytes)
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/)
  })

  it('selects runs by dataset and by run id', async () => {
    const byDataset = JSON.parse((await runCommand(['report', '--db', db, '--out', join(dir, 'a.html'), '--dataset', 'ds_a', '--json'])).stdout) as ReportResult
    expect(byDataset.runs).toBe(1)
    const byRun = JSON.parse((await runCommand(['report', '--db', db, '--out', join(dir, 'b.html'), '--run', 'ds_b/task_two/attempt_1', '--json'])).stdout) as ReportResult
    expect(byRun).toMatchObject({drill_runs: 1, runs: 1})
  })

  it('uses an analysis file when given one, and refuses one that is not analysis output', async () => {
    const good = join(dir, 'analysis.json')
    const {stdout} = await runCommand(['analyze', '--db', db, '--json'])
    writeFileSync(good, stdout)
    const ok = await runCommand(['report', '--db', db, '--out', join(dir, 'c.html'), '--analysis', good, '--json'])
    expect(ok.error).toBeUndefined()
    expect(JSON.parse(ok.stdout)).toMatchObject({analysis: true, analysis_s: 0})
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, '{"rows": []}')
    const {error, stderr} = await runCommand(['report', '--db', db, '--out', join(dir, 'd.html'), '--analysis', bad])
    expect(error).toBeDefined()
    expect(stderr).toMatch(/bad\.json: not the output of 'agentcgroup analyze --json'/)
    expect(existsSync(join(dir, 'd.html'))).toBe(false)
  })
})
