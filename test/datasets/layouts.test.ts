/**
 * Every recording layout of paper-artifacts.md §1 and §1.8 in one `experiments/` tree, imported
 * as a whole and in parts: dataset names, run ids, statuses, attempt numbering, clocks, and an
 * explanation for everything that was not imported.
 */
import {copyFileSync, mkdirSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings, ImportResult} from '../../datasets/import/importer.js'
import {listRuns} from '../../datasets/runs-query.js'
import {Store} from '../../datasets/store.js'
import {
  ebpfTraceJsonl,
  EbpfSync,
  isoZ,
  lastPrompt,
  naiveLocal,
  oldSchemaToolCalls,
  queueOperation,
  rampSamples,
  Rec,
  resourcesJson,
  resultsJson,
  sampleTranscript,
  SampleSpec,
  T0,
  tempDir,
  thinkingRecord,
  toolCallsFromTranscript,
  TranscriptBuilder,
  writeAttempt,
  writeFile,
  writeNotStarted,
} from '../fixtures/recordings.js'

const HAIKU = 'all_images_haiku'
const BATCH = 'batch_swebench_18tasks'
const STUDY = 'empirical_study_20260305_full'
const FLAT = 'sweb.eval.x86_64.encode__httpx-2701_20260301_120000'

const BATCH_T0 = Date.UTC(2026, 0, 24, 10, 0, 0) / 1000 // naive times are UTC in the batch
const STUDY_T0 = Date.UTC(2026, 2, 6, 1, 3, 57) / 1000 // 2026-03-05T17:03:57 in the study's UTC-8
const FLAT_T0 = Date.UTC(2026, 2, 1, 12, 0, 30) / 1000 // naive times are UTC in the flat run
const PILOT_START = Date.UTC(2026, 2, 5, 20, 0, 0) / 1000

const STUDY_RUN = 'study_pytorch_ignite_20260305_170357'
const STUDY_FAILED = 'study_failed_pull_20260305_180000'
const PILOT = 'pilot_smoke_20260305_120000'
const PILOT_EBPF = 'pilot_ebpf_only_20260305_110000'

// CLOCK_MONOTONIC 1234.5 s after boot was STUDY_T0 + 768 us on the wall clock
const SYNC: EbpfSync = {monoNs: 1_234_500_000_000n, wallNs: BigInt(STUDY_T0) * 1_000_000_000n + 768_000n}
const us = (epochS: number) => Math.round(epochS * 1e6)
/** The UTC microsecond a monotonic time `s` seconds after the sync point maps to. */
const syncUs = (s: number) => Number((SYNC.wallNs + BigInt(Math.round(s * 1e9))) / 1000n)
const mono = (s: number) => Number(SYNC.monoNs + BigInt(Math.round(s * 1e9)))

// ---- batch_swebench_18tasks ---------------------------------------------------------------

/** Claude Code 2.1.16 session: queue operations, background Bash + TaskOutput/KillShell, a Task with no inline sidechain. */
function batchTranscript(t0: number, endT = 50): TranscriptBuilder {
  const b = new TranscriptBuilder(t0, '2.1.16', 'claude-haiku-4-5-20251001')
  return b
    .raw(queueOperation(t0, -0.4, 'enqueue'))
    .raw(queueOperation(t0, -0.3, 'dequeue'))
    .prompt(0)
    .toolUse(3, 'toolu_bg', 'Bash', {command: 'python -m pytest tests -x', description: 'Run tests in background', run_in_background: true})
    .toolResult(3.5, 'toolu_bg', 'Command running in background with ID: bash_1', {toolUseResult: {backgroundTaskId: 'bash_1', interrupted: false, stderr: '', stdout: ''}})
    .toolUse(6, 'toolu_out', 'TaskOutput', {block: true, task_id: 'bash_1', timeout: 30000})
    .toolResult(20, 'toolu_out', '<status>completed</status><exit_code>1</exit_code>')
    .toolUse(21, 'toolu_task', 'Task', {description: 'find the bug', prompt: 'Find where the bug is', subagent_type: 'Explore'})
    .toolResult(45, 'toolu_task', [{text: 'in a.py', type: 'text'}], {toolUseResult: {agentId: 'a1b2c3', content: [], status: 'completed', totalDurationMs: 24000}})
    .toolUse(46, 'toolu_kill', 'KillShell', {shell_id: 'bash_1'})
    .toolResult(46.2, 'toolu_kill', 'Successfully killed shell: bash_1')
    .text(endT, 'Done.')
    .raw(lastPrompt())
}

/** results.json of the batch runner: no model, image_info or disk_usage; a real pull_time. */
function batchResults(image: string, sampleT0: number, span: number, exitCode: number): object {
  const start = sampleT0 - 160
  return {
    claude_output: {exit_code: exitCode, stderr: '', stdout: 'done'},
    claude_time: span + 40,
    cleaned: true,
    cpu_limit: null,
    end_time: naiveLocal(sampleT0 + span + 20, 0),
    image,
    memory_limit: null,
    output_dir: '/home/u/agentcgroup/experiments/batch_swebench_18tasks/x/attempt_1',
    permission_fix_time: 31.2,
    pull_time: 87.31,
    start_time: naiveLocal(start, 0),
    total_time: span + 180,
    traces: {files: [], tool_calls: []},
  }
}

