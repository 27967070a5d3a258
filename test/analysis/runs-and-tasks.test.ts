/**
 * Retry groups, cross-task variability, token correlations and the concurrency estimate on
 * hand-built runs. The retry run mixes a sub-agent's Bash calls into the main thread and
 * ends with an exit 0B sample, so the two rule sets find different groups.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Analysed, analyseRuns, assistantLine, RunSpec, val} from './synthetic.js'

const PHASES = (activeStart: number, activeEnd: number): RunSpec['phases'] => [
  ['container_create', activeStart - 11, activeStart - 1],
  ['agent_start', activeStart - 1, activeStart],
  ['agent_active', activeStart, activeEnd],
]

// memory grows 10 MB a second (210 MB at 1 s ... 390 MB at 19 s); the container exits at 20 s
const RETRY: RunSpec = {
  calls: [
    {end: 2.5, id: 'r0', start: 1.5, tool: 'Bash', command: 'pytest'},
    {end: 4.5, id: 'r1', start: 3.5, tool: 'Bash', command: 'pytest'},
    {end: 6.5, id: 'r2', start: 5.5, tool: 'Bash', command: 'pytest'},
    {end: 7.4, id: 'r3', start: 7.2, tool: 'Read'},
    {end: 9.5, id: 'r4', start: 8.5, tool: 'Bash', command: 'pytest'},
    {end: 14.8, id: 'r5', start: 10.2, tool: 'Task'},
    {end: 11.5, id: 'r6', parent: 'r5', side: true, start: 10.5, tool: 'Bash', command: 'ls'},
    {end: 13.5, id: 'r7', parent: 'r5', side: true, start: 12.5, tool: 'Bash', command: 'ls'},
    {end: 16.5, id: 'r8', start: 15.5, tool: 'Bash', command: 'pytest'},
    {end: 18.5, id: 'r9', start: 17.5, tool: 'Bash', command: 'pytest'},
    {end: 19.8, id: 'r10', start: 19.2, tool: 'Bash', command: 'pytest'},
  ],
  claude: 50,
  dataset: 'retry',
  phases: PHASES(1, 20),
  samples: [
    {flags: 'start_transient', mem: 12, t: 0},
    ...Array.from({length: 19}, (_, i) => ({mem: 200 + 10 * (i + 1), t: i + 1})),
    {flags: 'exit_0b', mem: 0, t: 20},
  ],
  task: 'retry-a',
}
const NO_RETRY: RunSpec = {
  calls: [{command: 'pytest', end: 3, id: 'n0', start: 2, tool: 'Bash'}],
  claude: 20,
  dataset: 'retry',
  phases: PHASES(1, 9),
  samples: [{flags: 'start_transient', mem: 12, t: 0}, ...Array.from({length: 9}, (_, i) => ({mem: 200, t: i + 1})), {flags: 'exit_0b', mem: 0, t: 10}],
  task: 'retry-b',
}

// five runs: i turns, 10 output tokens each, execution 100 x i s, peaks 300/100/200/500/400 MB
const PEAKS = [300, 100, 200, 500, 400]
const TOKEN_RUNS: RunSpec[] = PEAKS.map((peak, k) => {
  const i = k + 1
  return {
    claude: 100 * i,
    dataset: 'tokens',
    phases: [['container_create', 0, 50 * i], ['agent_start', 50 * i, 50 * i], ['agent_active', 50 * i, 100 * i]],
    samples: [{flags: 'start_transient', mem: 12, t: 0}, {mem: peak, t: 1}, {mem: peak / 2, t: 2}],
    task: `tokens-${i}`,
    transcript: Array.from({length: i}, (_, m) => assistantLine(`m${m}`, 10)).join('\n'),
    turns: Array.from({length: i}, () => 10),
  }
})
const FLAT: RunSpec = {dataset: 'flat', samples: Array.from({length: 10}, (_, i) => ({mem: 100, t: i})), task: 'flat'}

describe('retry groups', () => {
  let a: Analysed
  beforeAll(async () => {
    a = await analyseRuns([RETRY, NO_RETRY])
  })
  afterAll(() => a.close())

  it('paper: 3+ consecutive Bash in result order, sub-agent calls included, 0B counts as 0 MB', () => {
    const r = a.run(RETRY)
    // results come back r0 r1 r2 r3 r4 r6 r7 r5 ...: groups [r0-r2], [r4 r6 r7], [r8-r10]
    expect(val(r.retry_groups, 'paper_rules')).toBe(3)
    expect(val(r.retry_group_max_len, 'paper_rules')).toBe(3)
    expect(val(r.retry_time_pct, 'paper_rules')).toBeCloseTo((8.6 / 50) * 100, 6)
    // +60 MB, +60 MB, and the last group ends at the 0B sample: 0 - 350, dropped
    expect(val(r.retry_mem_accum_mb, 'paper_rules')).toBeCloseTo(120, 6)
  })

  it('corrected: main-thread calls in call order, clean samples only', () => {
    const r = a.run(RETRY)
    expect(val(r.retry_groups, 'corrected')).toBe(2)
    expect(val(r.retry_time_pct, 'corrected')).toBeCloseTo((5.6 / 30) * 100, 6) // init 11 s + window 19 s
    expect(val(r.retry_mem_accum_mb, 'corrected')).toBeCloseTo(60, 6) // the last group has no clean sample after it
  })

  it('group figures: share of runs with a group, means over those runs', () => {
    const g = a.group('retry')
    expect(val(g.retry_task_pct, 'paper_rules')).toBe(50)
    expect(val(g.retry_groups_mean, 'paper_rules')).toBe(3)
    expect(val(g.retry_groups_mean, 'corrected')).toBe(2)
    expect(val(g.retry_group_max_len, 'corrected')).toBe(3)
    expect(val(g.retry_time_pct, 'paper_rules')).toBeCloseTo(17.2, 6)
    expect(val(g.retry_mem_accum_max_mb, 'paper_rules')).toBeCloseTo(120, 6)
    expect(val(g.retry_mem_accum_mean_mb, 'corrected')).toBeCloseTo(60, 6)
    expect(val(g.retry_groups_max, 'paper_rules')).toBe(3)
    expect(a.run(NO_RETRY).retry_mem_accum_mb).toMatchObject({null_reason: {corrected: 'no retry group', paper_rules: 'no retry group'}})
    expect(val(a.run(NO_RETRY).retry_groups, 'paper_rules')).toBe(0)
  })
})

describe('variability, tokens and concurrency', () => {
  let a: Analysed
  beforeAll(async () => {
    a = await analyseRuns([...TOKEN_RUNS, FLAT, {...TOKEN_RUNS[0], dataset: 'few', task: 'few'}])
  })
  afterAll(() => a.close())

  it('peak memory CV across tasks: sample stdev / mean', () => {
    const g = a.group('tokens')
    expect(val(g.peak_mem_cv, 'paper_rules')).toBeCloseTo((Math.sqrt(100_000 / 4) / 300) * 100, 6)
    expect(val(g.peak_mem_cv, 'corrected')).toBeCloseTo((Math.sqrt(100_000 / 4) / 300) * 100, 6)
    expect(val(g.peak_mem_range_mb, 'paper_rules')).toEqual({max: 500, min: 100})
  })

  it('token and turn correlations over runs', () => {
    for (const rule of ['paper_rules', 'corrected'] as const) {
      const r = val(a.group('tokens').token_correlations, rule) as Record<string, number>
      expect(r.turns_vs_exec_time).toBeCloseTo(1, 9)
      expect(r.output_tokens_vs_exec_time).toBeCloseTo(1, 9)
      // turns 1..5 against peaks 300, 100, 200, 500, 400: r = 600 / sqrt(10 x 100000)
      expect(r.turns_vs_peak_mem).toBeCloseTo(0.6, 9)
      expect(r.output_tokens_vs_peak_mem).toBeCloseTo(0.6, 9)
    }
    expect(a.group('few').token_correlations.null_reason?.paper_rules).toBe('1 runs with turns, memory and execution time: need 5')
  })

  it('concurrency: agents per node by peak, static and overlaid demand, deterministic', async () => {
    const p = val(a.group('flat').concurrency_estimate, 'paper_rules') as Record<string, number>
    expect(p.static_gb).toBeCloseTo((64 * 100) / 1024, 9)
    expect(p.agents_by_max_peak).toBeCloseTo(131_072 / 100, 9)
    expect(p.agents_by_mean_peak).toBeCloseTo(131_072 / 100, 9)
    expect(p.dynamic_gb).toBeGreaterThan(100 / 1024)
    expect(p.dynamic_p95_gb).toBeLessThanOrEqual(p.static_gb)
    const c = val(a.group('flat').concurrency_estimate, 'corrected') as Record<string, number>
    expect(c.static_gb).toBeCloseTo(6.4, 9)
    expect(c.node_gb).toBeCloseTo(137.438953472, 9)
    expect(val(a.group('tokens').concurrency_estimate, 'corrected')).toMatchObject({agents: 64, agents_by_max_peak: 137_438.953472 / 500})
    const again = await analyseRuns([...TOKEN_RUNS])
    expect(again.group('tokens').concurrency_estimate).toEqual(a.group('tokens').concurrency_estimate)
    again.close()
  })
})
