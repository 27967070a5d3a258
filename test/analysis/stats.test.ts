/** The small statistics helpers match what the paper's scripts use (numpy / statistics). */
import {describe, expect, it} from 'vitest'

import {flattenMetrics} from '../../analysis/flatten.js'
import {mean, median, pearson, percentile, seededRandom, stdev, weightedPercentile} from '../../analysis/stats.js'
import {metric, Missing} from '../../analysis/types.js'

describe('analysis statistics', () => {
  it("numpy's linear percentile, statistics' median and sample stdev; nulls skipped", () => {
    expect(percentile([0, 300], 95)).toBeCloseTo(285, 9)
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 9)
    expect(median([3, 1, null, 2, 4])).toBe(2.5)
    expect(mean([1, null, 3])).toBe(2)
    expect(stdev([100, 200, 300, 400, 500])).toBeCloseTo(Math.sqrt(25_000), 9)
    expect(stdev([1])).toBeNull()
    expect(mean([])).toBeNull()
  })

  it('weighted percentile: the smallest value reaching q % of the weight', () => {
    // 1 s at 10 and 9 s at 0: 95 % of the time is reached only by 10; at 50 % by 0
    expect(weightedPercentile([10, 0], [1, 9], 95)).toBe(10)
    expect(weightedPercentile([10, 0], [1, 9], 50)).toBe(0)
    expect(weightedPercentile([3, null, 1, 2], [1, 5, 1, 1], 60)).toBe(2)
    expect(weightedPercentile([null], [1], 95)).toBeNull()
  })

  it('Pearson r over complete pairs, null without variance', () => {
    expect(pearson([1, 2, 3, 4, 5], [300, 100, 200, 500, 400])).toBeCloseTo(0.6, 12)
    expect(pearson([1, 2, null, 4], [2, 4, 9, 8])).toBeCloseTo(1, 12)
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull()
  })

  it('a seeded generator repeats itself', () => {
    const a = seededRandom(42)
    const b = seededRandom(42)
    const draws = Array.from({length: 5}, () => a())
    expect(draws).toEqual(Array.from({length: 5}, () => b()))
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true)
  })

  it('flattens object metrics into one row per leaf, reasons kept per rule', () => {
    const rows = flattenMetrics({
      latency: {...metric('%', {view2: {init: 30, tool: 20}}, new Missing('no phases')), paper_published: {view2: {init: 31}}},
      ratio: metric('x', 1.5, 2),
    })
    expect(rows).toEqual([
      {corrected: null, name: 'latency.view2.init', null_reason: {corrected: 'no phases'}, paper_published: 31, paper_rules: 30, unit: '%'},
      {corrected: null, name: 'latency.view2.tool', null_reason: {corrected: 'no phases'}, paper_published: null, paper_rules: 20, unit: '%'},
      {corrected: 2, name: 'ratio', null_reason: {}, paper_published: null, paper_rules: 1.5, unit: 'x'},
    ])
  })
})
