/**
 * The bad-input corpus: malformed recordings generated here, one per case, each imported into
 * a store that already holds an earlier run. Every case must give ONE line that names the file
 * (and line or field) and the problem; the bad run writes nothing, earlier runs stay intact,
 * and a good run beside the bad one still imports. --strict stops at the first error.
 */
import {mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings, ImportResult} from '../../datasets/import/importer.js'
import {RUN_TABLES} from '../../datasets/schema.js'
import {Store} from '../../datasets/store.js'
import {
  rampSamples,
  resourcesJson,
  resultsJson,
  sampleTranscript,
  T0,
  tempDir,
  TranscriptBuilder,
  writeAttempt,
  writeFile,
} from '../fixtures/recordings.js'

type Json = Record<string, unknown>

const BAD = 'bad_task/attempt_1'

interface Built {
  /** paths to import (default: the case root) */
  paths?: string[]
  /** run ids of good runs the case wrote itself, expected to import */
  good?: string[]
  /** line the error must name, when only known after building */
  line?: number
}

interface Case {
  name: string
  /** writes the bad recording under root */
  build: (root: string) => Built | void
  /** the offending file, relative to root */
  file?: string
  line?: number
  field?: string
  problem: RegExp
  /** a discovery skip (no run), not a failed run */
  skip?: boolean
  /** no good attempt is written beside the bad one */
  alone?: boolean
}

// ---- builders --------------------------------------------------------------------------------

/** A complete attempt at root/bad_task/attempt_1, then one file replaced by `content`. */
function attemptWith(root: string, file: string, content: string | object | Buffer, o: Parameters<typeof writeAttempt>[1] = {}): void {
  const dir = join(root, BAD)
  writeAttempt(dir, o)
  if (Buffer.isBuffer(content)) writeFileSync(join(dir, file), content)
  else writeFile(join(dir, file), content)
}

/** resources.json of 13 ramp samples, then patched in place. */
function resourcesPatched(patch: (samples: Json[]) => void): object {
  const r = resourcesJson(rampSamples(12, {exitZero: 1})) as {samples: Json[]}
  patch(r.samples)
  return r
}

/** Replaces the first line containing `needle` with `replace(line)`; returns the text and the 1-based line. */
function corruptLine(text: string, needle: string, replace: (line: string) => string, nth = 1): {text: string; line: number} {
  const lines = text.split('\n')
  let seen = 0
  const i = lines.findIndex((l) => l.includes(needle) && ++seen === nth)
  if (i < 0) throw new Error(`fixture: no line with ${needle}`)
  lines[i] = replace(lines[i])
  return {line: i + 1, text: lines.join('\n')}
}

/** A transcript whose records are patched; returns its JSONL and the 1-based line of record `at`. */
function transcriptPatched(find: (r: Json) => boolean, patch: (r: Json) => void): {text: string; line: number} {
  const tb = sampleTranscript()
  const i = tb.records.findIndex((r) => find(r as Json))
  if (i < 0) throw new Error('fixture: record not found')
  patch(tb.records[i] as Json)
  return {line: i + 1, text: tb.jsonl()}
}

const firstBlock = (r: Json): Json => ((r.message as Json).content as Json[])[0]
const isToolUse = (id: string) => (r: Json) => r.type === 'assistant' && firstBlock(r)?.id === id
const isToolResult = (id: string) => (r: Json) => r.type === 'user' && Array.isArray((r.message as Json).content) && firstBlock(r)?.tool_use_id === id

/** ebpf_trace.jsonl of a pilot run: CLOCK_SYNC, one process EXEC and EXIT. */
function ebpfLines(o: {sync?: boolean; execPid?: boolean} = {}): string {
  const lines: object[] = []
  if (o.sync ?? true) lines.push({event: 'CLOCK_SYNC', mono_ns: 1_000_000_000, timestamp: 1_000_000_000, wall_time: '2026-02-07T01:47:11Z', wall_time_ns: T0 * 1e9})
  lines.push({comm: 'bash', event: 'EXEC', filename: '/bin/bash', full_command: 'bash -c ls', ...(o.execPid ?? true ? {pid: 100} : {}), ppid: 1, rss_kb: 1000, timestamp: 2_000_000_000})
  lines.push({duration_ms: 1000, event: 'EXIT', exit_code: 0, pid: 100, timestamp: 3_000_000_000, vm_hwm_kb: 2000})
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n'
}

