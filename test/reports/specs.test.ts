/**
 * Every chart spec is a typed function of analysis- or query-shaped rows. Each is built from
 * small synthetic rows here, compiled with vega-lite (no warnings allowed), and checked for
 * what the figure must show.
 */
import * as vega from 'vega'
import {compile} from 'vega-lite'
import {describe, expect, it} from 'vitest'

import type {AnalysisResult} from '../../reports/analysis-contract.js'
import {runMetricRows} from '../../reports/analysis-contract.js'
import {latencyFromRuns} from '../../reports/data/latency.js'
import type {RunFigureRow} from '../../reports/data/per-run.js'
import {bashSpikes, burstAttribution, changeRates, memoryProfile, TraceSet} from '../../reports/data/traces.js'
import {metricRows, metricsTableHtml} from '../../reports/metrics-table.js'
import {attributionRows, burstAttributionSpec, categorySpikesSpec, cpuMemCorrelationSpec} from '../../reports/specs/bursts.js'
import {drillDomainsSpec, drilldownSpec} from '../../reports/specs/drilldown.js'
import {changeRatesSpec, memoryBaselineSpec, memoryProfileSpec, peakToAvgSpec} from '../../reports/specs/memory.js'
import {allocLatencySpec, completionSpec, policyEventsSpec, survivalSpec, tenantMemorySpec} from '../../reports/specs/policy.js'
import type {Spec} from '../../reports/specs/theme.js'
import {execTimeSpec, latencyRows, latencySpec} from '../../reports/specs/time.js'
import {bashCategoriesSpec, toolSharesSpec, toolTimelineSpec} from '../../reports/specs/tools.js'
import {acrossModelsSpec, acrossRunsSpec, acrossTasksSpec, modelPairs} from '../../reports/specs/variability.js'

/** Compiles with vega-lite and runs the dataflow headless in vega: no error, no warning. */
async function compiles(spec: Spec): Promise<void> {
  const warnings: string[] = []
  const errors: string[] = []
  let level = 0
  const logger = {
    debug: () => logger,
    error: (...a: unknown[]) => (errors.push(a.join(' ')), logger),
    info: () => logger,
    level: (l?: number) => (l === undefined ? level : ((level = l), logger)),
    warn: (...a: unknown[]) => (warnings.push(a.join(' ')), logger),
  }
  const out = compile(spec, {logger: logger as never})
  // interactions listen on window, which Node has not; the browser tests cover them
  const relevant = () => warnings.filter((w) => w !== 'Can not resolve event source: window')
  const view = new vega.View(vega.parse(out.spec, undefined, {ast: true}), {expr: vega.expressionInterpreter, logger: logger as never, logLevel: vega.Warn, renderer: 'none'})
  await view.runAsync()
  view.finalize()
  expect(errors).toEqual([])
  expect(relevant()).toEqual([])
}

const run = (dataset: string, task: string, o: Partial<RunFigureRow> = {}): RunFigureRow => ({
  active_s: 200, attempt: 1, avg_mb: 200, baseline_mb: 185, cpu_mem_r: -0.4, dataset, exec_s: 360, model: 'm', peak_mb: 600, peak_to_avg: 3,
  permission_fix_s: 20, run_id: `${dataset}/${task}/attempt_1`, task, tool_s: 80, ...o,
})

// A contract-shaped analysis result (issue 3): nested metrics, a published value, a null with a reason.
const ANALYSIS = {
  datasets: [
    {
      dataset: 'haiku',
      metrics: {
        burst_tool_attribution: {corrected: 99, paper_published: 98.5, paper_rules: 98.5, unit: '%'},
        latency_breakdown: {
          corrected: {view1: {init: 44, llm: 27, os: 72, permission_fix: 6, tool: 22}, view2: {init: 47.5, llm: 29.2, os: 70.8, tool: 23.3}},
          paper_published: {view1: {init: 45}, view2: {init: 48, llm: 26, os: 74, tool: 26}},
          paper_rules: {view1: {init: 44.2, llm: 24.8, os: 75.2, permission_fix: 6.4, tool: 24.6}, view2: {init: 47.7, llm: 26.4, os: 73.6, tool: 25.9}},
          unit: '%',
        },
        peak_mem_cv: {corrected: null, null_reason: {corrected: 'needs two runs <b>'}, paper_rules: 110.9, unit: '%'},
        tool_sample_share: {corrected: 88, paper_rules: 50.6, unit: '%'},
        tool_time_ratio: {corrected: 38.4, paper_published: 42.5, paper_rules: 42.5, unit: '%'},
      },
      runs: 2,
      valid_runs: 2,
    },
  ],
  rules: 'both',
  runs: [
    {cpu_mem_correlation: {corrected: 0.3, paper_rules: -0.5, unit: 'r'}, dataset: 'haiku', run_id: 'haiku/a/attempt_1', task_id: 'a', valid: true},
    {cpu_mem_correlation: {corrected: null, paper_rules: -0.2, unit: 'r'}, dataset: 'haiku', run_id: 'haiku/b/attempt_1', task_id: 'b', valid: true},
  ],
} as unknown as AnalysisResult