function writeBatchAttempt(dir: string, image: string, t0: number, samples: SampleSpec[], exitCode = 0): void {
  const tr = batchTranscript(t0 + 2)
  writeFile(join(dir, 'results.json'), batchResults(image, t0, samples.at(-1)!.t, exitCode))
  writeFile(join(dir, 'resources.json'), resourcesJson(samples, t0, 0))
  writeFile(join(dir, 'trace.jsonl'), tr.jsonl())
  writeFile(join(dir, 'tool_calls.json'), oldSchemaToolCalls(tr))
  writeFile(join(dir, 'claude_output.txt'), 'done\n')
}

function writeBatch(root: string): void {
  writeFile(join(root, 'progress.json'), {
    completed: ['DevOps_Build_Hard', 'Medical_Bio_Hard', 'SQL_Data_Easy'],
    results: {DevOps_Build_Hard: {attempts: 1, success: true, total_time: 300}, Medical_Bio_Hard: {attempts: 3, success: false, total_time: 2000}, SQL_Data_Easy: {attempts: 1, success: false, total_time: 10}},
  })
  writeFile(join(root, 'summary.json'), {})
  writeFile(join(root, 'report.md'), '')
  const bio = 'swerebench/sweb.eval.x86_64.pydicom_1776_pydicom-2022'
  // attempt 1 ends in 47 consecutive "0B / 0B" samples (the container had exited)
  writeBatchAttempt(join(root, 'Medical_Bio_Hard', 'attempt_1'), bio, BATCH_T0, rampSamples(80, {exitZero: 47}), 1)
  writeBatchAttempt(join(root, 'Medical_Bio_Hard', 'attempt_2'), bio, BATCH_T0 + 3600, rampSamples(70, {exitZero: 1}), 1)
  // attempt 3 was killed (137) long after its transcript ended: 400 s of samples, 50 s of transcript
  writeBatchAttempt(join(root, 'Medical_Bio_Hard', 'attempt_3'), bio, BATCH_T0 + 7200, rampSamples(385), 137)
  writeBatchAttempt(join(root, 'DevOps_Build_Hard', 'attempt_1'), 'swerebench/sweb.eval.x86_64.iterative_1776_dvc-777', BATCH_T0 + 10_800, rampSamples(90, {exitZero: 1}))
}

// ---- empirical_study_20260305_full ---------------------------------------------------------

/** 0.5 s samples under a 4g limit; the first and last sample are in kB. */
function studySamples(n = 141): SampleSpec[] {
  const out: SampleSpec[] = []
  for (let i = 0; i < n; i++) {
    const mem = i === 0 ? '573.4kB' : i === n - 1 ? '812.2kB' : `${150 + i}.5MB`
    out.push({cpu: `${(200 / (i + 1)).toFixed(2)}%`, mem: `${mem} / 4.295GB`, t: i * 0.5})
  }
  return out
}

/** Claude Code 2.1.69 session with thinking blocks (one API message = thinking + tool_use records). */
function studyTranscript(t0: number): TranscriptBuilder {
  const b = new TranscriptBuilder(t0, '2.1.69', 'claude-haiku-4-5-20251001')
  return b
    .raw(queueOperation(t0, -0.2, 'enqueue'))
    .prompt(0)
    .raw(thinkingRecord(t0, 2, 'msg_1'))
    .toolUse(3, 'toolu_s_bash1', 'Bash', {command: 'python -m pytest tests/ignite -x', description: 'Run tests'}, {msgId: 'msg_1'})
    .toolResult(9, 'toolu_s_bash1', 'Exit code 1\nFAILED', {isError: true})
    .raw(thinkingRecord(t0, 10, 'msg_2'))
    .toolUse(11, 'toolu_s_edit', 'Edit', {file_path: '/testbed/ignite/a.py', new_string: 'b', old_string: 'a'}, {msgId: 'msg_2'})
    .toolResult(11.3, 'toolu_s_edit', 'ok')
    .raw(thinkingRecord(t0, 12, 'msg_3'))
    .toolUse(12.5, 'toolu_s_bash2', 'Bash', {command: 'python -m pytest tests/ignite', description: 'Run tests again'}, {msgId: 'msg_3'})
    .toolResult(18, 'toolu_s_bash2', '3 passed')
    .text(20, 'Fixed.')
    .raw(lastPrompt())
}

