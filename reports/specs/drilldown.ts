/**
 * The per-run drill-down: memory and CPU over time with tool calls as coloured spans, LLM
 * turns, processes and controller/kernel events, stacked on one shared time axis. Scroll to
 * zoom and drag to pan on the memory panel; every panel follows (one shared x scale). The
 * spec is a template over named datasets (mem, cpu, calls, turns, procs, events) that the page
 * fills with the selected run's rows.
 */
import {Spec, title, toolColorScale, withConfig} from './theme.js'

export interface DrillOptions {
  tools: string[]
  hasProcesses: boolean
  hasEvents: boolean
  width?: number
}

export const DRILL_DATASETS = ['mem', 'cpu', 'calls', 'turns', 'procs', 'events'] as const

export function drilldownSpec(o: DrillOptions): Spec {
  const width = o.width ?? 900
  const x = (field: string, axis = false) => ({
    axis: axis ? {grid: true, title: 'seconds since the first sample'} : {grid: true, labels: false, ticks: false, title: null},
    field,
    type: 'quantitative' as const,
  })
  const tools = toolColorScale(o.tools)
  const callTooltip = [{field: 'tool'}, {field: 'lane'}, {field: 'category', title: 'Bash category'}, {field: 'command', title: 'command / input'}, {field: 'start', format: '.2f', title: 'start s'}, {field: 'dur', format: '.2f', title: 'duration s'}]
  const panels: Record<string, unknown>[] = [
    {
      height: 200,
      layer: [
        {
          data: {name: 'calls'},
          encoding: {color: {field: 'tool', legend: null, scale: tools, type: 'nominal'}, tooltip: callTooltip, x: x('start'), x2: {field: 'end'}},
          mark: {opacity: 0.16, type: 'rect'},
          transform: [{as: 'dur', calculate: 'datum.end - datum.start'}],
        },
        {
          data: {name: 'mem'},
          encoding: {x: x('t'), y: {field: 'mb', title: 'memory (MB)', type: 'quantitative'}},
          layer: [
            // the zoom lives on a unit (vega-lite binds selections on units, not layers)
            {mark: {color: '#4269d0', opacity: 0.12, type: 'area'}, params: [{bind: 'scales', name: 'zoom', select: {encodings: ['x'], type: 'interval'}}]},
            {encoding: {tooltip: [{field: 't', format: '.1f', title: 's'}, {field: 'mb', format: ',.1f', title: 'MB'}]}, mark: {color: '#4269d0', point: false, strokeWidth: 1.6, type: 'line'}},
          ],
        },
      ],
      title: {fontSize: 12, text: 'memory, with tool calls shaded'},
      width,
    },
    {
      data: {name: 'cpu'},
      encoding: {tooltip: [{field: 't', format: '.1f', title: 's'}, {field: 'pct', format: '.1f', title: 'CPU %'}], x: x('t'), y: {field: 'pct', title: 'CPU (% of a core)', type: 'quantitative'}},
      height: 90,
      mark: {color: '#ef8a2a', strokeWidth: 1.4, type: 'line'},
      title: {fontSize: 12, text: 'CPU'},
      width,
    },
    {
      data: {name: 'calls'},
      encoding: {
        color: {field: 'tool', legend: {columns: 6, orient: 'bottom', title: 'tool'}, scale: tools, type: 'nominal'},
        tooltip: callTooltip,
        x: x('start'),
        y: {field: 'lane', scale: {domain: ['main', 'sub-agent']}, title: null, type: 'nominal'},
      },
      height: 44,
      layer: [{encoding: {x2: {field: 'end'}}, mark: {type: 'rect'}}, {mark: {opacity: 0.9, size: 16, thickness: 1.5, type: 'tick'}}],
      title: {fontSize: 12, text: 'tool calls'},
      transform: [{as: 'dur', calculate: 'datum.end - datum.start'}],
      width,
    },
    {
      data: {name: 'turns'},
      encoding: {
        color: {field: 'lane', legend: null, scale: {domain: ['main', 'sub-agent'], range: ['#6b6ecf', '#b5cf6b']}, type: 'nominal'},
        tooltip: [{field: 'model'}, {field: 'lane'}, {field: 'input_tokens', title: 'input tokens'}, {field: 'output_tokens', title: 'output tokens'}, {field: 'start', format: '.2f', title: 'start s'}],
        x: x('start', !o.hasProcesses && !o.hasEvents),
        x2: {field: 'end'},
        y: {field: 'lane', scale: {domain: ['main', 'sub-agent']}, title: null, type: 'nominal'},
      },
      height: 44,
      mark: {type: 'rect'},
      title: {fontSize: 12, text: 'LLM turns'},
      width,
    },
  ]
  if (o.hasProcesses) {
    panels.push({
      data: {name: 'procs'},
      encoding: {
        color: {field: 'comm', legend: null, type: 'nominal'},
        tooltip: [{field: 'pid'}, {field: 'comm'}, {field: 'argv'}, {field: 'rss_mb', format: ',.1f', title: 'peak RSS MB'}],
        x: x('start', !o.hasEvents),
        x2: {field: 'end'},
        y: {axis: null, field: 'row', type: 'ordinal'},
      },
      height: {step: 7},
      mark: {type: 'rect'},
      title: {fontSize: 12, text: 'processes'},
      // processes in start order, dealt over 12 rows so overlapping ones stay visible
      transform: [{sort: [{field: 'start'}], window: [{as: 'n', op: 'row_number'}]}, {as: 'row', calculate: 'datum.n % 12'}],
      width,
    })
  }
  if (o.hasEvents) {
    panels.push({
      data: {name: 'events'},
      encoding: {
        color: {field: 'kind', legend: {orient: 'bottom', title: 'event'}, scale: {domain: ['oom_kill', 'throttle', 'freeze', 'thaw', 'limit_change'], range: ['#d62728', '#ff7f0e', '#1f77b4', '#17becf', '#7f7f7f']}, type: 'nominal'},
        tooltip: [{field: 'kind'}, {field: 'detail'}, {field: 't', format: '.2f', title: 's'}],
        x: x('t', true),
      },
      height: 30,
      mark: {strokeWidth: 2, type: 'rule'},
      title: {fontSize: 12, text: 'OOM and throttle events'},
      width,
    })
  }
  return withConfig({
    datasets: Object.fromEntries(DRILL_DATASETS.map((d) => [d, []])),
    resolve: {scale: {color: 'independent', x: 'shared'}},
    spacing: 8,
    title: title('One run, second by second', 'Scroll on the memory panel to zoom, drag to pan; every panel follows. Hover a span for the command.'),
    vconcat: panels,
  } as unknown as Spec)
}
