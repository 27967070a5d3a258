/**
 * `agentcgroup analyze` as users run it (in-process through oclif; commands load from dist/,
 * so build first): the --json contract, the table, --rules, and a clear error for no runs.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {AnalyzeCommandResult} from '../../cli/commands/analyze.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'
import {record, RunSpec} from './synthetic.js'

const RUN: RunSpec = {
  calls: [
    {command: 'pytest -q', end: 6, id: 'a', start: 3, tool: 'Bash'},
    {end: 8, id: 'b', start: 7, tool: 'Read'},
  ],
  claude: 40,
  dataset: 'cli',
  permfix: 5,
  phases: [['container_create', -10, 0], ['agent_start', 0, 1], ['agent_active', 1, 11]],
  samples: [{cpu: 90, flags: 'start_transient', mem: 12, t: 0}, ...Array.from({length: 11}, (_, i) => ({cpu: 10, mem: i === 4 ? 400 : 200, t: i + 1})), {cpu: 0, flags: 'exit_0b', mem: 0, t: 12}],
  task: 'cli-task',
}
const INVALID: RunSpec = {dataset: 'cli', task: 'too-short', valid: false}

const REQUIRED = ['tool_time_ratio', 'latency_breakdown', 'bash_category_shares', 'mem_baseline_mb', 'peak_to_avg_max', 'burst_fraction', 'burst_tool_attribution', 'cpu_mem_correlation', 'peak_mem_cv']

describe('agentcgroup analyze', () => {
  let dir: string
  let db: string

  beforeAll(async () => {
    dir = tempDir()
    db = join(dir, 'cli.duckdb')
    const store = await Store.open(db)
    for (const spec of [RUN, INVALID]) await store.replaceRun(record(spec), {isNew: true})
    store.close()
  })

  afterAll(() => rmSync(dir, {force: true, recursive: true}))

  it('--json follows the contract: rules, datasets with metrics under both rules, runs', async () => {
    const {error, stdout} = await runCommand(['analyze', '--db', db, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as AnalyzeCommandResult
    expect(result.rules).toBe('both')
    expect(result.datasets.map((d) => [d.dataset, d.runs, d.valid_runs])).toEqual([['cli', 1, 1]])
    const metrics = result.datasets[0].metrics
    for (const name of REQUIRED) {
      expect(metrics[name], name).toMatchObject({unit: expect.any(String)})
      expect(metrics[name]).toHaveProperty('paper_rules')
      expect(metrics[name]).toHaveProperty('corrected')
    }
    expect(Object.keys(metrics.latency_breakdown.corrected as object).sort()).toEqual(['view1', 'view2'])
    expect(Object.keys((metrics.latency_breakdown.paper_rules as Record<string, object>).view1).sort()).toEqual(['init', 'llm', 'os', 'permission_fix', 'tool'])
    expect(Object.keys((metrics.latency_breakdown.paper_rules as Record<string, object>).view2).sort()).toEqual(['init', 'llm', 'os', 'tool'])
    expect(Object.keys(metrics.bash_category_shares.corrected as object).sort()).toEqual(
      ['file_exploration', 'git', 'other', 'package_install', 'python_run', 'python_snippet', 'shell_env', 'test_execution', 'text_processing'],
    )
    expect(metrics.tool_time_ratio.paper_rules).toBeCloseTo(40, 6) // (3 + 1) s of a 10 s transcript
    expect(metrics.peak_mem_cv).toMatchObject({corrected: null, null_reason: {corrected: 'fewer than 2 runs with memory samples'}, paper_rules: null})
    expect(result.runs).toHaveLength(1)
    expect(result.runs[0]).toMatchObject({dataset: 'cli', run_id: 'cli/cli-task/attempt_1', task_id: 'cli-task', valid: true})
    expect(result.runs[0].tool_time_ratio).toMatchObject({corrected: expect.any(Number), paper_rules: expect.any(Number), unit: '%'})
  })

  it('--runs all keeps invalid runs, whose metrics are null with a reason', async () => {
    const {stdout} = await runCommand(['analyze', '--db', db, '--runs', 'all', '--json'], {root: process.cwd()})
    const result = JSON.parse(stdout) as AnalyzeCommandResult
    expect(result.datasets[0]).toMatchObject({runs: 2, valid_runs: 1})
    const bare = result.runs.find((r) => r.run_id === 'cli/too-short/attempt_1')!
    expect(bare.mem_baseline_mb).toMatchObject({corrected: null, null_reason: {paper_rules: 'no resource samples'}, paper_rules: null})
  })

  it('prints a table per dataset, paper value beside both rule sets; --rules picks one', async () => {
    const both = await runCommand(['analyze', '--db', db], {root: process.cwd()})
    expect(both.stdout).toMatch(/^cli: 1 runs \(1 valid\)$/m)
    expect(both.stdout).toMatch(/^metric\s+unit\s+paper\s+paper rules\s+corrected/m)
    expect(both.stdout).toMatch(/^latency_breakdown\.view2\.init\s+%/m)
    const paper = await runCommand(['analyze', '--db', db, '--rules', 'paper', '--json'], {root: process.cwd()})
    const result = JSON.parse(paper.stdout) as AnalyzeCommandResult
    expect(result.datasets[0].metrics.tool_time_ratio).toMatchObject({corrected: null, null_reason: {corrected: 'not requested (--rules paper)'}})
    const table = await runCommand(['analyze', '--db', db, '--rules', 'corrected'], {root: process.cwd()})
    expect(table.stdout).not.toMatch(/paper rules/)
  })

  it('says so when nothing matches', async () => {
    const {error, stderr} = await runCommand(['analyze', '--db', db, '--dataset', 'nope'], {root: process.cwd()})
    expect(error?.oclif?.exit).toBe(1)
    expect(stderr).toMatch(/^Error: no valid runs in dataset nope \(see `agentcgroup runs`\)$/m)
  })
})