/** eBPF events (seconds after the sync point): claude, the Bash tool's shell and pytest, a git after the session. */
function studyEbpfEvents(): Rec[] {
  const ev = (s: number, event: string, rest: Rec): Rec => ({event, timestamp: mono(s), ...rest})
  return [
    ev(1.5, 'EXEC', {comm: 'claude', filename: '/home/u/.local/bin/claude', full_command: 'claude --model haiku --print --dangerously-skip-permissions Fix', pid: 4242, ppid: 4200, rss_kb: 52_000, shared_kb: 20_000}),
    ev(2, 'RESOURCE_SAMPLE', {cgroup_cpu_usage_usec: 1_500_000, cgroup_memory_bytes: 34_359_738_368, cgroup_memory_peak_bytes: 40_000_000_000, num_processes: 1, target_pid: 4242, total_rss_kb: 52_000}),
    ev(14.6, 'EXEC', {comm: 'bash', filename: '/usr/bin/bash', full_command: 'bash -c python -m pytest tests/ignite', pid: 4250, ppid: 4242, rss_kb: 3000, shared_kb: 2000}),
    ev(15, 'EXEC', {comm: 'python', filename: '/usr/bin/python3', full_command: 'python -m pytest tests/ignite', pid: 4300, ppid: 4250, rss_kb: 9000, shared_kb: 4000}),
    ev(15.2, 'FILE_OPEN', {comm: 'python', count: 1, filepath: '/testbed/setup.cfg', flags: 0, pid: 4300}),
    ev(16, 'RESOURCE_DETAIL', {comm: 'python', cpu_sys_ms: 40, cpu_user_ms: 700, pid: 4300, rss_kb: 90_000}),
    ev(17, 'SUMMARY', {comm: 'python', count: 12, detail: '/testbed/.pytest_cache/v/cache/nodeids', path_resolved: true, pid: 4300, total_bytes: 40_960, type: 'WRITE'}),
    ev(19, 'EXIT', {comm: 'python', duration_ms: 4000, exit_code: 1, pid: 4300, ppid: 4250, vm_hwm_kb: 98_304}),
    ev(19.9, 'EXIT', {comm: 'bash', duration_ms: 5300, exit_code: 1, pid: 4250, ppid: 4242, vm_hwm_kb: 4096}),
    ev(69, 'EXIT', {comm: 'claude', duration_ms: 67_500, exit_code: 0, pid: 4242, ppid: 4200, vm_hwm_kb: 412_000}),
    ev(70, 'EXEC', {comm: 'git', filename: '/usr/bin/git', full_command: 'git diff', pid: 4400, ppid: 4200, rss_kb: 4000, shared_kb: 1000}),
    ev(70.1, 'EXIT', {comm: 'git', duration_ms: 100, exit_code: 0, pid: 4400, ppid: 4200, vm_hwm_kb: 8192}),
    ev(70.2, 'SUMMARY', {comm: 'claude', count: 3, detail: '/tmp/x', pid: 4242, total_bytes: 0, type: 'DIR_CREATE'}),
  ]
}

const CGROUP = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-abc123.scope'

function writeStudyRun(dir: string, t0: number, o: {ebpf: boolean}): void {
  const start = t0 - 90
  const image = 'swerebench/sweb.eval.x86_64.pytorch_1776_ignite-2899'
  const tr = studyTranscript(t0 + 2)
  writeFile(join(dir, 'run_manifest.json'), {
    argv: ['scripts/run_swebench_new.py', image, '--memory', '4g', '--cpus', '2'],
    container_cgroup_path: CGROUP,
    container_id: 'abc123def456',
    end_time: naiveLocal(t0 + 90),
    error: null,
    image,
    model: 'haiku',
    start_time: naiveLocal(start - 1),
    swebench: {claude_exit_code: 0, error: null, output_dir: join(dir, 'swebench'), tool_calls: 3, total_time: 181},
    task_name: basename(dir),
    total_time: 182,
    trace_cmd: ['sudo', './agentsight/bpf/process_new', '-m', '2'],
  })
  writeFile(join(dir, 'swebench', 'results.json'), {
    claude_output: {exit_code: 0, stderr: '', stdout: 'Fixed.\n=== GIT DIFF ===\n'},
    claude_time: 75,
    cpu_limit: '2',
    disk_usage: {testbed_mb: 310},
    end_time: naiveLocal(t0 + 89),
    image,
    image_info: {image_id: 'fedcba987654', size_bytes: 3_000_000_000, size_mb: 2861.02},
    memory_limit: '4g',
    model: 'haiku',
    model_actual: 'haiku',
    model_requested: 'haiku',
    output_dir: join(dir, 'swebench'),
    permission_fix_time: 12,
    pull_time: 60.5,
    resource_monitor_interval_s: 0.5,
    start_time: naiveLocal(start),
    total_time: 180,
    traces: {files: [], tool_calls: []},
  })
  writeFile(join(dir, 'swebench', 'resources.json'), resourcesJson(studySamples(), t0, -480))
  writeFile(join(dir, 'swebench', 'tool_calls.json'), toolCallsFromTranscript(tr))
  writeFile(join(dir, 'swebench', 'trace.jsonl'), tr.jsonl())
  writeFile(join(dir, 'container.id'), 'abc123def456\n')
  writeFile(join(dir, 'container_cgroup_path.txt'), `${CGROUP}\n`)
  if (o.ebpf) {
    writeFile(join(dir, 'ebpf_trace.jsonl'), ebpfTraceJsonl(SYNC, studyEbpfEvents()))
    writeFile(join(dir, 'ebpf_trace.pid'), '777\n')
    writeFile(join(dir, 'ebpf_trace.stderr'), 'libbpf: loaded\n')
  }
}

