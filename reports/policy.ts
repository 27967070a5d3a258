/** The policy comparison section, present only when the store holds replay results. */
import type {ReplayData} from './data/replay.js'
import {chartSlot, Section} from './html.js'
import {allocLatencySpec, completionSpec, policyEventsSpec, survivalSpec, tenantMemorySpec} from './specs/policy.js'
import type {Spec} from './specs/theme.js'

export function policySection(d: ReplayData): {section: Section; charts: Record<string, Spec>} {
  const charts: Record<string, Spec> = {'policy-survival': survivalSpec(d.tenants)}
  if (d.latency.length > 0) charts['policy-latency'] = allocLatencySpec(d.latency)
  if (d.tenants.some((t) => t.completion_s !== null)) charts['policy-completion'] = completionSpec(d.tenants)
  if (d.memory.length > 0) charts['policy-memory'] = tenantMemorySpec(d.memory)
  if (d.events.length > 0) charts['policy-events'] = policyEventsSpec(d.events)
  const wide = new Set(['policy-memory', 'policy-events'])
  return {
    charts,
    section: {
      html: `<div class="charts">${Object.keys(charts).map((id) => chartSlot(id, wide.has(id))).join('')}</div>`,
      id: 'policy',
      intro: 'Trace replays of several tenants under each resource policy: survival, allocation latency, completion time, memory per tenant, controller events (paper Fig. 8).',
      title: 'Policy comparison',
    },
  }
}
