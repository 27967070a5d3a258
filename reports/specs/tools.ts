/** Fig. 3: tool-time shares, Bash command categories and the tool timeline. */
import type {BashCategoryRow, TimelineRow, ToolShareRow} from '../data/tools.js'
import {CATEGORY_COLORS, CATEGORY_ORDER, Spec, title, toolColorScale, withConfig} from './theme.js'

export function toolSharesSpec(rows: ToolShareRow[]): Spec {
  // the long tail (< 0.5 % of tool time) would only add unreadable slivers
  const values = rows.filter((r) => r.share_pct >= 0.5)
  const color = toolColorScale(values.map((r) => r.tool))
  // one panel per dataset (a concat, not a facet: each keeps its own tool order)
  return withConfig({
    data: {values},
    resolve: {scale: {y: 'independent'}},
    spacing: 14,
    title: title('Which tools take the time?', 'Share of summed tool-call time per tool (paper rules: sub-agent calls inside Task are counted again). Hover for call counts and mean durations.'),
    vconcat: [...new Set(values.map((v) => v.dataset))].map((dataset) => ({
      encoding: {
        tooltip: [{field: 'tool'}, {field: 'share_pct', format: '.1f', title: '% of tool time'}, {field: 'calls'}, {field: 'total_s', format: ',.0f', title: 'total s'}, {field: 'mean_s', format: '.2f', title: 'mean s per call'}],
        x: {field: 'share_pct', scale: {domain: [0, 100]}, title: '% of summed tool time', type: 'quantitative'},
        y: {field: 'tool', sort: {field: 'share_pct', op: 'max', order: 'descending'}, title: null, type: 'nominal'},
      },
      height: {step: 20},
      layer: [
        {encoding: {color: {field: 'tool', legend: null, scale: color, type: 'nominal'}}, mark: {cornerRadiusEnd: 2, type: 'bar'}},
        {encoding: {text: {field: 'share_pct', format: '.1f', type: 'quantitative'}}, mark: {align: 'left', color: '#333', dx: 4, fontSize: 11, type: 'text'}},
      ],
      title: {fontSize: 12, text: dataset},
      transform: [{filter: {equal: dataset, field: 'dataset'}}],
      width: 520,
    })),
  })
}

export function bashCategoriesSpec(rows: BashCategoryRow[]): Spec {
  return withConfig({
    data: {values: rows},
    encoding: {
      color: {field: 'category', scale: {domain: CATEGORY_ORDER, range: CATEGORY_COLORS}, title: null, type: 'nominal'},
      order: {field: 'share_pct', sort: 'descending', type: 'quantitative'},
      tooltip: [{field: 'dataset'}, {field: 'category'}, {field: 'share_pct', format: '.1f', title: '% of Bash time'}, {field: 'calls'}, {field: 'total_s', format: ',.0f', title: 'total s'}],
      x: {field: 'share_pct', scale: {domain: [0, 100]}, stack: 'zero', title: '% of Bash time', type: 'quantitative'},
      y: {field: 'dataset', title: null, type: 'nominal'},
    },
    height: {step: 34},
    layer: [
      {mark: {stroke: 'white', strokeWidth: 1, type: 'bar'}},
      {
        encoding: {
          color: {value: 'white'},
          // no label on slivers; filtering instead would shift the stack under the labels
          text: {condition: {test: 'datum.share_pct < 5', value: ''}, field: 'share_pct', format: '.0f', type: 'quantitative'},
          x: {bandPosition: 0.5, field: 'share_pct', stack: 'zero', type: 'quantitative'},
        },
        mark: {fontSize: 11, fontWeight: 600, type: 'text'},
      },
    ],
    title: title('What do the Bash calls do?', 'Share of Bash time by command category (first match, the paper\'s time-share variant). Test execution dominates.'),
    width: 620,
  })
}

export function toolTimelineSpec(rows: TimelineRow[]): Spec {
  const values = rows.map((r) => ({...r, phase: `${r.bin * 10}-${r.bin * 10 + 10}%`}))
  return withConfig({
    data: {values},
    encoding: {
      color: {field: 'share_pct', legend: {direction: 'horizontal', gradientLength: 160, orient: 'bottom'}, scale: {scheme: 'blues', type: 'sqrt'}, title: '% of the tool\'s calls', type: 'quantitative'},
      column: {field: 'dataset', header: {labelFontSize: 12, labelFontWeight: 600, title: null}, title: null, type: 'nominal'},
      tooltip: [{field: 'dataset'}, {field: 'tool'}, {field: 'phase', title: 'position in run'}, {field: 'share_pct', format: '.1f', title: '% of calls'}],
      x: {axis: {labelAngle: 0, labelExpr: "datum.value == 0 ? 'start' : datum.value == 9 ? 'end' : ''"}, field: 'bin', title: 'position in the run (tenths)', type: 'ordinal'},
      y: {field: 'tool', sort: ['Read', 'Grep', 'Glob', 'TodoWrite', 'Edit', 'Write', 'Bash'], title: null, type: 'nominal'},
    },
    height: {step: 22},
    mark: {cornerRadius: 2, type: 'rect'},
    title: title('Understand, modify, verify', 'When in a run each tool is called: Read and Grep early, Edit in the middle, Bash (tests) throughout and late.'),
    width: {step: 26},
  })
}
