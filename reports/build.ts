/**
 * Builds the whole report from a store: analysis results (analysis-source.ts), queries
 * (data/), chart specs (specs/), markup, and one HTML string. Figures use the valid runs of
 * the selection; the overview and the drill-down cover every run that was selected. Sections
 * appear in the paper's order; the policy comparison only when the store holds replays.
 */
import type {Store} from '../datasets/store.js'
import type {AnalysisResult} from './analysis-contract.js'
import {AnalysisOutcome, computeAnalysis} from './analysis-source.js'
import {loadDrilldown} from './data/drilldown.js'
import {loadOverview} from './data/overview.js'
import {loadRunFigures} from './data/per-run.js'
import {loadReplay} from './data/replay.js'
import {loadSamples} from './data/samples.js'
import {makeScope, ReportFilter} from './data/scope.js'
import {loadBashCategories, loadToolShares, loadToolTimeline} from './data/tools.js'
import {bashSpikes, changeRates, loadTraces, memoryProfile} from './data/traces.js'
import {cleanDeep} from './escape.js'
import {attributionFigureRows, correlationFigureRows, latencyFigureRows} from './figure-inputs.js'
import {chartSlot, notice, renderPage, Section} from './html.js'
import {metricRows, metricsTableHtml} from './metrics-table.js'
import {overviewHtml} from './overview-html.js'
import {policySection} from './policy.js'
import {burstAttributionSpec, categorySpikesSpec, cpuMemCorrelationSpec} from './specs/bursts.js'
import {drillDomainsSpec, drilldownSpec} from './specs/drilldown.js'
import {changeRatesSpec, memoryBaselineSpec, memoryProfileSpec, peakToAvgSpec} from './specs/memory.js'
import type {Spec} from './specs/theme.js'
import {execTimeSpec, latencySpec} from './specs/time.js'
import {bashCategoriesSpec, toolSharesSpec, toolTimelineSpec} from './specs/tools.js'
import {acrossModelsSpec, acrossRunsSpec, acrossTasksSpec, modelPairs} from './specs/variability.js'

export interface ReportOptions extends ReportFilter {
  /** analysis results to use; undefined computes them with analysis/, null leaves them out */
  analysis?: AnalysisResult | null
  /** max points per drill-down series (min/max envelope beyond it) */
  maxPoints?: number
  /** shown in the header; defaults to now */
  generatedAt?: Date
}

export interface ReportStats {
  bytes: number
  runs: number
  figure_runs: number
  drill_runs: number
  downsampled_runs: number
  charts: string[]
  sections: string[]
  policy_section: boolean
  analysis: boolean
  /** why there are no analysis results, when computing them failed */
  analysis_error?: string
  analysis_s: number
  build_s: number
}

export interface BuiltReport {
  html: string
  stats: ReportStats
}

