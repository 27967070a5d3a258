/**
 * Imports the paper's published recordings (../shared/datasets/agentcgroup-paper) and checks
 * the store against facts of paper-artifacts.md §2 and against values this test computes
 * itself from the raw files, independently of the importer's parsers.
 */
import {existsSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings, ImportResult} from '../../datasets/import/importer.js'
import {listRuns} from '../../datasets/runs-query.js'
import {RUN_TABLES} from '../../datasets/schema.js'
import {Store} from '../../datasets/store.js'
import {PAPER_DATA, tempDir} from '../fixtures/recordings.js'

const HAVE_DATA = existsSync(join(PAPER_DATA, 'all_images_haiku'))
const HAIKU = join(PAPER_DATA, 'all_images_haiku')
const LOCAL = join(PAPER_DATA, 'all_images_local')

// A deliberately simple parser of podman's MemUsage, written apart from datasets/formats.
const DECIMAL: Record<string, number> = {B: 1, GB: 1e9, KB: 1e3, MB: 1e6, kB: 1e3}
function memBytes(s: string): number {
  const used = s.split('/')[0].trim()
  const unit = used.replace(/[\d.]/g, '')
  return Number(used.slice(0, used.length - unit.length)) * DECIMAL[unit]
}

function rawRun(dir: string) {
  const res = JSON.parse(readFileSync(join(dir, 'resources.json'), 'utf8')) as {samples: {epoch: number; mem_usage: string}[]}
  const mems = res.samples.map((s) => memBytes(s.mem_usage)).filter((m) => m > 0)
  const traceFile = join(dir, 'trace.jsonl')
  let toolUses = 0
  const sidechainUses: string[] = []
  if (existsSync(traceFile)) {
    for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
      if (!line.trim()) continue
      const rec = JSON.parse(line)
      if (rec.type !== 'assistant' || !Array.isArray(rec.message?.content)) continue
      for (const b of rec.message.content) {
        if (b.type === 'tool_use') {
          toolUses++
          if (rec.isSidechain) sidechainUses.push(b.id)
        }
      }
    }
  }
  return {
    avgMb: mems.reduce((a, b) => a + b, 0) / mems.length / 1e6,
    peakMb: Math.max(...mems) / 1e6,
    samples: res.samples.length,
    sidechainUses,
    spanS: res.samples.at(-1)!.epoch - res.samples[0].epoch,
    toolUses,
  }
}

async function counts(store: Store): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const t of RUN_TABLES) out[t] = Number((await store.query(`SELECT count(*)::INTEGER AS n FROM ${t}`))[0].n)
  return out
}

