/**
 * Tiny synthetic runs for the analysis tests: every time is seconds after T0, every memory
 * value MB (10^6 bytes), so expectations can be computed by hand. Runs are written to a
 * fresh store in a temp dir and analysed there.
 */
import {rmSync} from 'node:fs'
import {join} from 'node:path'

import {analyze, AnalyzeResult, RunAnalysis} from '../../analysis/analyze.js'
import type {Selection} from '../../analysis/prepare.js'
import type {Metric, MetricData, RuleSet} from '../../analysis/types.js'
import {categorizeBash} from '../../datasets/formats/bash-category.js'
import {emptyRunRecord, PhaseRow, RunRecord} from '../../datasets/model.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'

export const T0_US = 1_770_000_000_000_000
const us = (s: number) => Math.round(T0_US + s * 1e6)

export interface SampleSpec {
  t: number
  /** MB; 0 with flag exit_0b for podman's exit sample */
  mem: number | null
  cpu?: number | null
  kind?: 'lifetime_avg' | 'instant' | null
  /** cumulative CPU microseconds */
  usec?: number
  flags?: 'start_transient' | 'exit_0b'
}

export interface CallSpec {
  id: string
  tool: string
  start: number
  end: number | null
  side?: boolean | null
  parent?: string
  command?: string
}

export interface RunSpec {
  dataset: string
  task: string
  attempt?: number
  valid?: boolean
  claude?: number
  permfix?: number
  imageBytes?: number
  samples?: SampleSpec[]
  calls?: CallSpec[]
  phases?: [PhaseRow['phase'], number, number][]
  /** llm_turns rows: output tokens per API message */
  turns?: number[]
  transcript?: string
}

export function runId(spec: RunSpec): string {
  return `${spec.dataset}/${spec.task}/attempt_${spec.attempt ?? 1}`
}

export function record(spec: RunSpec): RunRecord {
  const r = emptyRunRecord({
    attempt: spec.attempt ?? 1,
    claude_time_s: spec.claude ?? null,
    dataset: spec.dataset,
    image_bytes: spec.imageBytes ?? null,
    kind: 'agent',
    layout: 'attempt',
    permission_fix_time_s: spec.permfix ?? null,
    run_id: runId(spec),
    source_path: '/synthetic',
    status: 'done',
    task_id: spec.task,
    valid: spec.valid ?? true,
  })
  r.samples = (spec.samples ?? []).map((s) => ({
    cpu_pct: s.cpu ?? null,
    cpu_pct_kind: s.cpu === undefined || s.cpu === null ? null : s.kind ?? 'lifetime_avg',
    cpu_usec: s.usec ?? null,
    flags: s.flags ?? null,
    mem_bytes: s.mem === null ? null : Math.round(s.mem * 1e6),
    source: 'synthetic',
    t_us: us(s.t),
  }))
  r.toolCalls = (spec.calls ?? []).map((c, seq) => ({
    bash_category: c.tool === 'Bash' && c.command ? categorizeBash(c.command) : null,
    call_id: c.id,
    command: c.command ?? null,
    end_us: c.end === null ? null : us(c.end),
    is_sidechain: c.side === undefined ? false : c.side,
    parent_call_id: c.parent ?? null,
    seq,
    source: 'synthetic',
    start_us: us(c.start),
    tool: c.tool,
  }))
  r.phases = (spec.phases ?? []).map(([phase, start, end]) => ({end_us: us(end), phase, source: 'synthetic', start_us: us(start)}))
  r.llmTurns = (spec.turns ?? []).map((out, turn) => ({end_us: us(turn + 1), message_id: `m${turn}`, output_tokens: out, start_us: us(turn), turn}))
  if (spec.transcript !== undefined) r.transcripts = [{content: spec.transcript, file: 'trace.jsonl'}]
  return r
}

/** An assistant transcript record as Claude Code 2.0 writes it (one block per record). */
export function assistantLine(messageId: string, outputTokens: number): string {
  return JSON.stringify({message: {content: [{text: 'x', type: 'text'}], id: messageId, role: 'assistant', usage: {cache_creation: {ephemeral_5m_input_tokens: 0}, input_tokens: 5, output_tokens: outputTokens}}, timestamp: '2026-02-07T01:47:38.923Z', type: 'assistant', uuid: `u-${messageId}-${outputTokens}`})
}

export interface Analysed {
  result: AnalyzeResult
  group(name: string): Record<string, Metric>
  run(spec: RunSpec): RunAnalysis
  close(): void
}

export async function analyseRuns(specs: RunSpec[], opts: Partial<Selection> & {rules?: RuleSet} = {}): Promise<Analysed> {
  const dir = tempDir('agentcgroup-analysis-')
  const store = await Store.open(join(dir, 'store.duckdb'))
  for (const spec of specs) await store.replaceRun(record(spec), {isNew: true})
  const {result} = await analyze(store, {rules: opts.rules ?? 'both', runs: opts.runs ?? 'all', ...opts})
  store.close()
  return {
    close: () => rmSync(dir, {force: true, recursive: true}),
    group: (name) => {
      const d = result.datasets.find((x) => x.dataset === name)
      if (!d) throw new Error(`no group ${name}`)
      return d.metrics
    },
    result,
    run: (spec) => {
      const r = result.runs.find((x) => x.run_id === runId(spec))
      if (!r) throw new Error(`no run ${runId(spec)}`)
      return r
    },
  }
}

/** A metric's value under one rule (throws when the metric is absent). */
export function val(m: unknown, rule: 'paper_rules' | 'corrected'): MetricData | null {
  if (!m || typeof m !== 'object' || !('unit' in m)) throw new Error(`not a metric: ${JSON.stringify(m)}`)
  return (m as Metric)[rule]
}