export async function buildReport(store: Store, opts: ReportOptions = {}): Promise<BuiltReport> {
  const t0 = performance.now()
  const scope = makeScope(opts)
  const outcome: AnalysisOutcome = opts.analysis === undefined ? await computeAnalysis(store, opts) : {result: opts.analysis, seconds: 0}
  // analysis results carry task names and datasets from the recordings: clean them like the rest
  const analysis = outcome.result ? cleanDeep(outcome.result) : null
  const overview = await loadOverview(store, scope)
  const runs = await loadRunFigures(store, scope)
  const charts: Record<string, Spec> = {}
  const sections: Section[] = []
  const slot = (id: string, spec: Spec | null, wide = false) => {
    if (!spec) return ''
    charts[id] = spec
    return chartSlot(id, wide)
  }
  const empty = runs.length === 0 ? notice('No valid runs in this selection: the figures need at least one run that passes the paper\'s filter (≥ 10 samples, ≥ 60 s).') : ''

  sections.push({html: overviewHtml(overview), id: 'overview', intro: 'What this report covers. Figures use the valid runs (the paper\'s filter: at least 10 samples and 60 s of sampling); the drill-down shows every run.', title: 'Overview'})

  const latency = latencyFigureRows(runs, analysis)
  sections.push({
    html: empty || `<div class="charts">${slot('exec-time', execTimeSpec(runs))}${slot('latency', latencySpec(latency.rows))}</div>${latency.note ? notice(latency.note) : ''}`,
    id: 'time',
    intro: 'Execution time per task and where it goes: container initialisation, tool execution, and model inference (paper Figs. 1a and 2).',
    title: 'Time',
  })

  const [shares, bash, timeline] = [await loadToolShares(store, scope), await loadBashCategories(store, scope), await loadToolTimeline(store, scope)]
  sections.push({
    html: empty || `<div class="charts">${slot('tool-shares', toolSharesSpec(shares))}${slot('bash-categories', bashCategoriesSpec(bash))}${slot('tool-timeline', toolTimelineSpec(timeline))}</div>`,
    id: 'tools',
    intro: 'Which tools the agents call, how long they run, and when in a run they are called (paper Fig. 3).',
    title: 'Tools',
  })

  const samples = await loadSamples(store, scope)
  const traces = await loadTraces(store, scope, samples)
  sections.push({
    html: empty || `<div class="charts">${slot('memory-baseline', memoryBaselineSpec(runs))}${slot('memory-profile', memoryProfileSpec(memoryProfile(traces)))}${slot('peak-to-avg', peakToAvgSpec(runs))}${slot('change-rates', changeRatesSpec(changeRates(traces)), true)}</div>`,
    id: 'memory',
    intro: 'Memory from the first second to the last: the framework baseline, the shape of a normalised run, how far peaks stand above the average, and how fast demand changes (paper Figs. 4-5).',
    title: 'Memory',
  })

  sections.push({
    html: empty || `<div class="charts">${slot('burst-attribution', burstAttributionSpec(attributionFigureRows(traces, analysis)))}${slot('category-spikes', categorySpikesSpec(bashSpikes(traces)), true)}${slot('cpu-mem', cpuMemCorrelationSpec(correlationFigureRows(runs, analysis)))}</div>`,
    id: 'bursts',
    intro: 'Bursts are tool-driven: where memory bursts fall, which Bash commands cause them, and how CPU and memory move together (paper Fig. 6).',
    title: 'Bursts',
  })

  const pairs = modelPairs(runs)
  const acrossRuns = acrossRunsSpec(runs)
  sections.push({
    html:
      empty ||
      `<div class="charts">${slot('across-tasks', acrossTasksSpec(runs))}${pairs.length > 0 ? slot('across-models', acrossModelsSpec(pairs), true) : notice('No task was run by more than one dataset here, so there is no cross-model comparison.')}${acrossRuns ? slot('across-runs', acrossRuns) : notice('No task has more than one valid attempt in this selection, so there is no cross-run comparison.')}</div>`,
    id: 'variability',
    intro: 'The same agent differs across tasks, across attempts of one task, and across models on the same task (paper Fig. 7).',
    title: 'Variability',
  })

  sections.push({
    html: analysis
      ? metricsTableHtml(metricRows(analysis))
      : notice(outcome.error ? `The analysis failed (${outcome.error}), so this table is missing and the figures above use the report's own paper-rule computations.` : "No analysis results were given. Run 'agentcgroup analyze --json > analysis.json' and then 'agentcgroup report --analysis analysis.json' to add the table of every metric: the paper's printed value, ours under the paper's rules, and the corrected value."),
    id: 'metrics',
    intro: 'Every metric under the paper\'s rules (its code, with correct unit parsing) and under corrected rules, beside the value the paper prints.',
    title: 'Metrics: paper vs. paper rules vs. corrected',
  })

  const drill = await loadDrilldown(store, scope, samples, opts.maxPoints ?? 800)
  const tools = [...new Set(drill.flatMap((r) => r.calls.map((c) => c[2])))]
  // one template per combination of panels the runs need (processes, events): a run without
  // them gets no empty panel (vega warns of an infinite extent on an empty one)
  const panelKey = (r: (typeof drill)[number]) => `${r.procs.length > 0 ? 'p' : ''}${r.events.length > 0 ? 'e' : ''}`
  const templates = Object.fromEntries([...new Set(drill.map(panelKey))].map((k) => [k, drilldownSpec({hasEvents: k.includes('e'), hasProcesses: k.includes('p'), tools})]))
  const hasDomains = drill.some((r) => r.domains.length > 0)
  // open on the run with the highest peak: the most telling one
  const initial = drill.reduce((best, r, i) => (Math.max(0, ...r.mem.map((p) => p[1])) > Math.max(0, ...drill[best].mem.map((p) => p[1])) ? i : best), 0)
  sections.push({
    html:
      drill.length === 0
        ? notice('No run in this selection has resource samples.')
        : `<div class="drill-bar"><label for="run-select"><strong>Run</strong></label><select id="run-select"></select><button id="zoom-reset" type="button">reset zoom</button></div><div id="drill-meta"></div><figure class="chart wide" id="drill-chart"></figure>` +
          (hasDomains ? '<div id="drill-domains" hidden><figure class="chart wide" id="drill-domains-chart"></figure><table class="data" id="drill-domains-table"></table></div>' : ''),
    id: 'drilldown',
    intro: 'Pick a run: memory and CPU over time, each tool call as a coloured span, LLM turns, processes and OOM/throttle events when they were recorded. Runs whose tool calls ran in their own cgroups (run-benchmark --control) also show each call\'s peak memory, CPU time, the time the controller held it back, and its OOM kills.',
    title: 'Run drill-down',
  })

  const policy = await loadReplay(store)
  if (policy) {
    const p = policySection(policy)
    Object.assign(charts, p.charts)
    sections.push(p.section)
  }

  const generatedAt = opts.generatedAt ?? new Date()
  const html = renderPage({
    data: {charts, drill: drill.length > 0 ? {domainTemplate: hasDomains ? drillDomainsSpec() : null, initial, runs: drill.map((r) => ({...r, panels: panelKey(r)})), templates} : null},
    footer: `agentcgroup report · generated ${generatedAt.toISOString()} · ${overview.reduce((a, r) => a + r.runs, 0)} runs · vega-lite charts rendered offline as SVG`,
    sections,
    subtitle: `Resource characterisation of AI coding agents: ${overview.map((o) => `${o.dataset} (${o.valid_runs}/${o.runs} valid)`).join(', ')}.`,
    title: 'AgentCgroup report',
  })
  return {
    html,
    stats: {
      analysis: Boolean(analysis),
      analysis_error: outcome.error,
      analysis_s: outcome.seconds,
      build_s: (performance.now() - t0) / 1000,
      bytes: Buffer.byteLength(html),
      charts: Object.keys(charts),
      downsampled_runs: drill.filter((r) => r.meta.downsampled).length,
      drill_runs: drill.length,
      figure_runs: runs.length,
      policy_section: Boolean(policy),
      runs: overview.reduce((a, r) => a + r.runs, 0),
      sections: sections.map((s) => s.id),
    },
  }
}
