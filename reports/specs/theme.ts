/**
 * The look shared by every chart: one font stack (the page's), quiet axes, left-aligned
 * titles with a subtitle that says what to read off the figure, and fixed colours for
 * datasets, tools and Bash categories so a colour means the same thing in every figure.
 */
import type {Config} from 'vega-lite/types_unstable/config.js'
import type {TopLevelSpec} from 'vega-lite'

export type Spec = TopLevelSpec
export const FONT = "'Report Sans', 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif"

export const CONFIG: Config = {
  axis: {domainColor: '#888', gridColor: '#e8e8e8', labelColor: '#333', labelFontSize: 11, tickColor: '#888', titleColor: '#333', titleFontSize: 12, titleFontWeight: 600},
  background: 'white',
  font: FONT,
  legend: {labelFontSize: 11, labelLimit: 260, orient: 'bottom', titleFontSize: 11},
  padding: {bottom: 6, left: 6, right: 12, top: 6},
  title: {anchor: 'start', color: '#111', font: FONT, fontSize: 15, fontWeight: 700, offset: 10, subtitleColor: '#555', subtitleFontSize: 12, subtitlePadding: 4},
  view: {stroke: null},
}

export const DATASET_SCHEME = ['#4269d0', '#ef8a2a', '#3ca951', '#ff725c', '#a463f2', '#97bbf5', '#9c6b4e', '#6cc5b0']

export const TOOL_COLORS: Record<string, string> = {
  Bash: '#e45756',
  Edit: '#54a24b',
  Glob: '#b279a2',
  Grep: '#9d755d',
  Read: '#4c78a8',
  Task: '#f58518',
  TodoWrite: '#bab0ac',
  WebFetch: '#72b7b2',
  WebSearch: '#eeca3b',
  Write: '#88d27a',
}
export const OTHER_TOOL_COLOR = '#d0d0d0'

export const CATEGORY_ORDER = ['Test Execution', 'Package Install', 'Python Snippet', 'Python Run', 'Git Operations', 'File Exploration', 'Text Processing', 'Shell/Environment', 'Other']
export const CATEGORY_COLORS = ['#e45756', '#f58518', '#4c78a8', '#72b7b2', '#54a24b', '#b279a2', '#9d755d', '#eeca3b', '#bab0ac']

export function toolColorScale(tools: string[]): {domain: string[]; range: string[]} {
  const domain = [...new Set(tools)].sort((a, b) => Number(!(a in TOOL_COLORS)) - Number(!(b in TOOL_COLORS)) || a.localeCompare(b))
  return {domain, range: domain.map((t) => TOOL_COLORS[t] ?? OTHER_TOOL_COLOR)}
}

export function datasetScale(datasets: string[]): {domain: string[]; range: string[]} {
  const domain = [...new Set(datasets)].sort()
  return {domain, range: domain.map((_, i) => DATASET_SCHEME[i % DATASET_SCHEME.length])}
}

/** Title with subtitle lines. */
export function title(text: string, ...subtitle: string[]): {text: string; subtitle?: string[]} {
  return subtitle.length > 0 ? {subtitle, text} : {text}
}

/** The shared config added to a spec (no $schema: nothing in the page names a URL). */
export function withConfig<S extends Spec>(spec: S): S {
  return {...spec, config: {...CONFIG, ...spec.config}}
}
