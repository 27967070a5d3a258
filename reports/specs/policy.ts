/** Fig. 8: the policy comparison of trace replays (survival, allocation latency, completion, memory, events). */
import type {LatencyQuantile, PolicyEvent, TenantMemPoint, TenantOutcome} from '../data/replay.js'
import {Spec, title, withConfig} from './theme.js'

// the paper's order: no isolation first, AgentCgroup last
const POLICY_ORDER = ['none', 'static', 'high', 'agentcgroup']
const policySort = (labels: string[]) => [...new Set(labels)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
const rank = (label: string) => {
  const i = POLICY_ORDER.indexOf(label.split(' · ')[0])
  return i < 0 ? POLICY_ORDER.length : i
}

export function survivalSpec(tenants: TenantOutcome[]): Spec {
  return withConfig({
    data: {values: tenants},
    encoding: {
      color: {field: 'outcome', scale: {domain: ['survived', 'killed'], range: ['#3ca951', '#d62728']}, title: null, type: 'nominal'},
      tooltip: [{field: 'policy'}, {field: 'outcome'}, {aggregate: 'count', title: 'tenants'}],
      x: {aggregate: 'count', axis: {tickMinStep: 1}, title: 'tenants', type: 'quantitative'},
      y: {field: 'policy', sort: policySort(tenants.map((t) => t.policy)), title: null, type: 'nominal'},
    },
    height: {step: 26},
    mark: {type: 'bar'},
    title: title('Who survives?', 'Tenants that completed vs. were killed, per policy (all repeats).'),
    transform: [{as: 'outcome', calculate: "datum.survived ? 'survived' : 'killed'"}],
    width: 420,
  })
}

export function allocLatencySpec(q: LatencyQuantile[]): Spec {
  return withConfig({
    data: {values: q},
    encoding: {
      color: {field: 'policy', sort: policySort(q.map((r) => r.policy)), title: null, type: 'nominal'},
      tooltip: [{field: 'policy'}, {field: 'latency_ms', format: ',.3f', title: 'ms'}, {field: 'cdf', format: '.3f', title: 'fraction ≤'}],
      x: {field: 'latency_ms', scale: {type: 'symlog'}, title: 'allocation latency (ms, symlog)', type: 'quantitative'},
      y: {field: 'cdf', scale: {domain: [0, 1]}, title: 'fraction of allocations', type: 'quantitative'},
    },
    height: 220,
    mark: {interpolate: 'step-after', strokeWidth: 2, type: 'line'},
    title: title('Allocation latency', 'CDF of the time each allocation step took, per policy (all repeats, symlog).'),
    width: 420,
  })
}

export function completionSpec(tenants: TenantOutcome[]): Spec {
  return withConfig({
    data: {values: tenants.filter((t) => t.completion_s !== null)},
    encoding: {
      color: {field: 'priority', title: 'priority', type: 'nominal'},
      tooltip: [{field: 'policy'}, {field: 'tenant'}, {field: 'priority'}, {field: 'end_state', title: 'end'}, {field: 'completion_s', format: ',.1f', title: 'completion s'}],
      x: {field: 'completion_s', title: 'completion time of finished tenants (s)', type: 'quantitative'},
      y: {field: 'policy', sort: policySort(tenants.map((t) => t.policy)), title: null, type: 'nominal'},
    },
    height: {step: 30},
    mark: {filled: true, size: 80, type: 'point'},
    title: title('Completion time', 'Per tenant and policy.'),
    width: 420,
  })
}

export function tenantMemorySpec(points: TenantMemPoint[]): Spec {
  return withConfig({
    data: {values: points},
    encoding: {
      color: {field: 'tenant', title: 'tenant', type: 'nominal'},
      row: {field: 'policy', header: {labelAlign: 'left', labelAngle: 0, labelFontWeight: 600}, sort: policySort(points.map((p) => p.policy)), title: null, type: 'nominal'},
      x: {field: 't', title: 'replay time (s)', type: 'quantitative'},
      y: {field: 'mb', title: 'memory (MB)', type: 'quantitative'},
    },
    height: 110,
    mark: {strokeWidth: 1.5, type: 'line'},
    title: title('Memory per tenant over time', 'Memory each tenant held after each allocation step (min/max envelope), first repeat of each policy.'),
    width: 760,
  })
}

export function policyEventsSpec(events: PolicyEvent[]): Spec {
  return withConfig({
    data: {values: events},
    encoding: {
      color: {field: 'kind', title: 'event', type: 'nominal'},
      tooltip: [{field: 'policy'}, {field: 'tenant'}, {field: 'kind'}, {field: 'detail'}, {field: 't', format: '.2f', title: 's'}],
      x: {field: 't', title: 'replay time (s)', type: 'quantitative'},
      y: {field: 'policy', sort: policySort(events.map((e) => e.policy)), title: null, type: 'nominal'},
    },
    height: {step: 28},
    mark: {size: 18, thickness: 2, type: 'tick'},
    title: title('Controller events', 'Throttle, freeze, thaw and OOM kills as they happened (first repeat of each policy).'),
    width: 760,
  })
}
