/** Fig. 6: burst attribution to tool calls, per-category spikes, and CPU-memory correlation. */
import type {BurstAttribution, SpikeRow} from '../data/traces.js'
import {CATEGORY_COLORS, CATEGORY_ORDER, Spec, title, withConfig} from './theme.js'

export interface AttributionRow {
  /** dataset and rule, e.g. "all_images_haiku · paper rules" */
  label: string
  measure: 'samples inside a tool call' | 'memory-burst samples inside a tool call'
  pct: number
}

/** Rows from the report's own paper-rule computation. */
export function attributionRows(rows: BurstAttribution[]): AttributionRow[] {
  return rows.flatMap((r) => [
    {label: `${r.dataset} · paper rules`, measure: 'samples inside a tool call' as const, pct: r.tool_time_pct},
    ...(r.mem_burst_in_tool_pct === null ? [] : [{label: `${r.dataset} · paper rules`, measure: 'memory-burst samples inside a tool call' as const, pct: r.mem_burst_in_tool_pct}]),
  ])
}

export function burstAttributionSpec(values: AttributionRow[]): Spec {
  return withConfig({
    data: {values},
    encoding: {
      color: {field: 'measure', scale: {domain: ['samples inside a tool call', 'memory-burst samples inside a tool call'], range: ['#b0b7c3', '#e45756']}, title: null, type: 'nominal'},
      tooltip: [{field: 'label', title: 'runs'}, {field: 'measure'}, {field: 'pct', format: '.1f', title: '%'}],
      x: {field: 'pct', scale: {domain: [0, 100]}, title: '% of samples', type: 'quantitative'},
      y: {field: 'label', sort: null, title: null, type: 'nominal'},
      yOffset: {field: 'measure', sort: ['samples inside a tool call'], type: 'nominal'},
    },
    height: {step: 22},
    layer: [
      {mark: {cornerRadiusEnd: 2, type: 'bar'}},
      {encoding: {color: {value: '#222'}, text: {field: 'pct', format: '.1f', type: 'quantitative'}}, mark: {align: 'left', dx: 4, fontSize: 11, type: 'text'}},
    ],
    title: title('Bursts happen inside tool calls', 'Memory-burst samples (paper rule: above 300 MB) fall inside tool calls far more often than time does. Corrected rules merge overlapping calls.'),
    width: 520,
  })
}

export function categorySpikesSpec(rows: SpikeRow[]): Spec {
  return withConfig({
    data: {values: rows},
    encoding: {
      color: {field: 'category', legend: null, scale: {domain: CATEGORY_ORDER, range: CATEGORY_COLORS}, type: 'nominal'},
      column: {field: 'dataset', header: {labelFontSize: 12, labelFontWeight: 600, title: null}, title: null, type: 'nominal'},
      x: {field: 'spike_mb', scale: {type: 'symlog'}, title: 'memory spike during the call (MB, symlog)', type: 'quantitative'},
      y: {field: 'category', sort: CATEGORY_ORDER, title: null, type: 'nominal'},
    },
    height: {step: 22},
    // whiskers to min and max: an outlier layer would be empty (and warn) for small categories
    mark: {extent: 'min-max', median: {color: '#111'}, size: 14, type: 'boxplot'},
    title: title('Which commands spike?', 'Per Bash call: peak memory during the call minus the level just before it (box: quartiles, whiskers: min to max). Tests and installs spike; git and file exploration barely move.'),
    width: 300,
  })
}

export interface CorrelationRow {
  dataset: string
  task: string
  rule: string
  value: number
}

export function cpuMemCorrelationSpec(values: CorrelationRow[]): Spec {
  const rules = [...new Set(values.map((v) => v.rule))].sort().reverse()
  const color = {domain: rules, range: rules.map((r) => (r === 'corrected' ? '#3ca951' : '#8a8f98'))}
  return withConfig({
    data: {values},
    height: {step: 64},
    layer: [
      {encoding: {x: {datum: 0, type: 'quantitative'}}, mark: {color: '#999', strokeDash: [4, 3], type: 'rule'}},
      {
        encoding: {
          color: {field: 'rule', scale: color, title: null, type: 'nominal'},
          x: {field: 'value', scale: {domain: [-1, 1]}, title: 'Pearson r of CPU and memory within a run', type: 'quantitative'},
          y: {field: 'dataset', title: null, type: 'nominal'},
          yOffset: {field: 'rule', sort: rules, type: 'nominal'},
        },
        mark: {extent: 'min-max', median: {color: '#111'}, opacity: 0.3, size: 26, type: 'boxplot'},
      },
      {
        encoding: {
          color: {field: 'rule', scale: color, title: null, type: 'nominal'},
          tooltip: [{field: 'task'}, {field: 'rule'}, {field: 'value', format: '.2f', title: 'r'}],
          x: {field: 'value', type: 'quantitative'},
          y: {field: 'dataset', type: 'nominal'},
          yOffset: {field: 'rule', sort: rules, type: 'nominal'},
        },
        mark: {filled: true, opacity: 0.65, size: 20, type: 'point'},
      },
    ],
    title: title('CPU and memory: an artifact of the sampler', "Per-run correlation. Negative under podman's lifetime-average CPU (paper rules); positive once instantaneous CPU is recovered (corrected)."),
    width: 620,
  })
}
