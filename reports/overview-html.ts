/** The overview section's markup: headline cards and the per-dataset table (all values escaped). */
import type {DatasetOverview} from './data/overview.js'
import {escapeHtml} from './escape.js'

const n = (x: number, digits = 0) => x.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits})

export function overviewHtml(rows: DatasetOverview[]): string {
  const sum = (k: 'runs' | 'valid_runs' | 'samples' | 'tool_calls' | 'llm_turns' | 'agent_hours') => rows.reduce((a, r) => a + r[k], 0)
  const models = new Set(rows.flatMap((r) => r.models))
  const machines = new Set(rows.flatMap((r) => r.machines))
  const cards: [string, string][] = [
    [n(rows.length), 'datasets'],
    [n(sum('runs')), 'runs'],
    [n(sum('valid_runs')), 'valid runs'],
    [n(models.size), 'models'],
    [machines.size > 0 ? n(machines.size) : '–', 'machines'],
    [n(sum('agent_hours'), 1), 'agent hours'],
    [n(sum('samples')), 'resource samples'],
    [n(sum('tool_calls')), 'tool calls'],
    [n(sum('llm_turns')), 'LLM turns'],
  ]
  const cardHtml = cards.map(([v, l]) => `<div class="card"><div class="n">${escapeHtml(v)}</div><div class="l">${escapeHtml(l)}</div></div>`).join('')
  const list = (xs: string[]) => (xs.length > 0 ? xs.map((x) => escapeHtml(x)).join('<br>') : '<span class="delta">not recorded</span>')
  const status = (s: Record<string, number>) => Object.entries(s).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${escapeHtml(k)} ${v}`).join(', ')
  const body = rows
    .map(
      (r) =>
        `<tr><td><strong>${escapeHtml(r.dataset)}</strong></td><td class="num">${n(r.runs)}</td><td class="num">${n(r.valid_runs)}</td><td>${list(r.models)}</td><td>${list(r.machines)}</td><td>${list(r.samplers)}</td><td class="num">${n(r.samples)}</td><td class="num">${n(r.tool_calls)}</td><td class="num">${n(r.llm_turns)}</td><td class="num">${n(r.processes)}</td><td>${status(r.statuses)}</td></tr>`,
    )
    .join('')
  return `<div class="cards">${cardHtml}</div><table class="data"><thead><tr><th>dataset</th><th>runs</th><th>valid</th><th>models</th><th>machines</th><th>sampler</th><th>samples</th><th>tool calls</th><th>LLM turns</th><th>processes</th><th>status</th></tr></thead><tbody>${body}</tbody></table>`
}
