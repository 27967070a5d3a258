/** `agentcgroup replay` as users run it: the --json contract and one-line errors. */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {afterAll, describe, expect, it} from 'vitest'

import type {ReplayReport} from '../../replayer/runner.js'
import {tempDir, writeFile} from '../fixtures/recordings.js'

const dir = tempDir()
afterAll(() => rmSync(dir, {force: true, recursive: true}))

describe('agentcgroup replay', () => {
  it('--backend sim --json: the paper scenario, four policies, the documented contract, results in the store', async () => {
    const db = join(dir, 'r.duckdb')
    const {error, stdout} = await runCommand(['replay', '--backend', 'sim', '--speed', '50', '--json', '--db', db], {root: process.cwd()})
    expect(error).toBeUndefined()
    const r = JSON.parse(stdout) as ReplayReport
    expect([r.scenario, r.speed, r.backend]).toEqual(['paper', 50, 'sim'])
    expect(r.results.map((p) => p.policy)).toEqual(['none', 'static', 'high', 'agentcgroup'])
    for (const p of r.results) {
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['policy', 'tenants', 'throttle_events', 'freeze_events', 'reaction_p50_ms', 'reaction_p99_ms']))
      for (const t of p.tenants) expect(Object.keys(t)).toEqual(expect.arrayContaining(['name', 'priority', 'survived', 'oom_kills', 'completion_s', 'alloc_p50_ms', 'alloc_p95_ms', 'alloc_p99_ms']))
    }
    expect(r.results.find((p) => p.policy === 'agentcgroup')!.tenants.every((t) => t.survived)).toBe(true)
    expect(r.reference.map((x) => x.policy).sort()).toEqual(['agentcgroup', 'none'])
    const {stdout: sql} = await runCommand(['sql', 'SELECT count(*)::INTEGER AS n FROM replays', '--db', db, '--json'], {root: process.cwd()})
    expect(JSON.parse(sql).rows).toEqual([{n: 4}])
  })

  it('--repeat gives means and 95 % confidence intervals', async () => {
    const {stdout} = await runCommand(['replay', '--backend', 'sim', '--policy', 'none', '--repeat', '3', '--json', '--no-store'], {root: process.cwd()})
    const r = JSON.parse(stdout) as ReplayReport
    expect(r.results[0].repeats).toBe(3)
    expect(r.results[0].tenants[0].ci95?.completion_s).toEqual({ci95: 0, mean: expect.any(Number), n: 3})
  })

  it('bad input: one clear error line', async () => {
    writeFile(join(dir, 'neg.yaml'), 'total: -1G\ntenants: [{run: dask__dask-11628}]\n')
    const neg = await runCommand(['replay', '--scenario', join(dir, 'neg.yaml'), '--backend', 'sim', '--no-store'], {root: process.cwd()})
    expect(neg.stderr + (neg.error?.message ?? '')).toMatch(/neg.yaml: total: must not be negative/)
    const unknown = await runCommand(['replay', '--trace', 'all_images_haiku/no-such/attempt_1', '--backend', 'sim', '--db', join(dir, 'r2.duckdb')], {root: process.cwd()})
    expect(unknown.stderr + (unknown.error?.message ?? '')).toMatch(/no store here to read --trace runs from/)
    const v2 = await runCommand(['replay', '--backend', 'cgroup-v2', '--no-store'], {root: process.cwd()})
    if (process.getuid?.() === 0) expect(v2.stderr + (v2.error?.message ?? '')).toMatch(/the cgroup-v2 backend is unavailable here|needs root/)
  })

  it.runIf(process.getuid?.() === 0)('refuses a total above what the machine can spare', async () => {
    const r = await runCommand(['replay', '--total', '100000G', '--policy', 'none', '--no-store'], {root: process.cwd()})
    expect(r.stderr + (r.error?.message ?? '')).toMatch(/total 102400000 MiB is more than this machine can spare/)
  })
})
