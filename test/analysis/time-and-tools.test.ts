/**
 * Execution time, tool time, latency breakdown, tool mix, Bash categories and the tool
 * timeline on two hand-built runs: one with a transcript, a parallel call and a sub-agent
 * (Task) holding two calls; one without a transcript (tool_calls.json only, 0B exit).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Analysed, analyseRuns, assistantLine, RunSpec, val} from './synthetic.js'

// transcript window [22, 82]; init = create 20 s + agent start 2 s; claude_time 100 s
const WITH_TASK: RunSpec = {
  calls: [
    {command: 'pytest -x', end: 40, id: 'c1', start: 30, tool: 'Bash'},
    {end: 37, id: 'c2', start: 35, tool: 'Read'}, // parallel with c1
    {end: 70, id: 'c3', start: 50, tool: 'Task'},
    // time-share order: git before package install; burst-profile order: the other way round
    {command: 'git status && pip install -e .', end: 60, id: 'c4', parent: 'c3', side: true, start: 55, tool: 'Bash'},
    {end: 63, id: 'c5', parent: 'c3', side: true, start: 62, tool: 'Grep'},
  ],
  claude: 100,
  dataset: 'tools',
  imageBytes: 2 * 2 ** 30,
  permfix: 10,
  phases: [['container_create', 0, 20], ['agent_start', 20, 22], ['agent_active', 22, 82], ['teardown', 82, 83]],
  task: 'task-a',
  transcript: ['{"type":"user","message":{"role":"user","content":"Fix this issue: x"}}', assistantLine('m1', 2), assistantLine('m1', 40), assistantLine('m2', 7), ''].join('\n'),
  turns: [40, 7],
}

// no transcript: tool calls from tool_calls.json (sub-agent flag unknown); samples 1..9 s are clean
const NO_TRANSCRIPT: RunSpec = {
  calls: [
    {command: 'ls', end: 4, id: 'n1', side: null, start: 2, tool: 'Bash'},
    {command: 'ls -la', end: 5, id: 'n2', side: null, start: 3, tool: 'Bash'},
  ],
  claude: 100,
  dataset: 'bare',
  phases: [['container_create', -20, 0]],
  samples: [
    {flags: 'start_transient', mem: 12, t: 0},
    ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => ({mem: 200, t})),
    {flags: 'exit_0b', mem: 0, t: 10},
  ],
  task: 'task-b',
}
const SECOND_ATTEMPT: RunSpec = {...NO_TRANSCRIPT, attempt: 2, claude: 150}

describe('execution time, tool time and latency', () => {
  let a: Analysed
  beforeAll(async () => {
    a = await analyseRuns([WITH_TASK, NO_TRANSCRIPT, SECOND_ATTEMPT])
  })
  afterAll(() => a.close())

  it('execution time: claude_time, or init + active window', () => {
    expect(val(a.run(WITH_TASK).exec_time_s, 'paper_rules')).toBe(100)
    expect(val(a.run(WITH_TASK).exec_time_s, 'corrected')).toBeCloseTo(82, 6)
    // no transcript: the window is the clean samples' span (1..9 s), init the create phase
    expect(val(a.run(NO_TRANSCRIPT).exec_time_s, 'corrected')).toBeCloseTo(28, 6)
    expect(val(a.group('bare').exec_time_s, 'paper_rules')).toBe(125)
    expect(val(a.group('bare').exec_time_median_s, 'paper_rules')).toBe(125)
  })

  it('tool time: summed with overlaps (paper) or as a union (corrected)', () => {
    const r = a.run(WITH_TASK)
    expect(val(r.active_time_s, 'paper_rules')).toBeCloseTo(60, 6)
    expect(val(r.tool_time_s, 'paper_rules')).toBeCloseTo(38, 6) // 10 + 2 + 20 + 5 + 1
    expect(val(r.tool_time_s, 'corrected')).toBeCloseTo(30, 6) // [30,40] and [50,70]
    expect(val(r.tool_time_ratio, 'paper_rules')).toBeCloseTo((38 / 60) * 100, 6)
    expect(val(r.tool_time_ratio, 'corrected')).toBeCloseTo(50, 6)
    // without a transcript the paper falls back to claude_time; corrected uses the sampled span
    const b = a.run(NO_TRANSCRIPT)
    expect(val(b.tool_time_ratio, 'paper_rules')).toBeCloseTo(4, 6)
    expect(val(b.tool_time_ratio, 'corrected')).toBeCloseTo(37.5, 6)
    expect(val(a.group('tools').runs_with_overlapping_calls, 'paper_rules')).toBe(1)
    expect(val(a.group('bare').runs_with_overlapping_calls, 'paper_rules')).toBe(0)
    expect(val(a.group('bare').tool_time_ratio_aggregate, 'paper_rules')).toBeCloseTo((8 / 250) * 100, 6)
    // the two attempts: 4 s of tools over claude_time 100 s and 150 s
    expect(val(a.group('bare').tool_time_ratio_min, 'paper_rules')).toBeCloseTo((4 / 150) * 100, 6)
    expect(val(a.group('bare').tool_time_ratio_max, 'paper_rules')).toBeCloseTo(4, 6)
    expect(val(a.group('bare').tool_time_ratio_median, 'paper_rules')).toBeCloseTo((4 + (4 / 150) * 100) / 2, 6)
  })

  it('latency breakdown in both views', () => {
    const p = val(a.run(WITH_TASK).latency_breakdown, 'paper_rules') as Record<string, Record<string, number>>
    // init 40, tool 38, llm 22, permission fix 10
    expect(p.view2.init).toBeCloseTo(40, 6)
    expect(p.view2.tool).toBeCloseTo(38, 6)
    expect(p.view2.llm).toBeCloseTo(22, 6)
    expect(p.view2.os).toBeCloseTo(78, 6)
    expect(p.view1.permission_fix).toBeCloseTo((10 / 110) * 100, 6)
    expect(p.view1.os).toBeCloseTo((88 / 110) * 100, 6) // permission fix + init + tool
    const c = val(a.run(WITH_TASK).latency_breakdown, 'corrected') as Record<string, Record<string, number>>
    // init 22, tool 30, llm 30
    expect(c.view2.init).toBeCloseTo((22 / 82) * 100, 6)
    expect(c.view2.tool).toBeCloseTo((30 / 82) * 100, 6)
    expect(c.view2.llm).toBeCloseTo((30 / 82) * 100, 6)
    expect(c.view1.permission_fix).toBeCloseTo((10 / 92) * 100, 6)
    expect(val(a.run(WITH_TASK).latency_breakdown_s, 'corrected')).toEqual({init: 22, llm: 30, permission_fix: 10, tool: 30})
    // no transcript: corrected init is the create phase only
    const n = val(a.run(NO_TRANSCRIPT).latency_breakdown_s, 'corrected') as Record<string, number>
    expect(n.init).toBeCloseTo(20, 6)
    expect(n.tool).toBeCloseTo(3, 6)
    expect(n.llm).toBeCloseTo(5, 6)
  })

  it('cross-run variation needs two runs of a task in one dataset', () => {
    expect(val(a.group('bare').cross_run_exec_time_ratio, 'paper_rules')).toBeCloseTo(1.5, 6)
    expect(val(a.group('bare').cross_run_exec_time_ratio, 'corrected')).toBeCloseTo(1, 6)
    const m = a.group('tools').cross_run_exec_time_ratio
    expect(m.paper_rules).toBeNull()
    expect(m.null_reason?.paper_rules).toMatch(/two or more runs/)
  })

  it('image size in GiB (paper) and GB (corrected)', () => {
    expect(val(a.group('tools').image_size_gb, 'paper_rules')).toEqual({mean: 2, median: 2, total: 2})
    expect((val(a.group('tools').image_size_gb, 'corrected') as Record<string, number>).mean).toBeCloseTo(2 ** 31 / 1e9, 9)
    expect(a.group('bare').image_size_gb.null_reason?.paper_rules).toMatch(/image size/)
  })

  it('turns and output tokens: transcript records (paper) or API messages (corrected)', () => {
    expect(val(a.run(WITH_TASK).llm_turns, 'paper_rules')).toBe(3)
    expect(val(a.run(WITH_TASK).output_tokens, 'paper_rules')).toBe(49)
    expect(val(a.run(WITH_TASK).llm_turns, 'corrected')).toBe(2)
    expect(val(a.run(WITH_TASK).output_tokens, 'corrected')).toBe(47)
    const m = a.run(NO_TRANSCRIPT).llm_turns as {null_reason?: Record<string, string>}
    expect(m.null_reason).toEqual({corrected: 'no LLM turns (no transcript)', paper_rules: 'no transcript'})
  })
})

describe('tool mix, Bash categories and timeline', () => {
  let a: Analysed
  beforeAll(async () => {
    a = await analyseRuns([WITH_TASK])
  })
  afterAll(() => a.close())

  it('tool shares: summed (paper) or exclusive time (corrected, a Task yields to its calls)', () => {
    const g = a.group('tools')
    const p = val(g.tool_time_shares, 'paper_rules') as Record<string, number>
    expect(p.Bash).toBeCloseTo((15 / 38) * 100, 6)
    expect(p.Task).toBeCloseTo((20 / 38) * 100, 6)
    expect(p.Read).toBeCloseTo((2 / 38) * 100, 6)
    expect(p.Grep).toBeCloseTo((1 / 38) * 100, 6)
    // exclusive: c1 9 s (shares [35,37] with c2), c2 1 s, Task 14 s, c4 5 s, c5 1 s
    expect(val(g.tool_total_time_s, 'corrected')).toEqual({Bash: 14, Grep: 1, Read: 1, Task: 14})
    const c = val(g.tool_time_shares, 'corrected') as Record<string, number>
    expect(c.Bash).toBeCloseTo((14 / 30) * 100, 6)
    expect(c.Read).toBeCloseTo((1 / 30) * 100, 6)
    expect(val(g.tool_mean_duration_s, 'paper_rules')).toEqual({Bash: 7.5, Grep: 1, Read: 2, Task: 20})
    expect(val(g.tool_call_counts, 'corrected')).toEqual({Bash: 2, Grep: 1, Read: 1, Task: 1})
    expect(val(g.sidechain_tool_time_s, 'paper_rules')).toEqual({Bash: 5, Grep: 1, total: 6})
  })

  it('Bash categories under both orders, summed or exclusive', () => {
    const g = a.group('tools')
    const zero = {file_exploration: 0, git: 0, other: 0, package_install: 0, python_run: 0, python_snippet: 0, shell_env: 0, test_execution: 0, text_processing: 0}
    const ts = val(g.bash_category_shares, 'paper_rules') as Record<string, number>
    expect(Object.keys(ts).sort()).toEqual(Object.keys(zero).sort())
    expect(ts.test_execution).toBeCloseTo((10 / 15) * 100, 6)
    expect(ts.git).toBeCloseTo((5 / 15) * 100, 6)
    const burst = val(g.bash_category_shares_burst, 'paper_rules') as Record<string, number>
    expect(burst.package_install).toBeCloseTo((5 / 15) * 100, 6)
    expect(burst.git).toBe(0)
    const c = val(g.bash_category_shares, 'corrected') as Record<string, number>
    expect(c.test_execution).toBeCloseTo((9 / 14) * 100, 6)
    expect(val(g.bash_category_counts, 'paper_rules')).toEqual({...zero, git: 1, test_execution: 1})
  })

  it('timeline: positions between first and last call start (paper) or in the window, main thread (corrected)', () => {
    const g = a.group('tools')
    // starts 30, 35, 50, 55, 62 over a span of 32 s: Bash at 0 and 0.78, Read 0.16, Task 0.63, Grep 1
    expect(val(g.tool_timeline, 'paper_rules')).toEqual({
      Bash: {early: 50, late: 50, mid: 0}, Grep: {early: 0, late: 100, mid: 0}, Read: {early: 100, late: 0, mid: 0}, Task: {early: 0, late: 0, mid: 100},
    })
    // window [22, 82]: Bash 0.13, Read 0.22, Task 0.47; the sub-agent's calls are left out
    expect(val(g.tool_timeline, 'corrected')).toEqual({
      Bash: {early: 100, late: 0, mid: 0}, Read: {early: 100, late: 0, mid: 0}, Task: {early: 0, late: 0, mid: 100},
    })
  })
})

describe('a bare transcript (no samples, no runner times, no phases)', () => {
  it('gives tool figures where it can and reasons, never zeros, where it cannot', async () => {
    const bare: RunSpec = {
      calls: [{command: 'pytest', end: 12, id: 't1', start: 10, tool: 'Bash'}],
      dataset: 'transcript-only',
      phases: [['agent_active', 0, 20]],
      task: 'only-transcript',
      transcript: assistantLine('m1', 3),
      turns: [3],
    }
    const a = await analyseRuns([bare])
    try {
      const r = a.run(bare)
      expect(val(r.tool_time_ratio, 'corrected')).toBeCloseTo(10, 6) // 2 s of a 20 s transcript
      expect(val(r.tool_time_ratio, 'paper_rules')).toBeCloseTo(10, 6)
      expect(r.exec_time_s).toMatchObject({null_reason: {corrected: 'no container start phases (init time unknown)', paper_rules: "no runner claude_time (results.json)"}})
      expect(r.mem_baseline_mb).toMatchObject({corrected: null, paper_rules: null})
      expect(r.burst_fraction).toMatchObject({null_reason: {corrected: expect.stringMatching(/fewer than 2 samples/), paper_rules: 'no resource samples'}})
      const g = a.group('transcript-only')
      expect(g.concurrency_estimate).toMatchObject({corrected: null, paper_rules: null})
      expect(g.peak_mem_cv.null_reason?.paper_rules).toMatch(/fewer than 2 runs/)
      expect(val(g.tool_time_shares, 'corrected')).toEqual({Bash: 100})
    } finally {
      a.close()
    }
  })
})