function pilot(root: string, files: {ebpf?: string; startUtc?: string; exitCode?: string}): void {
  const dir = join(root, 'pilot_smoke')
  writeFile(join(dir, 'ebpf_trace.jsonl'), files.ebpf ?? ebpfLines())
  writeFile(join(dir, 'start_utc.txt'), files.startUtc ?? '2026-02-07T01:47:10Z\n')
  if (files.exitCode !== undefined) writeFile(join(dir, 'claude_exit_code.txt'), files.exitCode)
}

/** A study run: runs/<name>/run_manifest.json with the usual files in swebench/. */
function study(root: string, o: {manifest?: string | object; swebenchFile?: [string, string | object]} = {}): void {
  const dir = join(root, 'runs', 'study_dask_11628')
  writeFile(join(dir, 'run_manifest.json'), o.manifest ?? {error: null, image: 'swerebench/sweb.eval.x86_64.dask_1776_dask-11628', model: 'haiku'})
  writeAttempt(join(dir, 'swebench'))
  if (o.swebenchFile) writeFile(join(dir, 'swebench', o.swebenchFile[0]), o.swebenchFile[1])
}

// ---- the corpus ------------------------------------------------------------------------------

const R = `${BAD}/resources.json`
const RES = `${BAD}/results.json`
const TR = `${BAD}/trace.jsonl`
const TC = `${BAD}/tool_calls.json`

