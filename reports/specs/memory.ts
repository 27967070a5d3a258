/** Figs. 4-5: memory baseline, normalised memory profile, peak/average and change rates. */
import type {RunFigureRow} from '../data/per-run.js'
import type {ProfilePoint, RateQuantile} from '../data/traces.js'
import {datasetScale, Spec, title, withConfig} from './theme.js'

/** A box + jittered dots per dataset of one per-run value. */
function stripSpec(values: {dataset: string; task: string; value: number}[], axisTitle: string, heading: ReturnType<typeof title>, scaleType: 'linear' | 'log' = 'linear', format = '.1f', domainMin?: number): Spec {
  const color = datasetScale(values.map((v) => v.dataset))
  return withConfig({
    data: {values},
    height: {step: 60},
    layer: [
      {
        encoding: {
          color: {field: 'dataset', legend: null, scale: color, type: 'nominal'},
          x: {field: 'value', scale: scaleType === 'log' ? {domainMin, nice: false, type: 'log'} : {zero: false}, title: axisTitle, type: 'quantitative'},
          y: {field: 'dataset', title: null, type: 'nominal'},
        },
        mark: {extent: 'min-max', median: {color: '#111'}, opacity: 0.25, size: 36, type: 'boxplot'},
      },
      {
        encoding: {
          color: {field: 'dataset', legend: null, scale: color, type: 'nominal'},
          tooltip: [{field: 'task'}, {field: 'value', format, title: axisTitle}],
          x: {field: 'value', type: 'quantitative'},
          y: {field: 'dataset', type: 'nominal'},
          yOffset: {field: 'jitter', scale: {domain: [-1, 1]}, type: 'quantitative'},
        },
        mark: {filled: true, opacity: 0.7, size: 24, type: 'point'},
        transform: [{as: 'jitter', calculate: 'sin(datum.value * 7919 + length(datum.task)) * 0.8'}],
      },
    ],
    title: heading,
    width: 620,
  })
}

export function memoryBaselineSpec(rows: RunFigureRow[]): Spec {
  const values = rows.filter((r) => r.baseline_mb !== null).map((r) => ({dataset: r.dataset, task: r.task, value: r.baseline_mb!}))
  return stripSpec(values, 'memory baseline (MB, mean of the first 60 samples)', title('The framework baseline', 'Early-execution memory per run: the agent runtime alone holds ~185 MB before any tool runs.'))
}

export function memoryProfileSpec(points: ProfilePoint[]): Spec {
  const color = datasetScale(points.map((p) => p.dataset))
  return withConfig({
    data: {values: points},
    encoding: {
      color: {field: 'dataset', scale: color, title: null, type: 'nominal'},
      x: {field: 'pos', scale: {domain: [0, 100]}, title: 'position in the run (% of its sampled span)', type: 'quantitative'},
    },
    height: 260,
    layer: [
      {encoding: {y: {field: 'p10_mb', title: 'memory (MB)', type: 'quantitative'}, y2: {field: 'p90_mb'}}, mark: {opacity: 0.18, type: 'area'}},
      {
        encoding: {
          tooltip: [{field: 'dataset'}, {field: 'pos', format: '.0f', title: '% of run'}, {field: 'mean_mb', format: '.0f', title: 'mean MB'}, {field: 'p10_mb', format: '.0f', title: 'P10 MB'}, {field: 'p90_mb', format: '.0f', title: 'P90 MB'}, {field: 'runs'}],
          y: {field: 'mean_mb', type: 'quantitative'},
        },
        mark: {point: {size: 0}, strokeWidth: 2.2, type: 'line'},
      },
    ],
    title: title('Memory over a normalised run', 'Each run interpolated to 100 points: mean (line) and P10-P90 band. Flat first half, then test-driven growth.'),
    width: 620,
  })
}

export function peakToAvgSpec(rows: RunFigureRow[]): Spec {
  const values = rows.filter((r) => r.peak_to_avg !== null).map((r) => ({dataset: r.dataset, task: r.task, value: r.peak_to_avg!}))
  return stripSpec(values, 'peak / average memory (×, log scale)', title('Peaks are short and tall', 'Peak-to-average memory per run: reserving the peak wastes most of the reservation most of the time.'), 'log', '.2f', 1)
}

/** Change rates as a CCDF on log-log axes: the tail (the bursts) is what matters. */
export function changeRatesSpec(q: RateQuantile[]): Spec {
  const color = datasetScale(q.map((p) => p.dataset))
  return withConfig({
    data: {values: q},
    encoding: {
      color: {field: 'dataset', scale: color, title: null, type: 'nominal'},
      column: {field: 'resource', header: {labelFontSize: 12, labelFontWeight: 600, title: null}, title: null, type: 'nominal'},
      tooltip: [{field: 'dataset'}, {field: 'rate', format: ',.1f', title: 'rate'}, {field: 'ccdf', format: '.2%', title: 'pairs changing faster'}],
      x: {field: 'rate', scale: {type: 'log'}, title: '|change| per second between consecutive samples (log)', type: 'quantitative'},
      y: {axis: {format: '~%'}, field: 'ccdf', scale: {type: 'log'}, title: 'fraction of sample pairs changing faster', type: 'quantitative'},
    },
    height: 220,
    mark: {interpolate: 'step-after', strokeWidth: 2, type: 'line'},
    resolve: {scale: {x: 'independent'}},
    title: title('How fast does demand change?', 'Complementary CDF of change rates (paper rule: consecutive samples 0 < Δt ≤ 2 s), log-log. Most seconds are calm; a heavy tail moves hundreds of MB per second.'),
    transform: [{as: 'ccdf', calculate: '1 - datum.cdf'}, {filter: 'datum.rate > 0 && datum.ccdf > 0'}],
    width: 300,
  })
}