describe.skipIf(!HAVE_DATA)('import of the paper\'s shipped data', () => {
  let dir: string
  let store: Store
  let result: ImportResult

  beforeAll(async () => {
    dir = tempDir()
    store = await Store.open(join(dir, 'paper.duckdb'))
    result = await importRecordings(store, {paths: [PAPER_DATA]})
  })

  afterAll(() => {
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('sees 184 task folders, imports every run and explains the one folder it skipped', () => {
    expect(result.task_folders).toBe(184)
    expect(result.imported).toHaveLength(184)
    expect(result.failed).toEqual([])
    expect(result.skipped.map((s) => s.path.split('/').at(-1))).toEqual(['replay-reference'])
    expect(result.skipped[0].reason).toMatch(/no recording inside/)
    expect(result.warnings.join('\n')).toMatch(/all_images_local\/progress\.json: lists 7 completed task\(s\) with no folder/)
  })

  it("keeps the paper's 111 + 33 valid runs and the 16 that failed before the agent started", async () => {
    const rows = await store.query(
      `SELECT dataset, count(*) FILTER (WHERE valid)::INTEGER AS valid,
              count(*) FILTER (WHERE status = 'not_started')::INTEGER AS not_started, count(*)::INTEGER AS runs
       FROM runs GROUP BY dataset ORDER BY dataset`,
    )
    expect(rows).toEqual([
      {dataset: 'all_images_haiku', not_started: 3, runs: 58, valid: 33},
      {dataset: 'all_images_local', not_started: 13, runs: 126, valid: 111},
    ])
    const errors = await store.query("SELECT count(*)::INTEGER AS n FROM runs WHERE status = 'not_started' AND error IS NOT NULL")
    expect(errors[0].n).toBe(16)
  })

  it('matches the valid-set totals of paper-artifacts.md §2.2', async () => {
    const rows = await store.query(
      `SELECT r.dataset,
              (SELECT count(*) FROM samples s JOIN runs x USING (run_id) WHERE x.valid AND x.dataset = r.dataset)::INTEGER AS samples,
              (SELECT count(*) FROM tool_calls t JOIN runs x USING (run_id) WHERE x.valid AND x.dataset = r.dataset)::INTEGER AS calls
       FROM runs r GROUP BY r.dataset ORDER BY r.dataset`,
    )
    expect(rows).toEqual([
      {calls: 1103, dataset: 'all_images_haiku', samples: 6081},
      {calls: 6624, dataset: 'all_images_local', samples: 50994},
    ])
    const side = await store.query(
      `SELECT r.dataset, count(*)::INTEGER AS n FROM tool_calls t JOIN runs r USING (run_id)
       WHERE t.is_sidechain GROUP BY r.dataset ORDER BY r.dataset`,
    )
    expect(side).toEqual([
      {dataset: 'all_images_haiku', n: 406},
      {dataset: 'all_images_local', n: 18},
    ])
  })

  it('agrees run by run with values computed from the raw files', async () => {
    const picks = [
      join(HAIKU, 'dask__dask-11628', 'attempt_1'),
      join(HAIKU, 'wemake-services__wemake-python-styleguide-3117', 'attempt_1'),
      join(HAIKU, 'beeware__briefcase-2212', 'attempt_1'),
      join(LOCAL, 'tobymao__sqlglot-4415', 'attempt_1'),
      join(LOCAL, 'dask__dask-11628', 'attempt_1'),
    ]
    // and the run with the largest GB-unit peak of the local folder
    const gbRun = readdirSync(LOCAL).find((t) => existsSync(join(LOCAL, t, 'attempt_1', 'resources.json')) && readFileSync(join(LOCAL, t, 'attempt_1', 'resources.json'), 'utf8').includes('GB / '))
    expect(gbRun).toBeDefined()
    picks.push(join(LOCAL, gbRun!, 'attempt_1'))
    for (const path of picks) {
      const parts = path.split('/')
      const runId = `${parts.at(-3)}/${parts.at(-2)}/attempt_1`
      const raw = rawRun(path)
      const [row] = await listRuns(store, {runIds: [runId]})
      expect(row, runId).toBeDefined()
      expect(row.samples, runId).toBe(raw.samples)
      expect(row.span_s, runId).toBeCloseTo(raw.spanS, 3)
      expect(row.mem_peak_mb, runId).toBeCloseTo(raw.peakMb, 6)
      expect(row.mem_avg_mb, runId).toBeCloseTo(raw.avgMb, 6)
      expect(row.tool_calls, runId).toBe(raw.toolUses)
      const side = await store.query('SELECT call_id, parent_call_id FROM tool_calls WHERE run_id = $id AND is_sidechain ORDER BY call_id', {id: runId})
      expect(side.map((s) => s.call_id).sort(), runId).toEqual([...raw.sidechainUses].sort())
      for (const s of side) expect(s.parent_call_id, `${runId} ${String(s.call_id)}`).toMatch(/^toolu_/)
    }
  })

  it('puts the naive UTC-8 runner clock, the epoch and the transcript on one UTC clock', async () => {
    const dir = join(HAIKU, 'dask__dask-11628', 'attempt_1')
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'))
    const res = JSON.parse(readFileSync(join(dir, 'resources.json'), 'utf8'))
    const [run] = await store.query(
      "SELECT started_at_us::DOUBLE AS s, model, model_actual, agent_version FROM runs WHERE run_id = 'all_images_haiku/dask__dask-11628/attempt_1'",
    )
    // start_time is naive local (UTC-8): 8 h later in UTC
    expect(run.s).toBe(Date.parse(`${results.start_time.slice(0, 23)}Z`) * 1000 + Number(results.start_time.slice(23)) + 8 * 3600e6)
    expect(run.model).toBe('haiku')
    expect(run.model_actual).toBe('claude-3-5-haiku-20241022')
    expect(run.agent_version).toBe('2.0.0')
    const phases = await store.query(
      "SELECT phase, start_us::DOUBLE AS s, end_us::DOUBLE AS e FROM phases WHERE run_id = 'all_images_haiku/dask__dask-11628/attempt_1' ORDER BY start_us",
    )
    expect(phases.map((p) => p.phase)).toEqual(['image_prepare', 'container_create', 'agent_start', 'agent_active', 'teardown'])
    const firstEpochUs = Math.round(res.samples[0].epoch * 1e6)
    expect(phases[1].e).toBe(firstEpochUs)
    expect(phases[2].s).toBe(firstEpochUs)
    const firstTrace = JSON.parse(readFileSync(join(dir, 'trace.jsonl'), 'utf8').split('\n')[0]).timestamp
    expect(phases[3].s).toBe(Date.parse(firstTrace) * 1000)
    // the transcript starts ~1.8 s after sampling (paper-artifacts.md §1.5)
    expect((Number(phases[3].s) - firstEpochUs) / 1e6).toBeGreaterThan(0.5)
    expect((Number(phases[3].s) - firstEpochUs) / 1e6).toBeLessThan(5)
    const glm = await store.query("SELECT DISTINCT model, model_actual FROM runs WHERE dataset = 'all_images_local' AND model_actual IS NOT NULL")
    expect(glm).toEqual([{model: 'qwen3', model_actual: 'unsloth/GLM-4.7-Flash-GGUF:Q4_K_M'}])
  })

  it('flags the start transient and the trailing 0B samples instead of dropping them', async () => {
    const rows = await store.query(
      `SELECT count(DISTINCT run_id) FILTER (WHERE flags LIKE '%exit_0b%')::INTEGER AS exit_runs,
              count(*) FILTER (WHERE flags LIKE '%start_transient%')::INTEGER AS starts,
              count(*) FILTER (WHERE flags LIKE '%exit_0b%' AND mem_bytes <> 0)::INTEGER AS bad
       FROM samples`,
    )
    expect(rows[0]).toEqual({bad: 0, exit_runs: 29 + 18, starts: 168})
    const kinds = await store.query('SELECT DISTINCT cpu_pct_kind FROM samples')
    expect(kinds).toEqual([{cpu_pct_kind: 'lifetime_avg'}])
  })

  it('falls back to tool_calls.json where the transcript is missing, and says so', async () => {
    const rows = await store.query(
      "SELECT run_id, notes FROM runs WHERE notes LIKE '%no trace.jsonl%' ORDER BY run_id",
    )
    expect(rows.map((r) => r.run_id)).toEqual([
      'all_images_local/mwouts__jupytext-372/attempt_1',
      'all_images_local/sigmavirus24__github3.py-673/attempt_1',
    ])
    const calls = JSON.parse(readFileSync(join(LOCAL, 'mwouts__jupytext-372', 'attempt_1', 'tool_calls.json'), 'utf8'))
    const n = await store.query("SELECT count(*)::INTEGER AS n, count(is_sidechain)::INTEGER AS known FROM tool_calls WHERE run_id = 'all_images_local/mwouts__jupytext-372/attempt_1'")
    expect(n[0]).toEqual({known: 0, n: calls.length})
  })

  it('re-imports idempotently: same rows, no duplicates', async () => {
    const before = await counts(store)
    const again = await importRecordings(store, {paths: [HAIKU]})
    expect(again.imported).toHaveLength(58)
    expect(await counts(store)).toEqual(before)
    const dup = await store.query('SELECT count(*)::INTEGER AS n FROM (SELECT run_id, call_id FROM tool_calls GROUP BY ALL HAVING count(*) > 1)')
    expect(dup[0].n).toBe(0)
  })
})

describe.skipIf(HAVE_DATA)('import of the paper\'s shipped data', () => {
  it.skip(`skipped: ${PAPER_DATA} is absent (clone eunomia-bpf/agentcgroup and point at experiments/)`, () => {})
})