function writeStudy(root: string): void {
  writeStudyRun(join(root, 'runs', STUDY_RUN), STUDY_T0, {ebpf: true})
  // the retry's ebpf_trace.jsonl is one of the blobs missing upstream
  writeStudyRun(join(root, 'runs', `${STUDY_RUN}_retry`), STUDY_T0 + 600, {ebpf: false})
  // failed before the agent ran: only swebench/results.json with an error
  writeFile(join(root, 'runs', STUDY_FAILED, 'swebench', 'results.json'), {
    cpu_limit: '2',
    end_time: naiveLocal(STUDY_T0 + 3603),
    error: 'Failed to pull image: Error: initializing source docker://swerebench/sweb.eval.x86_64.foo_1776_bar-1:latest: reading manifest latest: manifest unknown',
    image: 'swerebench/sweb.eval.x86_64.foo_1776_bar-1',
    memory_limit: '4g',
    model: 'haiku',
    model_requested: 'haiku',
    output_dir: '/x/swebench',
    start_time: naiveLocal(STUDY_T0 + 3600),
    total_time: 3.2,
  })
  // pilot run in flat form: exit code, logs, UTC start/end files, cgroup path, no resources.json
  const pilot = join(root, PILOT)
  writeFile(join(pilot, 'claude_exit_code.txt'), '1\n')
  writeFile(join(pilot, 'container_logs.txt'), 'hello\n')
  writeFile(join(pilot, 'start_utc.txt'), `${isoZ(PILOT_START).replace('.000Z', 'Z')}\n`)
  writeFile(join(pilot, 'end_utc.txt'), `${isoZ(PILOT_START + 7).replace('.000Z', 'Z')}\n`)
  writeFile(join(pilot, 'cgroup_path.txt'), `${CGROUP}\n`)
  // smoke run with only an eBPF trace
  const ebpfOnly: Rec[] = [
    {comm: 'claude', event: 'EXEC', filename: '/usr/local/bin/claude', full_command: 'claude --version', pid: 10, ppid: 1, rss_kb: 40_000, timestamp: mono(0.5)},
    {comm: 'claude', duration_ms: 2500, event: 'EXIT', exit_code: 0, pid: 10, ppid: 1, timestamp: mono(3), vm_hwm_kb: 60_000},
  ]
  writeFile(join(root, PILOT_EBPF, 'ebpf_trace.jsonl'), ebpfTraceJsonl(SYNC, ebpfOnly))
}

// ---- flat single run, replays, analysis ----------------------------------------------------

function writeFlat(dir: string): void {
  const tr = sampleTranscript(FLAT_T0 + 2)
  writeFile(join(dir, 'results.json'), resultsJson({image: 'swerebench/sweb.eval.x86_64.encode_1776_httpx-2701', offsetMin: 0, startEpoch: FLAT_T0 - 150}))
  // resourcesJson writes summary.memory_mb all zeros, like the real broken one
  writeFile(join(dir, 'resources.json'), resourcesJson(rampSamples(75, {exitZero: 1}), FLAT_T0, 0))
  writeFile(join(dir, 'tool_calls.json'), toolCallsFromTranscript(tr))
  writeFile(join(dir, 'trace.jsonl'), tr.jsonl())
}

function writeReplay(dir: string): void {
  const t0 = Date.UTC(2026, 1, 10, 10, 10, 10) / 1000
  const samples = rampSamples(30, {unit: 'kB'})
  writeFile(join(dir, 'results.json'), {
    cpu_limit: null,
    disk_usage_after: {testbed_mb: 300},
    disk_usage_before: {testbed_mb: 299},
    end_time: naiveLocal(t0 + 40, 0),
    image: 'swerebench/sweb.eval.x86_64.dask_1776_dask-11628',
    image_info: {image_id: 'abc', size_bytes: 1000, size_mb: 0},
    memory_limit: null,
    no_delay: false,
    replay_results: [{execution_time: 1.2, exit_code: 0, index: 0, original_timestamp: isoZ(T0 + 5), replay_timestamp: naiveLocal(t0 + 3, 0), stdout_len: 10, success: true, tool: 'Bash'}],
    resource_samples: resourcesJson(samples, t0, 0),
    session_id: 'main',
    speed: 10,
    start_time: naiveLocal(t0, 0),
    task_name: 'dask__dask-11628',
    tool_call_count: 1,
    total_time: 40,
  })
  writeFile(join(dir, 'resources.json'), resourcesJson(samples, t0, 0))
  writeFile(join(dir, 'tool_calls.json'), [{id: 'toolu_bash1', timestamp: naiveLocal(t0 + 3, 0), tool: 'Bash'}])
  writeFile(join(dir, 'resource_plot.png'), 'PNG')
}

function writeHaiku(root: string): void {
  writeFile(join(root, 'progress.json'), {
    completed: ['dask__dask-11628', 'pydicom__pydicom-1601', 'joke2k__faker-1520'],
    results: {'dask__dask-11628': {attempts: 1, success: true, total_time: 320}, 'joke2k__faker-1520': {attempts: 1, success: false, total_time: 5}, 'pydicom__pydicom-1601': {attempts: 1, success: false, total_time: 5}},
  })
  writeFile(join(root, 'summary.json'), {results: [], total_tasks: 3})
  writeFile(join(root, 'report.md'), '# Report\n')
  writeFile(join(root, 'analyze.py'), 'print(1)\n')
  const tr = sampleTranscript()
  writeAttempt(join(root, 'dask__dask-11628', 'attempt_1'), {toolCalls: toolCallsFromTranscript(tr), transcript: tr})
  writeNotStarted(join(root, 'pydicom__pydicom-1601', 'attempt_1'))
}

