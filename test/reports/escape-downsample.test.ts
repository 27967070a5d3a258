import {describe, expect, it} from 'vitest'

import {drillBudget} from '../../reports/data/drilldown.js'
import {envelope} from '../../reports/downsample.js'
import {cleanDeep, cleanText, escapeHtml, jsonForScript, scriptText} from '../../reports/escape.js'

describe('escaping', () => {
  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<img src=x onerror="a('b')"> & more`)).toBe('&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; more')
  })

  it('makes JSON safe inside a script element and keeps its value', () => {
    const value = {s: '</script><!-- <script>alert(1)</script> & \u2028\u2029'}
    const text = jsonForScript(value)
    expect(text).not.toMatch(/[<>&\u2028\u2029]/)
    expect(JSON.parse(text)).toEqual(value)
  })

  it('keeps an inlined runtime from closing its script element', () => {
    expect(scriptText('a="</script>";b="</SCRIPT";c="<!--"')).toBe('a="<\\/script>";b="<\\/SCRIPT";c="<\\!--"')
  })

  it('spells out bidi and control characters, redacts secrets and cuts long text', () => {
    expect(cleanText('a\u202Eb\u2066c\u200Bd\u0007e\tf\ng')).toBe('a[U+202E]b[U+2066]c[U+200B]d[U+0007]e\tf\ng')
    expect(cleanText('key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA done')).toBe('key [REDACTED:anthropic-key] done')
    expect(cleanText('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`)
    expect(cleanText(null)).toBe('')
  })

  it('cleans every string and key of nested data', () => {
    expect(cleanDeep({'k\u202E': ['v\u202E', 1, null, {x: 'y\u2069'}]})).toEqual({'k[U+202E]': ['v[U+202E]', 1, null, {x: 'y[U+2069]'}]})
  })
})

describe('min/max envelope downsampling', () => {
  const series = (n: number, f: (i: number) => number) => Array.from({length: n}, (_, i) => ({t: i, v: f(i)}))

  it('returns a short series unchanged', () => {
    const s = series(10, (i) => i)
    expect(envelope(s, 20)).toBe(s)
  })

  it('keeps a one-sample spike that decimation would drop', () => {
    const s = series(10_000, (i) => (i === 4321 ? 2000 : 200 + (i % 7)))
    const every10th = s.filter((_, i) => i % 10 === 0)
    expect(Math.max(...every10th.map((p) => p.v))).toBe(206) // plain decimation hides it
    const out = envelope(s, 500)
    expect(out.length).toBeLessThanOrEqual(500)
    expect(Math.max(...out.map((p) => p.v))).toBe(2000)
    expect(Math.min(...out.map((p) => p.v))).toBe(200)
  })

  it('keeps the first and last points and time order', () => {
    const s = series(5000, (i) => Math.sin(i / 50) * 100)
    const out = envelope(s, 300)
    expect(out[0]).toBe(s[0])
    expect(out.at(-1)).toBe(s.at(-1))
    for (let i = 1; i < out.length; i++) expect(out[i].t).toBeGreaterThanOrEqual(out[i - 1].t)
  })

  it('handles uneven sampling (bursts of 10 ms samples between 5 s gaps)', () => {
    const s: {t: number; v: number}[] = []
    for (let k = 0; k < 100; k++) {
      for (let j = 0; j < 50; j++) s.push({t: k * 5 + j * 0.01, v: k === 60 && j === 25 ? 999 : k})
    }
    const out = envelope(s, 200)
    expect(out.length).toBeLessThanOrEqual(200)
    expect(out.some((p) => p.v === 999)).toBe(true)
  })
})

describe('drill-down size budget', () => {
  it('keeps full detail for the shipped data and shrinks for large stores, within bounds', () => {
    expect(drillBudget(168, 7792)).toEqual({maxPoints: 800, textChars: 160})
    expect(drillBudget(2000, 100_000)).toEqual({maxPoints: 150, textChars: 40})
    expect(drillBudget(100_000, 5_000_000)).toEqual({maxPoints: 120, textChars: 40})
    expect(drillBudget(1, 0)).toEqual({maxPoints: 800, textChars: 160})
  })
})
