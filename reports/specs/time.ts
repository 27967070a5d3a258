/** Fig. 1a (execution-time distribution) and Fig. 2 (latency breakdown, both views). */
import type {LatencyViews} from '../analysis-contract.js'
import type {RunFigureRow} from '../data/per-run.js'
import {datasetScale, Spec, title, withConfig} from './theme.js'

export function execTimeSpec(rows: RunFigureRow[]): Spec {
  const values = rows.filter((r) => r.exec_s !== null).map((r) => ({dataset: r.dataset, min: r.exec_s! / 60, model: r.model, task: r.task}))
  const color = datasetScale(values.map((v) => v.dataset))
  return withConfig({
    data: {values},
    height: {step: 70},
    layer: [
      {
        encoding: {
          color: {field: 'dataset', legend: null, scale: color, type: 'nominal'},
          x: {field: 'min', title: 'execution time (minutes, claude_time)', type: 'quantitative'},
          y: {field: 'dataset', title: null, type: 'nominal'},
        },
        mark: {extent: 'min-max', median: {color: '#111'}, opacity: 0.25, size: 40, type: 'boxplot'},
      },
      {
        encoding: {
          color: {field: 'dataset', legend: null, scale: color, type: 'nominal'},
          tooltip: [{field: 'task', title: 'task'}, {field: 'model', title: 'model'}, {field: 'min', format: '.1f', title: 'minutes'}],
          x: {field: 'min', type: 'quantitative'},
          y: {field: 'dataset', type: 'nominal'},
          yOffset: {field: 'jitter', scale: {domain: [-1, 1]}, type: 'quantitative'},
        },
        mark: {filled: true, opacity: 0.75, size: 28, type: 'point'},
        transform: [{as: 'jitter', calculate: 'sin(datum.min * 7919) * 0.8'}],
      },
    ],
    title: title('How long does one task take?', 'Execution time per valid run, end to end (container start to teardown). Box: min, quartiles, max.'),
    width: 640,
  })
}

export interface LatencyRow {
  label: string
  view: 'View 1 (incl. permission fix)' | 'View 2 (claude_time)'
  component: string
  pct: number
  order: number
}

const COMPONENTS: [key: string, label: string, color: string][] = [
  ['permission_fix', 'permission fix', '#9c9c9c'],
  ['init', 'container init', '#4c78a8'],
  ['tool', 'tool execution', '#e45756'],
  ['llm', 'LLM (thinking)', '#f2cf5b'],
]

/** Rows for one (dataset, rule) from analysis' latency_breakdown. */
export function latencyRows(label: string, views: LatencyViews): LatencyRow[] {
  const rows: LatencyRow[] = []
  for (const [view, name] of [['view1', 'View 1 (incl. permission fix)'], ['view2', 'View 2 (claude_time)']] as const) {
    const v = views[view] as Record<string, number | null | undefined> | undefined
    if (!v) continue
    COMPONENTS.forEach(([key, comp], order) => {
      const pct = v[key]
      if (typeof pct === 'number' && Number.isFinite(pct)) rows.push({component: comp, label, order, pct, view: name})
    })
  }
  return rows
}

export function latencySpec(rows: LatencyRow[]): Spec {
  const color = {domain: COMPONENTS.map((c) => c[1]), range: COMPONENTS.map((c) => c[2])}
  const views = [...new Set(rows.map((r) => r.view))]
  return withConfig({
    data: {values: rows},
    resolve: {scale: {y: 'independent'}},
    spacing: 18,
    title: title('Where does the time go?', 'Share of end-to-end latency. OS-side work (container init + tool execution) dominates; View 2 is the paper\'s headline view.'),
    vconcat: views.map((view) => ({
      encoding: {
        color: {field: 'component', legend: {orient: 'bottom'}, scale: color, title: null, type: 'nominal'},
        order: {field: 'order', type: 'quantitative'},
        tooltip: [{field: 'label', title: 'runs'}, {field: 'view'}, {field: 'component'}, {field: 'pct', format: '.1f', title: '% of time'}],
        x: {field: 'pct', scale: {domain: [0, 100]}, stack: 'zero', title: '% of end-to-end time (mean over runs)', type: 'quantitative'},
        y: {field: 'label', sort: null, title: null, type: 'nominal'},
      },
      height: {step: 24},
      layer: [
        {mark: {stroke: 'white', strokeWidth: 1, type: 'bar'}},
        {
          encoding: {
            color: {condition: {test: "datum.component === 'LLM (thinking)'", value: '#3a3000'}, value: 'white'},
            // no label on slivers; filtering instead would shift the stack under the labels
            text: {condition: {test: 'abs(datum.pct) < 3', value: ''}, field: 'pct', format: '.0f', type: 'quantitative'},
            x: {bandPosition: 0.5, field: 'pct', stack: 'zero', type: 'quantitative'},
          },
          mark: {fontSize: 11, fontWeight: 600, type: 'text'},
        },
      ],
      title: {fontSize: 12, text: view},
      transform: [{filter: {equal: view, field: 'view'}}],
      width: 560,
    })),
  })
}