const TRACES: TraceSet = {
  calls: new Map([['r1', [{category: 'Test Execution', end: 1012, start: 1005, tool: 'Bash'}, {category: null, end: 1030, start: 1029.5, tool: 'Read'}]]]),
  series: [
    {cpu_pct: Array.from({length: 40}, (_, i) => 50 - i), dataset: 'haiku', flags: Array.from({length: 40}, (_, i) => (i === 39 ? 'exit_0b' : null)), mem_mb: Array.from({length: 40}, (_, i) => (i === 39 ? 0 : i >= 6 && i <= 10 ? 500 : 190)), run_id: 'r1', t: Array.from({length: 40}, (_, i) => 1000 + i)},
  ],
}

describe('chart specs', () => {
  const runs = [run('haiku', 'a'), run('haiku', 'b', {attempt: 2, exec_s: 600, peak_mb: 2000}), run('haiku', 'b', {attempt: 1}), run('glm', 'a', {peak_mb: 300})]

  it('latency: rows from the contract, all three value sets, compiled', async () => {
    const views = ANALYSIS.datasets[0].metrics.latency_breakdown
    const rows = [...latencyRows('haiku · paper', views.paper_published as never), ...latencyRows('haiku · paper rules', views.paper_rules as never), ...latencyRows('haiku · corrected', views.corrected as never)]
    expect(rows.filter((r) => r.view === 'View 2 (claude_time)' && r.label === 'haiku · paper rules').map((r) => [r.component, r.pct])).toEqual([
      ['container init', 47.7],
      ['tool execution', 25.9],
      ['LLM (thinking)', 26.4],
    ])
    // the printed view 1 only has init: one row, no invented zeros
    expect(rows.filter((r) => r.label === 'haiku · paper' && r.view.startsWith('View 1'))).toHaveLength(1)
    await compiles(latencySpec(rows))
  })

  it('latency computed from runs under the paper rules adds up to 100 % per view', () => {
    const v = latencyFromRuns([run('x', 'a')]).get('x')!
    expect(v.view2!.init! + v.view2!.tool! + v.view2!.llm!).toBeCloseTo(100)
    expect(v.view1!.permission_fix! + v.view1!.init! + v.view1!.tool! + v.view1!.llm!).toBeCloseTo(100)
    expect(v.view2!.init).toBeCloseTo((100 * 160) / 360)
  })

  it('time, tools, memory, variability specs compile', async () => {
    await compiles(execTimeSpec(runs))
    await compiles(toolSharesSpec([{calls: 3, dataset: 'haiku', mean_s: 2, share_pct: 60, tool: 'Bash', total_s: 6}, {calls: 1, dataset: 'haiku', mean_s: 4, share_pct: 40, tool: 'Mystery', total_s: 4}]))
    await compiles(bashCategoriesSpec([{calls: 2, category: 'Test Execution', dataset: 'haiku', share_pct: 70, total_s: 7}, {calls: 1, category: 'Other', dataset: 'haiku', share_pct: 30, total_s: 3}]))
    await compiles(toolTimelineSpec([{bin: 0, dataset: 'haiku', share_pct: 60, tool: 'Read'}, {bin: 9, dataset: 'haiku', share_pct: 40, tool: 'Bash'}]))
    await compiles(memoryBaselineSpec(runs))
    await compiles(peakToAvgSpec(runs))
    await compiles(acrossTasksSpec(runs))
    await compiles(acrossModelsSpec(modelPairs(runs)))
    await compiles(acrossRunsSpec(runs)!)
    // a store with a single valid run still draws every figure
    const one = [run('solo', 'a')]
    for (const spec of [execTimeSpec(one), memoryBaselineSpec(one), peakToAvgSpec(one), acrossTasksSpec(one)]) await compiles(spec)
  })

  it('pairs tasks across datasets, and attempts within one', () => {
    expect(modelPairs(runs).map((p) => `${p.dataset}/${p.task}`).sort()).toEqual(['glm/a', 'haiku/a'])
    expect(acrossRunsSpec([run('x', 'a')])).toBeNull()
  })

  it('trace figures: profile, change rates, burst attribution and spikes', async () => {
    const profile = memoryProfile(TRACES, 20)
    expect(profile).toHaveLength(20)
    expect(Math.min(...profile.map((p) => p.mean_mb))).toBeGreaterThan(0) // the exit 0B sample is dropped
    await compiles(memoryProfileSpec(profile))
    const rates = changeRates(TRACES, 10)
    expect(Math.max(...rates.filter((r) => r.resource === 'memory (MB/s)').map((r) => r.rate))).toBe(310)
    await compiles(changeRatesSpec(rates))
    const attribution = burstAttribution(TRACES)
    // samples 6..10 are above 300 MB and all inside the Bash call (1005..1012)
    expect(attribution[0]).toMatchObject({mem_burst_in_tool_pct: 100, mem_burst_samples: 5})
    await compiles(burstAttributionSpec(attributionRows(attribution)))
    const spikes = bashSpikes(TRACES)
    expect(spikes).toEqual([{category: 'Test Execution', dataset: 'haiku', spike_mb: 310}])
    await compiles(categorySpikesSpec(spikes))
  })

  it('CPU-memory correlation under both rules from per-run analysis metrics', async () => {
    const rows = runMetricRows(ANALYSIS, 'cpu_mem_correlation')
    expect(rows).toEqual([
      {dataset: 'haiku', rule: 'paper rules', task: 'a', value: -0.5},
      {dataset: 'haiku', rule: 'corrected', task: 'a', value: 0.3},
      {dataset: 'haiku', rule: 'paper rules', task: 'b', value: -0.2},
    ])
    await compiles(cpuMemCorrelationSpec(rows))
  })

  it('drill-down template and policy specs compile', async () => {
    // the template's datasets are filled by the page; here with one row each
    const run = {
      calls: [{command: 'pytest', end: 9, lane: 'main', start: 2, tool: 'Bash'}],
      cpu: [{pct: 50, t: 0}, {pct: 20, t: 10}],
      events: [{detail: 'x', kind: 'oom_kill', t: 5}],
      mem: [{mb: 180, t: 0}, {mb: 400, t: 10}],
      procs: [{argv: 'pytest', comm: 'python', end: 8, pid: 42, rss_mb: 100, start: 3}],
      turns: [{end: 2, input_tokens: 10, lane: 'main', model: 'm', output_tokens: 5, start: 1}],
    }
    await compiles({...drilldownSpec({hasEvents: true, hasProcesses: true, tools: ['Bash', 'Read', 'Strange']}), datasets: run} as Spec)
    await compiles({...drilldownSpec({hasEvents: false, hasProcesses: false, tools: []}), datasets: run} as Spec)
    // a live run: controller events naming a tool-call cgroup, and the per-call cgroup chart
    const live = {...run, events: [{detail: '{"domain": "tool-1"}', domain: 'tool-1', kind: 'freeze', t: 4}, {detail: '', domain: 'tool-1', kind: 'thaw', t: 6}]}
    await compiles({...drilldownSpec({hasEvents: true, hasProcesses: false, tools: ['Bash']}), datasets: live} as Spec)
    const domains = [{command: 'make test', cpu_s: 3.5, domain: 'tool-1', end: 9, frozen_s: 2, oom_kills: 1, peak_mb: 512, source: 'transcript', start: 2, throttled_s: 1.5}]
    await compiles({...drillDomainsSpec(), datasets: {domains}} as Spec)
    const tenants = [{completion_s: 30, policy: 'none', priority: 'high', replay: '1', survived: false, tenant: 't1'}, {completion_s: 20, policy: 'agentcgroup', priority: 'low', replay: '2', survived: true, tenant: 't1'}]
    await compiles(survivalSpec(tenants))
    await compiles(completionSpec(tenants))
    await compiles(allocLatencySpec([{cdf: 0.5, latency_ms: 1, policy: 'none'}, {cdf: 1, latency_ms: 9, policy: 'none'}]))
    await compiles(tenantMemorySpec([{mb: 100, policy: 'none', t: 0, tenant: 't1'}]))
    await compiles(policyEventsSpec([{kind: 'throttle', policy: 'agentcgroup', t: 1, tenant: 't1'}]))
  })
})

describe('metric table', () => {
  it('puts paper, paper rules and corrected side by side, flattening nested metrics', () => {
    const {datasets, rows} = metricRows(ANALYSIS)
    expect(datasets).toEqual(['haiku'])
    const row = (name: string) => rows.find((r) => r.metric === name)!
    expect(row('tool_time_ratio').values.get('haiku')).toEqual({corrected: 38.4, paper_published: 42.5, paper_rules: 42.5})
    expect(row('latency_breakdown.view2.init').values.get('haiku')).toEqual({corrected: 47.5, paper_published: 48, paper_rules: 47.7})
    expect(row('latency_breakdown.view2.init').headline).toBe(true)
    expect(row('latency_breakdown.view1.llm').headline).toBe(false) // not printed by the paper
    expect(row('tool_time_ratio').why).toMatch(/overlapping/)
    expect(row('peak_mem_cv').why).toContain('corrected: needs two runs <b>.')
  })

  it('escapes every value and reason', () => {
    const html = metricsTableHtml(metricRows(ANALYSIS))
    expect(html).toContain('needs two runs &lt;b&gt;')
    expect(html).not.toContain('<b>')
    expect(html).toContain('<details>')
  })
})
