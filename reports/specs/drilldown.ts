/**
 * The per-run drill-down: memory and CPU over time with tool calls as coloured spans, LLM
 * turns, processes and controller/kernel events, stacked on one shared time axis. Scroll to
 * zoom and drag to pan on the memory panel; every panel follows (one shared x scale). The
 * spec is a template over named datasets (mem, cpu, calls, turns, procs, events) that the page
 * fills with the selected run's rows. Controller events on tool-call cgroups (throttle, freeze,
 * kill, ...) are also marked as rules across the memory panel. drillDomainsSpec is the second
 * chart a run of run-benchmark --control gets: each tool call that ran in its own cgroup.
 */
import {Spec, title, toolColorScale, withConfig} from './theme.js'

/** Event colours, shared by the events panel and the marks on the memory panel. */
export const EVENT_COLORS: {domain: string[]; range: string[]} = {
  domain: ['oom_kill', 'kill', 'throttle', 'unthrottle', 'freeze', 'thaw', 'limit_change'],
  range: ['#d62728', '#8c1c13', '#ff7f0e', '#fdbf6f', '#1f77b4', '#17becf', '#7f7f7f'],
}
/** The kinds marked on the memory panel (reports/data/drilldown.ts CONTROL_KINDS). */
const CONTROL_KINDS = ['throttle', 'unthrottle', 'freeze', 'thaw', 'kill', 'oom_kill']

export interface DrillOptions {
  tools: string[]
  hasProcesses: boolean
  hasEvents: boolean
  width?: number
}

export const DRILL_DATASETS = ['mem', 'cpu', 'calls', 'turns', 'procs', 'events'] as const
export const DOMAIN_DATASETS = ['domains'] as const

export function drilldownSpec(o: DrillOptions): Spec {
  const width = o.width ?? 900
  const x = (field: string, axis = false) => ({
    axis: axis ? {grid: true, title: 'seconds since the first sample'} : {grid: true, labels: false, ticks: false, title: null},
    field,
    type: 'quantitative' as const,
  })
  const tools = toolColorScale(o.tools)
  const eventTooltip = [{field: 'kind'}, {field: 'domain', title: 'tool-call cgroup'}, {field: 'detail'}, {field: 't', format: '.2f', title: 's'}]
  // controller events on tool calls, across the memory panel (own colour scale: the layer's
  // other colours are the tools')
  const controlMarks = {
    data: {name: 'events'},
    encoding: {
      color: {field: 'kind', legend: null, scale: EVENT_COLORS, type: 'nominal'},
      strokeDash: {condition: {test: "datum.kind === 'unthrottle' || datum.kind === 'thaw'", value: [4, 3]}, value: [1, 0]},
      tooltip: eventTooltip,
      x: x('t'),
    },
    mark: {opacity: 0.85, strokeWidth: 1.5, type: 'rule'},
    name: 'control_marks',
    transform: [{filter: {field: 'kind', oneOf: CONTROL_KINDS}}],
  }
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
        ...(o.hasEvents ? [controlMarks] : []),
      ],
      resolve: {scale: {color: 'independent'}},
      title: {fontSize: 12, text: o.hasEvents ? 'memory, with tool calls shaded and controller events marked' : 'memory, with tool calls shaded'},
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
        color: {field: 'kind', legend: {orient: 'bottom', title: 'event'}, scale: EVENT_COLORS, type: 'nominal'},
        tooltip: eventTooltip,
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

/**
 * One bar per tool call that ran in its own cgroup (in the data's order: tool-0, tool-1, ...): its peak memory, coloured
 * by the time the controller held it back (throttled + frozen), outlined red when the kernel
 * OOM-killed something inside it. The page fills the `domains` dataset with the run's rows.
 */
export function drillDomainsSpec(width = 900): Spec {
  return withConfig({
    data: {name: 'domains'},
    datasets: {domains: []},
    encoding: {
      color: {field: 'held_s', legend: {orient: 'right', title: 'held back (s)'}, scale: {domainMin: 0, scheme: 'orangered'}, type: 'quantitative'},
      stroke: {condition: {test: 'datum.oom_kills > 0', value: '#d62728'}, value: null},
      tooltip: [
        {field: 'domain', title: 'cgroup'},
        {field: 'command'},
        {field: 'peak_mb', format: ',.1f', title: 'peak MB'},
        {field: 'cpu_s', format: ',.2f', title: 'CPU s'},
        {field: 'throttled_s', format: ',.2f', title: 'throttled s'},
        {field: 'frozen_s', format: ',.2f', title: 'frozen s'},
        {field: 'oom_kills', title: 'OOM kills'},
        {field: 'start', format: '.2f', title: 'start s'},
        {field: 'dur', format: '.2f', title: 'duration s'},
      ],
      x: {axis: {labelAngle: -40, labelLimit: 90, title: null}, field: 'domain', sort: null, type: 'nominal'},
      y: {field: 'peak_mb', title: 'peak memory (MB)', type: 'quantitative'},
    },
    height: 160,
    mark: {strokeWidth: 2, type: 'bar'},
    name: 'domain_bars',
    title: title('Tool calls in their own cgroup', 'Peak memory of each tool call, coloured by the time the controller held it back; a red outline: an OOM kill inside it.'),
    transform: [{as: 'held_s', calculate: 'datum.throttled_s + datum.frozen_s'}, {as: 'dur', calculate: 'datum.end - datum.start'}],
    width,
  } as unknown as Spec)
}
