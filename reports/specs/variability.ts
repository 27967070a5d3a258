/** Fig. 7: variability of peak memory and time across tasks, across runs of a task, across models. */
import type {RunFigureRow} from '../data/per-run.js'
import {datasetScale, Spec, title, withConfig} from './theme.js'

const ROUND = [1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 50000]

/** A log scale padded around the data, with round tick values (vega's own crowd at 300-900). */
function logAxis(values: number[]): {scale: {domain: [number, number]; type: 'log'}; axis: {values: number[]}} {
  const lo = Math.max(1e-3, Math.min(...values) * 0.85)
  const hi = Math.max(lo * 1.5, Math.max(...values) * 1.15)
  return {axis: {values: ROUND.filter((v) => v >= lo && v <= hi)}, scale: {domain: [lo, hi], type: 'log'}}
}

export function acrossTasksSpec(rows: RunFigureRow[]): Spec {
  const values = rows.filter((r) => r.peak_mb !== null).map((r) => ({dataset: r.dataset, peak_mb: r.peak_mb!, task: r.task}))
  const color = datasetScale(values.map((v) => v.dataset))
  return withConfig({
    data: {values},
    encoding: {
      color: {field: 'dataset', scale: color, title: null, type: 'nominal'},
      tooltip: [{field: 'dataset'}, {field: 'task'}, {field: 'peak_mb', format: ',.0f', title: 'peak MB'}, {field: 'rank', title: 'rank'}],
      x: {field: 'rank', title: 'runs ranked by peak memory (percentile within dataset)', type: 'quantitative'},
      y: {...logAxis(values.map((v) => v.peak_mb)), field: 'peak_mb', title: 'peak memory (MB, log)', type: 'quantitative'},
    },
    height: 240,
    mark: {filled: true, opacity: 0.8, size: 30, type: 'point'},
    title: title('Across tasks: an order of magnitude', 'Peak memory of every run, sorted. The same agent on different repositories needs 200 MB to 2 GB.'),
    // percentile rank within the dataset; a dataset of one run sits at 0 (percent_rank gives NaN)
    transform: [
      {frame: [null, null], groupby: ['dataset'], sort: [{field: 'peak_mb'}], window: [{as: 'i', op: 'row_number'}, {as: 'n', op: 'count'}]},
      {as: 'rank', calculate: '(datum.i - 1) / max(1, datum.n - 1)'},
    ],
    width: 620,
  })
}

export interface PairRow {
  task: string
  dataset: string
  model: string
  peak_mb: number
  exec_min: number
}

/** Tasks run in more than one dataset (e.g. two models on the same images). */
export function modelPairs(rows: RunFigureRow[]): PairRow[] {
  const byTask = new Map<string, RunFigureRow[]>()
  for (const r of rows) if (r.peak_mb !== null && r.exec_s !== null) byTask.set(r.task, [...(byTask.get(r.task) ?? []), r])
  return [...byTask.values()]
    .filter((rs) => new Set(rs.map((r) => r.dataset)).size > 1)
    .flat()
    .map((r) => ({dataset: r.dataset, exec_min: r.exec_s! / 60, model: r.model, peak_mb: r.peak_mb!, task: r.task}))
}

export function acrossModelsSpec(pairs: PairRow[]): Spec {
  const color = datasetScale(pairs.map((p) => p.dataset))
  const panel = (field: 'peak_mb' | 'exec_min', axis: string) => ({
    encoding: {y: {field: 'task', sort: {field: 'peak_mb', op: 'max' as const, order: 'descending' as const}, title: null, type: 'nominal' as const}},
    layer: [
      {encoding: {detail: {field: 'task', type: 'nominal' as const}, x: {...logAxis(pairs.map((p) => p[field])), field, title: axis, type: 'quantitative' as const}}, mark: {color: '#bbb', type: 'line' as const}},
      {
        encoding: {
          color: {field: 'dataset', scale: color, title: null, type: 'nominal' as const},
          tooltip: [{field: 'task'}, {field: 'model'}, {field: 'peak_mb', format: ',.0f', title: 'peak MB'}, {field: 'exec_min', format: '.1f', title: 'minutes'}],
          x: {...logAxis(pairs.map((p) => p[field])), field, title: axis, type: 'quantitative' as const},
        },
        mark: {filled: true, size: 50, type: 'point' as const},
      },
    ],
    width: 300,
  })
  return withConfig({
    data: {values: pairs},
    hconcat: [panel('peak_mb', 'peak memory (MB, log)'), panel('exec_min', 'execution time (min, log)')],
    height: {step: 14},
    title: title('Across models: same task, different footprint', 'Tasks that both datasets ran. The model changes how long a task runs and how much memory it touches.'),
  })
}

export function acrossRunsSpec(rows: RunFigureRow[]): Spec | null {
  const byTask = new Map<string, RunFigureRow[]>()
  for (const r of rows) if (r.peak_mb !== null) byTask.set(`${r.dataset}\u0000${r.task}`, [...(byTask.get(`${r.dataset}\u0000${r.task}`) ?? []), r])
  const values = [...byTask.values()].filter((rs) => rs.length > 1).flat().map((r) => ({attempt: r.attempt, dataset: r.dataset, exec_min: (r.exec_s ?? 0) / 60, peak_mb: r.peak_mb!, task: r.task}))
  if (values.length === 0) return null
  return withConfig({
    data: {values},
    encoding: {
      color: {field: 'attempt', title: 'attempt', type: 'ordinal'},
      tooltip: [{field: 'dataset'}, {field: 'task'}, {field: 'attempt'}, {field: 'peak_mb', format: ',.0f', title: 'peak MB'}, {field: 'exec_min', format: '.1f', title: 'minutes'}],
      x: {field: 'exec_min', title: 'execution time (min)', type: 'quantitative'},
      y: {field: 'task', title: null, type: 'nominal'},
    },
    height: {step: 16},
    mark: {filled: true, size: 60, type: 'point'},
    title: title('Across runs: the same task again', 'Repeated attempts of one task differ in time and memory.'),
    width: 560,
  })
}