const cases: Case[] = [
  // resources.json
  {
    build: (root) => {
      const {text, line} = corruptLine(JSON.stringify(resourcesJson(rampSamples(5)), null, 1), '"mem_usage"', (l) => l.replace('"mem_usage": "', '"mem_usage": '), 3)
      attemptWith(root, 'resources.json', text)
      return {line}
    },
    file: R,
    name: 'resources-malformed-json',
    problem: /malformed JSON \(expected ',' or '}', found 'M' at column \d+\)/,
  },
  {
    build: (root) => {
      const {text, line} = corruptLine(JSON.stringify(resourcesJson(rampSamples(5)), null, 1), '"mem_usage"', (l) => l.replace(' / ', '\t/ '), 4)
      attemptWith(root, 'resources.json', text)
      return {line}
    },
    file: R,
    name: 'resources-control-char-in-string',
    problem: /malformed JSON \(control character U\+0009 inside a string at column \d+\)/,
  },
  {build: (root) => attemptWith(root, 'resources.json', ''), file: R, name: 'resources-empty-file', problem: /file is empty/},
  {build: (root) => attemptWith(root, 'results.json', ' \n\n'), file: RES, name: 'results-whitespace-only', problem: /file is empty \(whitespace only\)/},
  {
    build: (root) => {
      writeAttempt(join(root, BAD))
      unlinkSync(join(root, R))
      symlinkSync(join(root, BAD, 'gone.json'), join(root, R))
    },
    file: R,
    name: 'resources-missing-file',
    problem: /file is missing or unreadable/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', JSON.stringify([{epoch: T0, mem_usage: '1MB / 1GB'}])),
    file: R,
    name: 'resources-top-level-array',
    problem: /top level must be a JSON object/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', {samples: {'0': {epoch: T0}}, summary: {}}),
    field: 'samples',
    file: R,
    name: 'resources-samples-not-array',
    problem: /expected an array, got \{/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[1] = 42 as never))),
    field: 'samples[1]',
    file: R,
    name: 'resources-sample-not-object',
    problem: /expected an object/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => delete s[2].mem_usage)),
    field: 'samples[2].mem_usage',
    file: R,
    name: 'resources-sample-missing-mem-usage',
    problem: /missing \(expected a string\)/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[3].mem_usage = '12.5XB / 1GB'))),
    field: 'samples[3].mem_usage',
    file: R,
    name: 'resources-mem-unknown-unit',
    problem: /unknown size unit "XB"/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[4].mem_usage = '185.3MB'))),
    field: 'samples[4].mem_usage',
    file: R,
    name: 'resources-mem-no-limit',
    problem: /expected "<used> \/ <limit>", got "185\.3MB"/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[5].mem_usage = 'lots of memory / plenty'))),
    field: 'samples[5].mem_usage',
    file: R,
    name: 'resources-mem-garbage',
    problem: /not a size: "lots of memory"/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[6].mem_usage = '1e400MB / 134.5GB'))),
    field: 'samples[6].mem_usage',
    file: R,
    name: 'resources-mem-out-of-range',
    problem: /size out of range/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[1].cpu_percent = '12.5 percent'))),
    field: 'samples[1].cpu_percent',
    file: R,
    name: 'resources-cpu-not-percent',
    problem: /not a percentage: "12\.5 percent"/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[0].epoch = String(s[0].epoch)))),
    field: 'samples[0].epoch',
    file: R,
    name: 'resources-epoch-string',
    problem: /expected a number, got "1770/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => s.forEach((x) => (x.epoch = (x.epoch as number) * 1000)))),
    field: 'samples[0].epoch',
    file: R,
    name: 'resources-epoch-milliseconds',
    problem: /not epoch seconds.*milliseconds\?/,
  },
  {
    build: (root) => attemptWith(root, 'resources.json', resourcesPatched((s) => (s[3].epoch = (s[1].epoch as number) - 0.5))),
    field: 'samples[3].epoch',
    file: R,
    name: 'resources-time-backwards',
    problem: /time goes backwards/,
  },
  // results.json
  {
    build: (root) => attemptWith(root, 'results.json', '{"image": "swerebench/sweb.eval.x86_64.dask_1776_dask-11628",\n "start_time": "2026-02'),
    file: RES,
    line: 2,
    name: 'results-truncated-json',
    problem: /malformed JSON \(ends mid-value: truncated\?\)/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({extra: {claude_time: '703.6'}})),
    field: 'claude_time',
    file: RES,
    name: 'results-claude-time-string',
    problem: /expected a number, got "703\.6"/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({extra: {image_info: 'swebench-fixed-abc'}})),
    field: 'image_info',
    file: RES,
    name: 'results-image-info-not-object',
    problem: /expected an object, got "swebench-fixed-abc"/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({error: 'x', extra: {error: {code: 125, text: 'podman failed'}}})),
    field: 'error',
    file: RES,
    name: 'results-error-not-string',
    problem: /expected a string, got \{/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({exitCode: 1e12})),
    field: 'claude_output.exit_code',
    file: RES,
    name: 'results-exit-code-out-of-range',
    problem: /expected an integer up to 2147483647, got 1000000000000/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({extra: {image_info: {image_id: 'abc', size_bytes: 5.5e30}}})),
    field: 'image_info.size_bytes',
    file: RES,
    name: 'results-image-bytes-not-integer',
    problem: /expected an integer, got 5\.5e\+30/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', resultsJson({extra: {start_time: 'Tuesday afternoon'}})),
    field: 'start_time',
    file: RES,
    name: 'results-start-time-garbage',
    problem: /not an ISO-8601 time: "Tuesday afternoon"/,
  },
  {
    build: (root) => attemptWith(root, 'results.json', Buffer.concat([Buffer.from('{\n'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x00, 0xc3])])),
    file: RES,
    line: 2,
    name: 'results-binary-garbage',
    problem: /not UTF-8 text \(binary or corrupted\)/,
  },
  // trace.jsonl
  {
    build: (root) => {
      const {text, line} = corruptLine(sampleTranscript().jsonl(), '"toolu_bash1"', () => '{"type":"user","timestamp":"2026-02-07T01:47:20Z", oops}', 2)
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    file: TR,
    line: 3,
    name: 'trace-malformed-middle-line',
    problem: /malformed JSON line$/,
  },
  {
    build: (root) => {
      const text = sampleTranscript().jsonl().trimEnd()
      const lastNl = text.lastIndexOf('\n')
      attemptWith(root, 'trace.jsonl', text.slice(0, lastNl + 1 + Math.floor((text.length - lastNl) / 2)))
      return {line: text.split('\n').length}
    },
    file: TR,
    name: 'trace-truncated-last-line',
    problem: /truncated JSON line \(file ends mid-record\)/,
  },
  {
    build: (root) => {
      const lines = sampleTranscript().jsonl().split('\n')
      lines.splice(4, 0, JSON.stringify([{type: 'user'}]))
      attemptWith(root, 'trace.jsonl', lines.join('\n'))
    },
    file: TR,
    line: 5,
    name: 'trace-record-is-array',
    problem: /record is not a JSON object/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolResult('toolu_read1'), (r) => (r.timestamp = '2026-02-07 01:47:25'))
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'timestamp',
    file: TR,
    name: 'trace-user-bad-timestamp',
    problem: /not an ISO-8601 UTC time: "2026-02-07 01:47:25"/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolUse('toolu_read1'), (r) => delete r.message)
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'message',
    file: TR,
    name: 'trace-assistant-without-message',
    problem: /assistant record without a message object/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolUse('toolu_bash2'), (r) => delete firstBlock(r).id)
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'message.content[0].id',
    file: TR,
    name: 'trace-tool-use-without-id',
    problem: /tool_use without a string id/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolUse('toolu_bash2'), (r) => delete firstBlock(r).name)
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'message.content[0].name',
    file: TR,
    name: 'trace-tool-use-without-name',
    problem: /tool_use without a string name/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolResult('toolu_bash1'), (r) => delete firstBlock(r).tool_use_id)
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'message.content[0].tool_use_id',
    file: TR,
    name: 'trace-tool-result-without-id',
    problem: /tool_result without a tool_use_id/,
  },
  {
    build: (root) => {
      const {text, line} = transcriptPatched(isToolUse('toolu_read1'), (r) => ((r.message as Json).usage = {input_tokens: 1e30, output_tokens: 3}))
      attemptWith(root, 'trace.jsonl', text)
      return {line}
    },
    field: 'message.usage.input_tokens',
    file: TR,
    name: 'trace-usage-tokens-out-of-range',
    problem: /not a token count: 1e\+30/,
  },
  {build: (root) => attemptWith(root, 'trace.jsonl', ''), file: TR, name: 'trace-empty-file', problem: /file is empty/},
  {
    build: (root) => {
      const lines = sampleTranscript().jsonl().split('\n')
      const bytes = Buffer.concat([Buffer.from(lines.slice(0, 5).join('\n') + '\n'), Buffer.from([0xc0, 0xaf, 0x7b, 0x7d, 0x0a])])
      attemptWith(root, 'trace.jsonl', bytes)
    },
    file: TR,
    line: 6,
    name: 'trace-invalid-utf8',
    problem: /not UTF-8 text/,
  },
  // tool_calls.json (no trace.jsonl)
  {
    build: (root) => attemptWith(root, 'tool_calls.json', {calls: []}, {transcript: null}),
    file: TC,
    name: 'tool-calls-not-array',
    problem: /top level must be a JSON array of tool calls/,
  },
  {
    build: (root) =>
      attemptWith(root, 'tool_calls.json', [{id: 'toolu_1', timestamp: '2026-02-07T01:47:38.923Z', tool: 'Bash'}, {id: 'toolu_2', timestamp: '2026-02-07T01:47:40.923Z'}], {transcript: null}),
    field: '[1].tool',
    file: TC,
    name: 'tool-calls-element-missing-tool',
    problem: /missing \(expected a string\)/,
  },
  {
    build: (root) => attemptWith(root, 'tool_calls.json', [{id: 'toolu_1', timestamp: 'soon', tool: 'Bash'}], {transcript: null}),
    field: '[0].timestamp',
    file: TC,
    name: 'tool-calls-bad-timestamp',
    problem: /not an ISO-8601 time: "soon"/,
  },
  // pilot runs (ebpf_trace.jsonl + start_utc.txt)
  {
    build: (root) => pilot(root, {ebpf: ebpfLines({sync: false})}),
    file: 'pilot_smoke/ebpf_trace.jsonl',
    name: 'ebpf-no-clock-sync',
    problem: /no CLOCK_SYNC record/,
  },
  {
    build: (root) => pilot(root, {ebpf: ebpfLines({execPid: false})}),
    field: 'pid',
    file: 'pilot_smoke/ebpf_trace.jsonl',
    line: 2,
    name: 'ebpf-exec-without-pid',
    problem: /EXEC event without an integer pid/,
  },
  {
    build: (root) => pilot(root, {ebpf: ebpfLines().replace('"timestamp":3000000000', '"timestamp":1e30')}),
    field: 'timestamp',
    file: 'pilot_smoke/ebpf_trace.jsonl',
    line: 3,
    name: 'ebpf-timestamp-out-of-range',
    problem: /timestamp \d+ is out of range/,
  },
  {
    build: (root) => pilot(root, {exitCode: 'Segmentation fault\n'}),
    file: 'pilot_smoke/claude_exit_code.txt',
    name: 'pilot-exit-code-not-number',
    problem: /not an exit code: "Segmentation fault"/,
  },
  {
    build: (root) => pilot(root, {startUtc: 'yesterday at noon\n'}),
    file: 'pilot_smoke/start_utc.txt',
    name: 'pilot-start-utc-garbage',
    problem: /not an ISO-8601 UTC time: "yesterday at noon"/,
  },
  // study runs
  {
    build: (root) => study(root, {manifest: '{"image": "swerebench/sweb.eval.x86_64.dask_1776_dask-11628",\n "model": "haiku"\n "error": null}\n'}),
    file: 'runs/study_dask_11628/run_manifest.json',
    line: 3,
    name: 'study-manifest-malformed',
    problem: /malformed JSON \(expected ',' or '}', found '"' at column 2\)/,
  },
  {
    build: (root) => study(root, {swebenchFile: ['resources.json', resourcesPatched((s) => (s[2].mem_usage = '12.5 MB / 4.295 GB / 0B'))]}),
    field: 'samples[2].mem_usage',
    file: 'runs/study_dask_11628/swebench/resources.json',
    name: 'study-resources-bad-mem',
    problem: /expected "<used> \/ <limit>"/,
  },
  // transcripts
  {
    alone: true,
    build: (root) => {
      const file = join(root, 'session_0b1c.jsonl')
      writeFile(file, '{"type":"user","timestamp":"2026-02-07T01:47:13Z","message":{"role":"user","content":"hi"}}\n{"type":"assistant",,}\n')
      return {paths: [file]}
    },
    file: 'session_0b1c.jsonl',
    line: 2,
    name: 'bare-transcript-malformed',
    problem: /malformed JSON line$/,
  },
  {
    alone: true,
    build: (root) => {
      writeFile(join(root, 'a_session.jsonl'), new TranscriptBuilder().prompt(0).jsonl() + '{"type":"assistant","timestamp":"2026-02-07T01:47:')
      writeFile(join(root, 'b_session.jsonl'), sampleTranscript().jsonl())
      return {good: [`${basename(root)}/b_session/attempt_1`]}
    },
    file: 'a_session.jsonl',
    line: 2,
    name: 'transcript-folder-one-truncated',
    problem: /truncated JSON line/,
  },
  // discovery skips
  {
    build: (root) => writeFile(join(root, BAD, 'notes.txt'), 'the run crashed before writing anything\n'),
    file: 'bad_task',
    name: 'folder-without-recording',
    problem: /no recording inside/,
    skip: true,
  },
  {
    build: (root) => {
      mkdirSync(join(root, 'loop', 'inner'), {recursive: true})
      symlinkSync(root, join(root, 'loop', 'inner', 'back'))
    },
    file: 'loop/inner/back',
    name: 'symlink-loop',
    problem: /symlink loop: leads back to /,
    skip: true,
  },
  {
    alone: true,
    build: (root) => ({paths: [join(root, 'no-such-folder')]}),
    file: 'no-such-folder',
    name: 'path-does-not-exist',
    problem: /no such file or folder/,
    skip: true,
  },
  {
    alone: true,
    build: (root) => {
      writeFile(join(root, 'notes.txt'), 'hello')
      return {paths: [join(root, 'notes.txt')]}
    },
    file: 'notes.txt',
    name: 'file-that-is-not-a-recording',
    problem: /not a recording/,
    skip: true,
  },
]

