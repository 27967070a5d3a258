/**
 * Memory baseline, peak-to-average, spikes, change rates, bursts, burst attribution,
 * per-category spikes and CPU figures on three hand-built runs:
 *  - podman: 1 s podman samples (start transient, lifetime-average CPU, exit 0B),
 *  - fine: 100 ms samples with cumulative CPU time (no transient, no 0B),
 *  - coarse: 5 s samples (too coarse for the paper's 2 s pair rule).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {Analysed, analyseRuns, RunSpec, SampleSpec, val} from './synthetic.js'

// podman: instantaneous CPU 10 % except 50 % over (2,3] and (3,4] s; podman reports the lifetime average
const CUM = [10, 20, 70, 120, 130, 140, 150, 160, 170]
const MEM = [200, 200, 500, 500, 200, 200, 200, 200, 200]
const PODMAN: RunSpec = {
  calls: [
    {command: 'pytest', end: 4.5, id: 'p1', start: 2.5, tool: 'Bash'},
    {command: 'python -m pytest', end: 7.5, id: 'p2', start: 6.5, tool: 'Bash'},
  ],
  dataset: 'podman',
  samples: [
    {cpu: 100, flags: 'start_transient', mem: 12, t: 0},
    ...MEM.map((mem, i) => ({cpu: CUM[i] / (i + 1), mem, t: i + 1})),
    {cpu: 0, flags: 'exit_0b', mem: 0, t: 10},
  ],
  task: 'podman-task',
}
const PODMAN_CPU = [100, ...CUM.map((c, i) => c / (i + 1)), 0]
const PODMAN_CPU_MEAN = PODMAN_CPU.reduce((a, b) => a + b, 0) / 11

// fine: 100 ms; 500 MB for samples 3.0-3.9 s, 50 % CPU over (3.0, 4.0], else 200 MB and 10 %
const FINE_SAMPLES: SampleSpec[] = []
let usec = 0
for (let k = 0; k <= 100; k++) {
  if (k > 0) usec += k >= 31 && k <= 40 ? 50_000 : 10_000
  FINE_SAMPLES.push({mem: k >= 30 && k <= 39 ? 500 : 200, t: k / 10, usec})
}
const FINE: RunSpec = {
  calls: [
    {command: 'pytest', end: 4.05, id: 'f1', start: 2.95, tool: 'Bash'},
    {command: 'tox', end: 7.1, id: 'f2', start: 6.9, tool: 'Bash'},
  ],
  dataset: 'fine',
  samples: FINE_SAMPLES,
  task: 'fine-task',
}

// coarse: every 5 s, one 400 MB sample at 50 s
const COARSE: RunSpec = {
  dataset: 'coarse',
  samples: Array.from({length: 20}, (_, i) => ({cpu: 10, kind: 'instant' as const, mem: i === 10 ? 400 : 200, t: i * 5})),
  task: 'coarse-task',
}

describe('resource dynamics', () => {
  let a: Analysed
  beforeAll(async () => {
    a = await analyseRuns([PODMAN, FINE, COARSE])
  })
  afterAll(() => a.close())

  it('memory baseline: first 60 samples (paper) or first 60 s, time-weighted, transient dropped', () => {
    expect(val(a.run(PODMAN).mem_baseline_mb, 'paper_rules')).toBeCloseTo(2412 / 11, 6)
    // trapezoid over 1..9 s: (200 + 350 + 500 + 350 + 4 x 200) / 8
    expect(val(a.run(PODMAN).mem_baseline_mb, 'corrected')).toBeCloseTo(275, 6)
    expect(val(a.run(FINE).mem_baseline_mb, 'paper_rules')).toBeCloseTo(250, 6)
    expect(val(a.run(FINE).mem_baseline_mb, 'corrected')).toBeCloseTo(230, 6)
    expect(val(a.group('podman').mem_baseline_mb, 'paper_rules')).toBeCloseTo(2412 / 11, 6)
  })

  it('peak-to-average, spike duration and peak position', () => {
    const p = a.run(PODMAN)
    expect(val(p.mem_avg_mb, 'paper_rules')).toBeCloseTo(241.2, 6) // samples > 0, transient included
    expect(val(p.peak_to_avg, 'paper_rules')).toBeCloseTo(500 / 241.2, 6)
    expect(val(p.peak_to_avg, 'corrected')).toBeCloseTo(500 / 275, 6)
    expect(val(p.spike_duration_s, 'paper_rules')).toBe(2)
    expect(val(p.spike_duration_s, 'corrected')).toBeCloseTo(2, 6)
    expect(val(p.mem_peak_position_pct, 'paper_rules')).toBeCloseTo(30, 6)
    expect(val(p.mem_peak_position_pct, 'corrected')).toBeCloseTo(25, 6)
    expect(val(p.cpu_peak_to_avg, 'paper_rules')).toBeCloseTo(100 / PODMAN_CPU_MEAN, 6)
    // recovered CPU from 3 s on (the interval after the transient hangs on the unknown start): 50 / (150 / 7)
    expect(val(p.cpu_peak_to_avg, 'corrected')).toBeCloseTo(50 / (150 / 7), 6)
    expect(val(a.group('podman').peak_to_avg_max, 'paper_rules')).toBeCloseTo(500 / 241.2, 6)
    expect(val(a.group('podman').peak_to_avg_mean, 'corrected')).toBeCloseTo(500 / 275, 6)
    expect(val(a.group('podman').cpu_peak_to_avg_mean, 'corrected')).toBeCloseTo(50 / (150 / 7), 6)
    expect(val(a.group('podman').mem_baseline_median_mb, 'corrected')).toBeCloseTo(275, 6)
    // 100 ms: the paper counts 10 samples as 10 "seconds"; on the clock the spike lasts 1 s
    const f = a.run(FINE)
    expect(val(f.peak_to_avg, 'paper_rules')).toBeCloseTo(500 / (23200 / 101), 6)
    expect(val(f.peak_to_avg, 'corrected')).toBeCloseTo(500 / 230, 6)
    expect(val(f.spike_duration_s, 'paper_rules')).toBe(10)
    expect(val(f.spike_duration_s, 'corrected')).toBeCloseTo(1, 6)
    expect(val(a.run(COARSE).spike_duration_s, 'corrected')).toBeCloseTo(5, 6)
  })

  it('change rates and bursts: pairs under 2 s (paper) or time-weighted at any interval', () => {
    const g = a.group('podman')
    // paper pairs: start 12 -> 200 MB with CPU 100 -> 10, two 300 MB steps, the 200 MB drop to 0B
    expect(val(g.burst_count, 'paper_rules')).toBe(4)
    expect(val(g.burst_fraction, 'paper_rules')).toBeCloseTo(40, 6)
    expect(val(g.mem_change_over_100mb_s_pct, 'paper_rules')).toBeCloseTo(40, 6)
    expect(val(g.cpu_change_rate_max_pct_s, 'paper_rules')).toBeCloseTo(90, 6)
    expect(val(g.mem_change_rate_max_mb_s, 'paper_rules')).toBeCloseTo(300, 6)
    // numpy's percentile over the 10 pairs: CPU changes sorted ... 18.89, 90 (pos 8.55); memory ... 300, 300
    expect(val(g.cpu_change_rate_p95_pct_s, 'paper_rules')).toBeCloseTo(170 / 9 + 0.55 * (90 - 170 / 9), 6)
    expect(val(g.mem_change_rate_p95_mb_s, 'paper_rules')).toBeCloseTo(300, 6)
    // corrected: weighted by seconds; CPU rates 0, 40, 0, 0, 0, 0 (the first two intervals have none)
    expect(val(g.cpu_change_rate_p95_pct_s, 'corrected')).toBeCloseTo(40, 6)
    expect(val(g.mem_change_rate_p95_mb_s, 'corrected')).toBeCloseTo(300, 6)
    // corrected: 8 clean 1 s intervals, two of them bursts (300 MB and a 40 %/s CPU change)
    expect(val(g.burst_fraction, 'corrected')).toBeCloseTo(25, 6)
    expect(val(g.cpu_change_rate_max_pct_s, 'corrected')).toBeCloseTo(40, 6)
    const f = a.group('fine')
    expect(val(f.burst_fraction, 'paper_rules')).toBeCloseTo(4, 6)
    expect(val(f.burst_fraction, 'corrected')).toBeCloseTo(4, 6)
    expect(val(f.mem_change_rate_max_mb_s, 'corrected')).toBeCloseTo(3000, 3)
    expect(val(f.cpu_change_rate_max_pct_s, 'corrected')).toBeCloseTo(400, 3)
    // 5 s sampling: the paper's rule has no pair to use; the corrected one has 19 calm intervals
    const c = a.group('coarse').burst_fraction
    expect(c.paper_rules).toBeNull()
    expect(c.null_reason?.paper_rules).toMatch(/no run of this group has a usable pair/)
    expect(a.run(COARSE).burst_fraction).toMatchObject({corrected: 0, null_reason: {paper_rules: 'no pair of samples less than 2 s apart'}, paper_rules: null})
  })

  it('burst attribution: samples in a call (paper) or time inside the call union (corrected)', () => {
    const g = a.group('podman')
    // samples at 3, 4 (first call) and 7 s (second call); corrected: their 1 s windows of 8 s
    expect(val(g.tool_sample_share, 'paper_rules')).toBeCloseTo((3 / 11) * 100, 6)
    expect(val(g.tool_sample_share, 'corrected')).toBeCloseTo(37.5, 6)
    expect(val(g.burst_tool_attribution, 'paper_rules')).toBeCloseTo(100, 6)
    expect(val(g.burst_tool_attribution, 'corrected')).toBeCloseTo(100, 6)
    // the only lifetime-average sample above 30 % is the start transient, outside any call
    expect(val(g.cpu_burst_tool_attribution, 'paper_rules')).toBeCloseTo(0, 6)
    // instantaneous CPU above 30 % over (2,4]: 1.5 s of it inside the call [2.5, 4.5]
    expect(val(g.cpu_burst_tool_attribution, 'corrected')).toBeCloseTo(75, 6)
    expect(val(g.burst_concentration, 'paper_rules')).toBeCloseTo(100 / ((3 / 11) * 100), 6)
    expect(val(g.burst_concentration, 'corrected')).toBeCloseTo(100 / 37.5, 6)
    const f = a.group('fine')
    // samples 3.0-4.0 s and 6.9-7.1 s lie in calls (14 of 101); on the clock 1.1 s + 0.2 s of 10 s
    expect(val(f.tool_sample_share, 'paper_rules')).toBeCloseTo((14 / 101) * 100, 6)
    expect(val(f.tool_sample_share, 'corrected')).toBeCloseTo(13, 6)
    expect(val(f.cpu_burst_tool_attribution, 'corrected')).toBeCloseTo(100, 6)
  })

  it('per-category spikes: peak in the call minus the sample before it', () => {
    const test = (g: string, rule: 'paper_rules' | 'corrected') => (val(a.group(g).bash_category_spikes, rule) as Record<string, Record<string, number>>).test_execution
    expect(test('podman', 'paper_rules')).toMatchObject({mem_max_mb: 300, mem_mean_mb: 150, n: 2})
    expect(test('podman', 'paper_rules').mem_p95_mb).toBeCloseTo(285, 6)
    // lifetime-average CPU: +20 in the first call, 150/7 - 140/6 in the second
    expect(test('podman', 'paper_rules').cpu_mean_pct).toBeCloseTo((20 + (150 / 7 - 140 / 6)) / 2, 6)
    // recovered CPU starts at 3 s, so the first call has no CPU baseline before it (0), the second 10 - 10
    expect(test('podman', 'corrected').cpu_mean_pct).toBeCloseTo(0, 6)
    expect(test('fine', 'corrected')).toMatchObject({cpu_mean_pct: 20, mem_max_mb: 300, mem_mean_mb: 150, n: 2})
  })

  it('CPU: correlation with memory, average and share above 50 %', () => {
    const p = a.run(PODMAN)
    expect(val(p.cpu_mem_correlation, 'paper_rules')).toBeCloseTo(-0.1996714, 6)
    // instantaneous CPU [50,50,10,10,10,10,10] against memory [500,500,200,200,200,200,200]
    expect(val(p.cpu_mem_correlation, 'corrected')).toBeCloseTo(1, 6)
    expect(val(a.group('podman').cpu_mem_correlation_min, 'corrected')).toBeCloseTo(1, 6)
    expect(val(a.group('podman').cpu_mem_correlation_max, 'paper_rules')).toBeCloseTo(-0.1996714, 6)
    expect(val(p.avg_cpu_pct, 'paper_rules')).toBeCloseTo(PODMAN_CPU_MEAN, 6)
    expect(val(p.avg_cpu_pct, 'corrected')).toBeCloseTo(150 / 7, 6)
    expect(val(a.group('podman').high_cpu_sample_pct, 'paper_rules')).toBeCloseTo((1 / 11) * 100, 6)
    expect(val(a.group('podman').high_cpu_sample_pct, 'corrected')).toBe(0)
    // cumulative CPU time: both rules read the same 10 % / 50 % intervals
    expect(val(a.run(FINE).avg_cpu_pct, 'paper_rules')).toBeCloseTo(14, 6)
    expect(val(a.run(FINE).avg_cpu_pct, 'corrected')).toBeCloseTo(14, 6)
    expect(val(a.run(FINE).cpu_peak_to_avg, 'corrected')).toBeCloseTo(50 / 14, 6)
  })
})