// ---- the test ------------------------------------------------------------------------------

type Row = Record<string, unknown>
const TABLES = ['runs', 'phases', 'samples', 'tool_calls', 'processes', 'llm_turns', 'events', 'transcripts']

describe('import of every recording layout in an experiments/ tree', () => {
  let tmp: string
  let exp: string
  let store: Store
  let first: ImportResult
  const runs = new Map<string, Row>()

  const q = (sql: string, params: Record<string, string | number> = {}) => store.query(sql, params)
  const counts = async (s: Store) => {
    const out: Record<string, number> = {}
    for (const t of TABLES) out[t] = Number((await s.query(`SELECT count(*)::INTEGER AS n FROM ${t}`))[0].n)
    return out
  }

  beforeAll(async () => {
    tmp = tempDir('agentcgroup-layouts-')
    exp = join(tmp, 'experiments')
    writeHaiku(join(exp, HAIKU))
    writeBatch(join(exp, BATCH))
    writeStudy(join(exp, STUDY))
    writeFlat(join(exp, FLAT))
    writeReplay(join(exp, 'replays', 'dask__dask-11628_20260210_101010'))
    writeFile(join(exp, 'analysis', 'characterization.py'), 'import numpy\n')
    writeFile(join(exp, 'analysis', 'figures', 'fig1.png'), 'PNG')
    store = await Store.open(join(tmp, 'store.duckdb'))
    first = await importRecordings(store, {paths: [exp]})
    for (const r of await q('SELECT *, started_at_us::DOUBLE AS start_d, ended_at_us::DOUBLE AS end_d, bpf_clock_offset_ns::VARCHAR AS offset_s FROM runs')) runs.set(String(r.run_id), r)
  })

  afterAll(() => {
    store?.close()
    if (tmp) rmSync(tmp, {force: true, recursive: true})
  })

  it('names one dataset per recording folder and numbers attempts from the source', () => {
    expect(first.failed).toEqual([])
    expect([...runs.keys()].sort()).toEqual(
      [
        `${HAIKU}/dask__dask-11628/attempt_1`,
        `${HAIKU}/pydicom__pydicom-1601/attempt_1`,
        `${BATCH}/DevOps_Build_Hard/attempt_1`,
        `${BATCH}/Medical_Bio_Hard/attempt_1`,
        `${BATCH}/Medical_Bio_Hard/attempt_2`,
        `${BATCH}/Medical_Bio_Hard/attempt_3`,
        `${STUDY}/${PILOT_EBPF}/attempt_1`,
        `${STUDY}/${PILOT}/attempt_1`,
        `${STUDY}/${STUDY_FAILED}/attempt_1`,
        `${STUDY}/${STUDY_RUN}/attempt_1`,
        `${STUDY}/${STUDY_RUN}/attempt_2`,
        `${FLAT}/${FLAT}/attempt_1`,
      ].sort(),
    )
    expect(new Set([...runs.values()].map((r) => r.dataset))).toEqual(new Set([HAIKU, BATCH, STUDY, FLAT]))
    expect(first.datasets.map((d) => d.dataset).sort()).toEqual([BATCH, FLAT, HAIKU, STUDY].sort())
    for (const r of runs.values()) expect(r.run_id).toBe(`${r.dataset}/${String(r.run_id).split('/')[1]}/attempt_${r.attempt}`)
    expect(runs.get(`${STUDY}/${STUDY_RUN}/attempt_2`)!.source_path).toBe(join(exp, STUDY, 'runs', `${STUDY_RUN}_retry`))
    expect(runs.get(`${BATCH}/Medical_Bio_Hard/attempt_3`)!.attempt).toBe(3)
  })

  it('explains every skip and warns about progress.json tasks with no folder', () => {
    const skipped = first.skipped.map((s) => ({path: s.path, reason: s.reason}))
    expect(skipped).toHaveLength(2)
    expect(skipped).toContainEqual({path: join(exp, 'analysis'), reason: expect.stringMatching(/^no recording inside/)})
    expect(skipped).toContainEqual({path: join(exp, 'replays', 'dask__dask-11628_20260210_101010'), reason: expect.stringContaining('tool-call replay')})
    // stale summary.json / report.md / analyze.py are neither runs nor errors
    expect(first.failed).toEqual([])
    expect(first.warnings).toHaveLength(2)
    expect(first.warnings.find((w) => w.includes(HAIKU))).toMatch(/joke2k__faker-1520/)
    expect(first.warnings.find((w) => w.includes(HAIKU))).not.toMatch(/pydicom/)
    expect(first.warnings.find((w) => w.includes(BATCH))).toMatch(/SQL_Data_Easy/)
  })

  it('all_images_haiku: a complete attempt with a sidechain and a not_started one, on the UTC-8 clock', async () => {
    const done = runs.get(`${HAIKU}/dask__dask-11628/attempt_1`)!
    expect(done).toMatchObject({layout: 'attempt', status: 'done', success_heuristic: true, task_id: 'dask__dask-11628', valid: true})
    expect(done.start_d).toBe(us(T0 - 200)) // naive UTC-8 start_time, offset learned from epoch
    const calls = await q(`SELECT call_id, is_sidechain, parent_call_id, source FROM tool_calls WHERE run_id = $id ORDER BY seq`, {id: String(done.run_id)})
    expect(calls).toHaveLength(5)
    expect(calls.find((c) => c.call_id === 'toolu_side1')).toMatchObject({is_sidechain: true, parent_call_id: 'toolu_task1', source: 'transcript'})
    const ns = runs.get(`${HAIKU}/pydicom__pydicom-1601/attempt_1`)!
    expect(ns).toMatchObject({status: 'not_started', valid: false})
    expect(ns.error).toMatch(/ID-mapped copy/)
    expect(ns.start_d).toBe(us(T0 - 200)) // a sibling's samples gave the dataset's clock offset
  })

  it('batch: category folders, instance ids from the image, tool calls from the 2.1.16 trace', async () => {
    const a2 = runs.get(`${BATCH}/Medical_Bio_Hard/attempt_2`)!
    expect(a2).toMatchObject({agent_version: '2.1.16', model: null, model_actual: 'claude-haiku-4-5-20251001', success_heuristic: false, task_id: 'pydicom__pydicom-2022'})
    expect(runs.get(`${BATCH}/DevOps_Build_Hard/attempt_1`)!.task_id).toBe('iterative__dvc-777')
    expect(a2.start_d).toBe(us(BATCH_T0 + 3600 - 160)) // naive times are UTC here
    const prep = await q(`SELECT (end_us - start_us)::DOUBLE AS d FROM phases WHERE run_id = $id AND phase = 'image_prepare'`, {id: String(a2.run_id)})
    expect(prep[0].d).toBe(us(87.31 + 31.2)) // the real pull_time + permission fix

    for (const n of [1, 2, 3]) {
      const id = `${BATCH}/Medical_Bio_Hard/attempt_${n}`
      const calls = await q(`SELECT tool, source, is_sidechain, start_us::DOUBLE AS s, end_us::DOUBLE AS e FROM tool_calls WHERE run_id = $id ORDER BY seq`, {id})
      expect(calls.map((c) => c.tool)).toEqual(['Bash', 'TaskOutput', 'Task', 'KillShell'])
      for (const c of calls) {
        expect(c).toMatchObject({is_sidechain: false, source: 'transcript'})
        expect(Number(c.e)).toBeGreaterThan(Number(c.s))
      }
    }
    const task = await q(`SELECT (end_us - start_us)::DOUBLE AS d FROM tool_calls WHERE run_id = $id AND tool = 'Task'`, {id: String(a2.run_id)})
    expect(task[0].d).toBe(24e6)
    // last-prompt has no timestamp and queue-operation is not a turn
    const turns = await q(`SELECT count(*)::INTEGER AS n FROM llm_turns WHERE run_id = $id`, {id: String(a2.run_id)})
    expect(turns[0].n).toBe(5)
  })

  it('batch: 47 trailing 0B samples are kept and flagged; exit 137 with a sampling span far beyond the transcript', async () => {
    const a1 = `${BATCH}/Medical_Bio_Hard/attempt_1`
    const s = await q(`SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE flags LIKE '%exit_0b%')::INTEGER AS zero,
                              count(*) FILTER (WHERE mem_bytes = 0)::INTEGER AS mem0 FROM samples WHERE run_id = $id`, {id: a1})
    expect(s[0]).toEqual({mem0: 47, n: 127, zero: 47})
    const tail = await q(`SELECT flags FROM samples WHERE run_id = $id ORDER BY t_us DESC LIMIT 47`, {id: a1})
    expect(tail.every((r) => r.flags === 'exit_0b')).toBe(true)
    expect(runs.get(a1)).toMatchObject({exit_code: 1, status: 'failed'})

    const a3 = `${BATCH}/Medical_Bio_Hard/attempt_3`
    expect(runs.get(a3)).toMatchObject({exit_code: 137, status: 'failed', valid: true})
    expect(runs.get(a3)!.notes).toMatch(/137/)
    const span = await q(`SELECT ((max(t_us) - min(t_us)) / 1e6)::DOUBLE AS s FROM samples WHERE run_id = $id`, {id: a3})
    const active = await q(`SELECT ((end_us - start_us) / 1e6)::DOUBLE AS s FROM phases WHERE run_id = $id AND phase = 'agent_active'`, {id: a3})
    expect(Number(span[0].s)).toBeCloseTo(384 * 1.04, 3)
    expect(Number(active[0].s)).toBeCloseTo(50.4, 3) // queue-operation at -0.4 s to the last text at 50 s
    expect(Number(span[0].s)).toBeGreaterThan(5 * Number(active[0].s))
  })

  it('study: manifest + swebench/ files, 0.5 s kB samples on the UTC-8 clock, _retry = attempt 2', async () => {
    const r1 = runs.get(`${STUDY}/${STUDY_RUN}/attempt_1`)!
    expect(r1).toMatchObject({
      agent_version: '2.1.69',
      exit_code: 0,
      interval_ms: 500,
      layout: 'study',
      model: 'haiku',
      model_actual: 'claude-haiku-4-5-20251001',
      status: 'done',
      task_id: 'pytorch__ignite-2899',
      valid: true,
    })
    expect(r1.start_d).toBe(us(STUDY_T0 - 90))
    expect(r1.end_d).toBe(us(STUDY_T0 + 89))
    expect(r1.notes).toContain(CGROUP)
    const s = await q(`SELECT t_us::DOUBLE AS t, mem_bytes::DOUBLE AS m, mem_limit_bytes::DOUBLE AS l, flags FROM samples WHERE run_id = $id ORDER BY t_us`, {id: String(r1.run_id)})
    expect(s).toHaveLength(141)
    expect(s[0]).toMatchObject({flags: 'start_transient', l: 4.295e9, m: 573_400, t: us(STUDY_T0)})
    expect(s.at(-1)).toMatchObject({m: 812_200, t: us(STUDY_T0 + 70)})
    const turns = await q(`SELECT message_id, start_us::DOUBLE AS s, end_us::DOUBLE AS e FROM llm_turns WHERE run_id = $id ORDER BY turn`, {id: String(r1.run_id)})
    expect(turns.map((t) => t.message_id).slice(0, 3)).toEqual(['msg_1', 'msg_2', 'msg_3'])
    expect(turns[0]).toMatchObject({e: us(STUDY_T0 + 2 + 3), s: us(STUDY_T0 + 2)}) // thinking + tool_use = one turn

    const r2 = runs.get(`${STUDY}/${STUDY_RUN}/attempt_2`)!
    expect(r2).toMatchObject({attempt: 2, bpf_clock_offset_ns: null, status: 'done', task_id: 'pytorch__ignite-2899'})
    expect(r2.start_d).toBe(us(STUDY_T0 + 600 - 90))

    const failed = runs.get(`${STUDY}/${STUDY_FAILED}/attempt_1`)!
    expect(failed).toMatchObject({layout: 'study', status: 'not_started', task_id: 'foo__bar-1', valid: false})
    expect(failed.error).toMatch(/Failed to pull image/)
    expect(failed.start_d).toBe(us(STUDY_T0 + 3600)) // UTC-8, learned from the study's other runs
  })

  it('study: eBPF processes on the run clock through CLOCK_SYNC, attributed to tool calls', async () => {
    const id = `${STUDY}/${STUDY_RUN}/attempt_1`
    // wall - mono; the store keeps it as a double (sub-microsecond precision is not kept)
    expect(Math.abs(Number(runs.get(id)!.offset_s) - Number(SYNC.wallNs - SYNC.monoNs))).toBeLessThan(1000)
    const p = await q(`SELECT pid, ppid, comm, start_us::DOUBLE AS s, end_us::DOUBLE AS e, exit_code, peak_rss_bytes::DOUBLE AS peak, call_id
                       FROM processes WHERE run_id = $id ORDER BY start_us`, {id})
    expect(p.map((r) => r.comm)).toEqual(['claude', 'bash', 'python', 'git'])
    const py = p.find((r) => r.comm === 'python')!
    expect(py).toMatchObject({call_id: 'toolu_s_bash2', e: syncUs(19), exit_code: 1, peak: 98_304 * 1024, pid: 4300, ppid: 4250, s: syncUs(15)})
    expect(p.find((r) => r.comm === 'claude')).toMatchObject({call_id: null, e: syncUs(69), exit_code: 0, peak: 412_000 * 1024, s: syncUs(1.5)})
    expect(p.find((r) => r.comm === 'bash')).toMatchObject({call_id: 'toolu_s_bash2', exit_code: 1, peak: 4096 * 1024})
    expect(p.find((r) => r.comm === 'git')).toMatchObject({call_id: null, exit_code: 0, s: syncUs(70)})
    expect(syncUs(15)).toBe(us(STUDY_T0 + 15) + 768) // the sync point's 768 us carried through
  })

  it('study: pilot runs (flat form with UTC files; eBPF only)', async () => {
    const pilot = runs.get(`${STUDY}/${PILOT}/attempt_1`)!
    expect(pilot).toMatchObject({exit_code: 1, layout: 'pilot', status: 'failed', valid: false}) // from claude_exit_code.txt
    expect(pilot.start_d).toBe(us(PILOT_START))
    expect(pilot.end_d).toBe(us(PILOT_START + 7))
    expect(pilot.notes).toContain(CGROUP)
    const n = await q(`SELECT count(*)::INTEGER AS n FROM samples WHERE run_id = $id`, {id: String(pilot.run_id)})
    expect(n[0].n).toBe(0)

    const only = runs.get(`${STUDY}/${PILOT_EBPF}/attempt_1`)!
    expect(only).toMatchObject({exit_code: null, layout: 'pilot', notes: 'no exit code recorded', status: 'done', valid: false})
    expect(only.start_d).toBe(syncUs(0.5)) // from the eBPF trace, the only clock it has
    expect(only.end_d).toBe(syncUs(3))
    const p = await q(`SELECT comm, exit_code, peak_rss_bytes::DOUBLE AS peak FROM processes WHERE run_id = $id`, {id: String(only.run_id)})
    expect(p).toEqual([{comm: 'claude', exit_code: 0, peak: 60_000 * 1024}])
  })

  it('flat single run: its own dataset, epoch clock, summary recomputed from samples', async () => {
    const id = `${FLAT}/${FLAT}/attempt_1`
    expect(runs.get(id)).toMatchObject({dataset: FLAT, layout: 'flat', status: 'done', task_id: 'encode__httpx-2701', valid: true})
    expect(runs.get(id)!.start_d).toBe(us(FLAT_T0 - 150))
    const s = await q(`SELECT t_us::DOUBLE AS t FROM samples WHERE run_id = $id ORDER BY t_us LIMIT 1`, {id})
    expect(s[0].t).toBe(us(FLAT_T0))
    const [row] = await listRuns(store, {runIds: [id]})
    expect(row.mem_peak_mb).toBeCloseTo(180 + 74, 6) // the stored summary says 0
    expect(row.samples).toBe(76)
    expect(row.tool_calls).toBe(5)
  })

  it('importing the same tree again replaces every run (same row counts)', async () => {
    const before = await counts(store)
    expect(before.processes).toBe(5)
    const again = await importRecordings(store, {paths: [exp]})
    expect(again.imported.map((r) => r.run_id).sort()).toEqual(first.imported.map((r) => r.run_id).sort())
    expect(await counts(store)).toEqual(before)
  })

  it('a task, an attempt, a study run or a flat run given alone keeps the run id of the whole-tree import', async () => {
    const before = await counts(store)
    const cases: [string, string[]][] = [
      [join(exp, HAIKU, 'dask__dask-11628'), [`${HAIKU}/dask__dask-11628/attempt_1`]],
      [join(exp, HAIKU, 'dask__dask-11628', 'attempt_1'), [`${HAIKU}/dask__dask-11628/attempt_1`]],
      [join(exp, BATCH, 'Medical_Bio_Hard', 'attempt_2'), [`${BATCH}/Medical_Bio_Hard/attempt_2`]],
      [join(exp, STUDY, 'runs', `${STUDY_RUN}_retry`), [`${STUDY}/${STUDY_RUN}/attempt_2`]],
      [join(exp, STUDY, 'runs', STUDY_RUN, 'swebench'), [`${STUDY}/${STUDY_RUN}/attempt_1`]],
      [join(exp, STUDY, 'runs', STUDY_FAILED), [`${STUDY}/${STUDY_FAILED}/attempt_1`]],
      [join(exp, STUDY, PILOT), [`${STUDY}/${PILOT}/attempt_1`]],
      [join(exp, FLAT), [`${FLAT}/${FLAT}/attempt_1`]],
    ]
    for (const [path, ids] of cases) {
      const r = await importRecordings(store, {paths: [path]})
      expect(r.failed).toEqual([])
      expect(r.imported.map((x) => x.run_id), path).toEqual(ids)
      expect(r.warnings, path).toEqual([]) // progress.json's other tasks do have folders
    }
    expect(await counts(store)).toEqual(before)
  })

  it('the study folder given itself is the dataset', async () => {
    const before = await counts(store)
    const r = await importRecordings(store, {paths: [join(exp, STUDY)]})
    expect(r.imported.map((x) => x.run_id).sort()).toEqual([...runs.keys()].filter((k) => k.startsWith(`${STUDY}/`)).sort())
    expect(r.skipped).toEqual([])
    expect(await counts(store)).toEqual(before)
  })

  it('a bare transcript imports as kind transcript with tool calls and turns, no samples', async () => {
    const file = join(tmp, 'sessions', '0a1b2c3d-session.jsonl')
    mkdirSync(join(tmp, 'sessions'), {recursive: true})
    copyFileSync(join(exp, STUDY, 'runs', STUDY_RUN, 'swebench', 'trace.jsonl'), file)
    const r = await importRecordings(store, {paths: [file]})
    expect(r.imported).toHaveLength(1)
    const id = 'sessions/0a1b2c3d-session/attempt_1'
    expect(r.imported[0].run_id).toBe(id)
    const [run] = await q(`SELECT kind, layout, status, model_actual, agent_version FROM runs WHERE run_id = $id`, {id})
    expect(run).toEqual({agent_version: '2.1.69', kind: 'transcript', layout: 'transcript', model_actual: 'claude-haiku-4-5-20251001', status: 'done'})
    const n = async (t: string) => Number((await q(`SELECT count(*)::INTEGER AS n FROM ${t} WHERE run_id = $id`, {id}))[0].n)
    expect(await n('tool_calls')).toBe(3)
    expect(await n('llm_turns')).toBe(4)
    expect(await n('samples')).toBe(0)
    expect(await n('transcripts')).toBe(1)
  })

  it('--dataset renames every run', async () => {
    const other = await Store.open(join(tmp, 'renamed.duckdb'))
    try {
      const r = await importRecordings(other, {dataset: 'haiku45-batch', paths: [join(exp, BATCH)]})
      expect(r.imported.map((x) => x.run_id).sort()).toEqual([
        'haiku45-batch/DevOps_Build_Hard/attempt_1',
        'haiku45-batch/Medical_Bio_Hard/attempt_1',
        'haiku45-batch/Medical_Bio_Hard/attempt_2',
        'haiku45-batch/Medical_Bio_Hard/attempt_3',
      ])
      expect(r.datasets).toEqual([{dataset: 'haiku45-batch', runs: 4, valid: 4}])
      const ds = await other.query('SELECT DISTINCT dataset FROM runs')
      expect(ds).toEqual([{dataset: 'haiku45-batch'}])
    } finally {
      other.close()
    }
  })
})