// ---- the harness -----------------------------------------------------------------------------

let base: string
let store: Store
let baseline: Record<string, string>
/** good runs imported by earlier cases: left out when comparing with the baseline */
const goodIds = new Set<string>()

async function snapshot(exclude: Set<string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const t of RUN_TABLES) {
    const rows = await store.query(`SELECT * FROM ${t} ORDER BY ALL`)
    out[t] = JSON.stringify(rows.filter((r) => !exclude.has(String(r.run_id))))
  }
  return out
}

/** Table by table, so a difference names the table instead of printing every row. */
function expectSameStore(got: Record<string, string>, want: Record<string, string>): void {
  for (const t of RUN_TABLES) {
    const g = JSON.parse(got[t]) as Json[]
    const w = JSON.parse(want[t]) as Json[]
    const ids = (rows: Json[]) => [...new Set(rows.map((r) => String(r.run_id)))].join(', ')
    expect(got[t] === want[t], `${t}: ${g.length} rows (${ids(g)}), expected ${w.length} rows (${ids(w)})`).toBe(true)
  }
}

async function runIdsIn(table: string): Promise<Set<string>> {
  const rows = await store.query(`SELECT DISTINCT run_id FROM ${table}`)
  return new Set(rows.map((r) => String(r.run_id)))
}

