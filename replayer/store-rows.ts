/** Replay results into the store's replay tables (schema.ts): one transaction per table. */
import {hostname, release} from 'node:os'

import type {Store} from '../datasets/store.js'
import type {ArmMetrics} from './metrics.js'
import type {ReplayPlan} from './plan.js'
import type {AllocRate, ArmRun} from './results.js'

export interface ArmContext {
  replayId: string
  repeatIndex: number
  plan: ReplayPlan
  rate: AllocRate | null
  rateMiBs: number | null
  poolBytes: number
  predictedSlipS: number | null
}

export async function writeArm(store: Store, run: ArmRun, m: ArmMetrics, ctx: ArmContext): Promise<void> {
  const sc = ctx.plan.scenario
  const id = ctx.replayId
  await store.insertRows('replays', [{
    alloc_rate_mib_s: ctx.rateMiBs, backend: run.backend, budget_oom_kills: run.budgetOomKills, budget_peak_bytes: run.budgetPeakBytes,
    controller_mode: run.controller.mode, ended_at_us: run.endedAtUs, fidelity_pct: m.fidelity_pct, flavor: run.flavor, freeze_events: m.freeze_events,
    high_mode: m.high_mode, host: hostname(), hugepages: sc.hugepages, kernel: release(), lag_p99_ms: m.lag_p99_ms, memset_fresh_mib_s: ctx.rate?.memsetFreshMiBs ?? null,
    notes: run.notes.join('; ') || null, oom_kills: m.oom_kills, policy: run.policy, predicted_slip_s: ctx.predictedSlipS, reaction_p50_ms: m.reaction_p50_ms,
    reaction_p99_ms: m.reaction_p99_ms, repeat_index: ctx.repeatIndex, replay_id: id, scenario: sc.name, speed: sc.speed, started_at_us: run.startedAtUs,
    survivors: m.survivors, throttle_events: m.throttle_events, total_bytes: sc.totalBytes, utilisation_pct: m.utilisation_pct, waste_pct: m.waste_pct,
    warm_pool_bytes: ctx.poolBytes,
  }])
  await store.insertRows('replay_tenants', run.tenants.map((t, i) => {
    const tm = m.tenants[i]
    return {
      alloc_p50_ms: tm.alloc_p50_ms, alloc_p95_ms: tm.alloc_p95_ms, alloc_p99_ms: tm.alloc_p99_ms, completion_s: tm.completion_s, end_state: t.end,
      expected_s: tm.expected_s, fidelity_pct: tm.fidelity_pct, freeze_events: t.freezeEvents, frozen_ms: t.frozenMs, kernel_high_events: t.kernel.high,
      kernel_limit_hits: t.kernel.limitHits, kernel_oom_kills: t.kernel.oomKills, lag_p50_ms: tm.lag_p50_ms, lag_p99_ms: tm.lag_p99_ms, limit_bytes: t.limitBytes,
      oom_kills: t.oomKills, peak_bytes: t.kernel.peakBytes, priority: t.priority, replay_id: id, run_id: ctx.plan.tenants[i].runId, steps_on_target_pct: tm.steps_on_target_pct,
      survived: tm.survived, tenant: t.name, tenant_index: t.index, throttle_events: t.throttleEvents, trace: t.trace,
    }
  }))
  const name = (i: number | null): string | null => (i === null ? null : run.tenants[i]?.name ?? null)
  const events: Record<string, unknown>[] = run.controller.events.map((e) => ({detail: e.detail, kind: e.kind as string, reaction_ms: e.reactionMs, replay_id: id, t_ms: e.tMs, tenant: name(e.tenant)}))
  for (const t of run.tenants) {
    if (t.end === 'oom_killed') events.push({detail: 'OOM-killed by the kernel', kind: 'oom_kill', reaction_ms: null, replay_id: id, t_ms: t.steps.at(-1)?.endMs ?? 0, tenant: t.name})
  }
  await store.insertRows('replay_events', events)
  await store.insertRows('replay_allocs', run.tenants.flatMap((t) => t.steps.map((s) => ({
    achieved_bytes: s.achievedBytes, end_ms: s.endMs, replay_id: id, rss_bytes: s.rssBytes, sched_ms: s.schedMs, start_ms: s.startMs, step: s.step, target_bytes: s.targetBytes, tenant: t.name,
  }))))
}