beforeAll(async () => {
  base = tempDir('agentcgroup-bad-input-')
  store = await Store.open(join(base, 'store.duckdb'))
  writeAttempt(join(base, 'earlier', 'dask__dask-11628', 'attempt_1'))
  const first = await importRecordings(store, {paths: [join(base, 'earlier')]})
  expect(first.failed).toEqual([])
  expect(first.imported.map((r) => r.run_id)).toEqual(['earlier/dask__dask-11628/attempt_1'])
  baseline = await snapshot(new Set())
  expect(JSON.parse(baseline.samples).length).toBeGreaterThan(0)
  expect(JSON.parse(baseline.tool_calls).length).toBeGreaterThan(0)
})

afterAll(() => {
  store?.close()
  if (base) rmSync(base, {force: true, recursive: true})
})

describe('bad input corpus', () => {
  it('has at least 32 cases with distinct names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(32)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
  })

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const root = join(base, c.name)
    mkdirSync(root, {recursive: true})
    const built = c.build(root) ?? {}
    const good = [...(built.good ?? [])]
    if (!c.alone) {
      writeAttempt(join(root, 'good_task', 'attempt_1'))
      good.push(`${c.name}/good_task/attempt_1`)
    }
    const result: ImportResult = await importRecordings(store, {paths: built.paths ?? [root]})
    for (const r of result.imported) goodIds.add(r.run_id)
    const where = join(root, c.file ?? '')

    if (c.skip) {
      expect(result.failed).toEqual([])
      const hit = result.skipped.find((s) => s.path === where)
      expect(hit, JSON.stringify(result.skipped)).toBeDefined()
      expect(hit!.reason).toMatch(c.problem)
      expect(hit!.reason).not.toContain('\n')
    } else {
      expect(result.failed, JSON.stringify(result.failed)).toHaveLength(1)
      const f = result.failed[0]
      // (2) one line: the exact file, then line or field, then the problem
      expect(f.error).not.toContain('\n')
      expect(f.error).not.toMatch(/unexpected error|\n\s+at /)
      expect(f.file).toBe(where)
      const line = built.line ?? c.line
      expect(f.line).toBe(line ?? null)
      expect(f.field).toBe(c.field ?? null)
      const loc = line === undefined ? where : `${where}:${line}`
      expect(f.error.startsWith(`${loc}: ${c.field ? `${c.field}: ` : ''}`), f.error).toBe(true)
      expect(f.error).toMatch(c.problem)
      expect(f.error.length).toBeLessThan(loc.length + 200)
      // the failed run is not skipped as well, and wrote nothing
      expect(result.skipped.map((s) => s.path)).not.toContain(f.path)
      for (const t of RUN_TABLES) expect(await runIdsIn(t)).not.toContain(f.run_id)
    }
    // (4) the rest imports
    expect(result.imported.map((r) => r.run_id).sort()).toEqual(good.sort())
    expect(result.stopped_early).toBe(false)
    // (3) the store is as before, apart from the good runs
    expectSameStore(await snapshot(goodIds), baseline)
  })
})

describe('--strict and re-import', () => {
  it('strict stops at the first error; the default imports the rest', async () => {
    const root = join(base, 'strict_ds')
    writeAttempt(join(root, 'a_task', 'attempt_1'), {samples: [...rampSamples(3), {mem: '12.5XB / 1GB', t: 5}]})
    writeAttempt(join(root, 'b_task', 'attempt_1'))
    writeAttempt(join(root, 'c_task', 'attempt_1'), {transcript: '{"type":'})
    const before = await snapshot(goodIds)

    const strict = await importRecordings(store, {paths: [root], strict: true})
    expect(strict.stopped_early).toBe(true)
    expect(strict.failed).toHaveLength(1)
    expect(strict.failed[0].run_id).toBe('strict_ds/a_task/attempt_1')
    expect(strict.failed[0].error).toMatch(/resources\.json: samples\[3\]\.mem_usage: unknown size unit "XB"/)
    expect(strict.imported).toEqual([])
    expect(await runIdsIn('runs')).not.toContain('strict_ds/b_task/attempt_1')
    expectSameStore(await snapshot(goodIds), before)

    const lenient = await importRecordings(store, {paths: [root]})
    expect(lenient.stopped_early).toBe(false)
    expect(lenient.failed.map((f) => f.run_id)).toEqual(['strict_ds/a_task/attempt_1', 'strict_ds/c_task/attempt_1'])
    expect(lenient.failed.map((f) => basename(f.file ?? ''))).toEqual(['resources.json', 'trace.jsonl'])
    expect(lenient.failed[1].error).toMatch(/trace\.jsonl:1: truncated JSON line/)
    expect(lenient.imported.map((r) => r.run_id)).toEqual(['strict_ds/b_task/attempt_1'])
    goodIds.add('strict_ds/b_task/attempt_1')
    expectSameStore(await snapshot(goodIds), before)
  })

  it('a UTF-8 byte order mark is not bad input', async () => {
    const root = join(base, 'bom_ds')
    writeAttempt(join(root, 'dask__dask-11628', 'attempt_1'))
    const results = join(root, 'dask__dask-11628', 'attempt_1', 'results.json')
    writeFileSync(results, '\uFEFF' + JSON.stringify(resultsJson()))
    const r = await importRecordings(store, {paths: [root]})
    expect(r.failed).toEqual([])
    expect(r.imported.map((x) => x.run_id)).toEqual(['bom_ds/dask__dask-11628/attempt_1'])
    goodIds.add('bom_ds/dask__dask-11628/attempt_1')
    const rows = await store.query("SELECT image FROM runs WHERE run_id = 'bom_ds/dask__dask-11628/attempt_1'")
    expect(rows[0].image).toBe('swerebench/sweb.eval.x86_64.dask_1776_dask-11628')
  })

  it('a stored run that has become bad keeps its old stored version', async () => {
    const root = join(base, 'reimport_ds')
    const dir = join(root, 'dask__dask-11628', 'attempt_1')
    writeAttempt(dir)
    const first = await importRecordings(store, {paths: [root]})
    expect(first.imported.map((r) => r.run_id)).toEqual(['reimport_ds/dask__dask-11628/attempt_1'])
    const stored = await snapshot(new Set())
    const rows = JSON.parse(stored.samples) as Json[]
    expect(rows.filter((r) => r.run_id === 'reimport_ds/dask__dask-11628/attempt_1').length).toBe(71)

    for (const [file, content] of [
      ['resources.json', '{"samples": [\n'],
      ['trace.jsonl', sampleTranscript().jsonl().slice(0, -20)],
      ['results.json', ''],
    ] as const) {
      writeAttempt(dir)
      writeFile(join(dir, file), content)
      const again = await importRecordings(store, {paths: [root]})
      expect(again.failed, file).toHaveLength(1)
      expect(again.failed[0].error).toContain(join(dir, file))
      expect(again.imported).toEqual([])
      expectSameStore(await snapshot(new Set()), stored)
    }
  })
})
