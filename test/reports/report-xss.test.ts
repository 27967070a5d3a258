/**
 * An XSS corpus: recordings whose command, task name, model and transcript hold `</script>`,
 * `<img src=x onerror=...>`, `javascript:` URLs, unicode bidi controls and a secret. The
 * report must show them as text, run none of them, and never contain the secret.
 */
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {buildReport} from '../../reports/build.js'
import {rampSamples, resultsJson, tempDir, TranscriptBuilder, writeAttempt} from '../fixtures/recordings.js'
import {HAVE_CHROMIUM, launch, openReport, waitForCharts, Watched} from './browser.js'

const SECRET = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'
const PAYLOAD = `</script><script>window.__pwned='script'</script><img src=x onerror="window.__pwned='img'"> <a href="javascript:window.__pwned='href'">x</a> \u202Etxt.exe\u202C \u2066iso\u2069`
const FOLDER = `evil <img src=x onerror=alert(1)> javascript:alert(2) \u202Ecod.exe`

function hostileTranscript(): TranscriptBuilder {
  return new TranscriptBuilder()
    .prompt(0, `Fix: ${PAYLOAD}`)
    .toolUse(3, 'toolu_evil1', 'Bash', {command: `echo '${PAYLOAD}' && ANTHROPIC_API_KEY=${SECRET} pytest -x`, description: PAYLOAD})
    .toolResult(20, 'toolu_evil1', `out ${PAYLOAD}`)
    .toolUse(22, 'toolu_evil2', `Read${PAYLOAD}`, {file_path: `/testbed/${PAYLOAD}`})
    .toolResult(22.5, 'toolu_evil2', PAYLOAD)
    .toolUse(30, 'toolu_evil3', 'Bash', {command: `git diff -- "javascript:alert(3)" ${SECRET}`, description: 'diff'})
    .toolResult(45, 'toolu_evil3', 'ok')
    .text(60, PAYLOAD)
}

describe('the report escapes everything from a recording', () => {
  let dir: string
  let store: Store
  let html: string

  beforeAll(async () => {
    dir = tempDir('agentcgroup-xss-')
    // the same hostile task in two datasets, so the cross-model chart prints its name as an axis label
    for (const ds of ['evil_a', 'evil_b']) {
      writeAttempt(join(dir, 'rec', ds, FOLDER, 'attempt_1'), {
        results: resultsJson({image: 'localhost/evil:latest', model: `haiku ${PAYLOAD}`}),
        samples: rampSamples(80, {exitZero: 1}),
        transcript: hostileTranscript(),
      })
    }
    store = await Store.open(join(dir, 'xss.duckdb'))
    await importRecordings(store, {paths: [join(dir, 'rec')]})
    // names that no folder can hold (a slash): put them in the store directly
    await store.query('UPDATE runs SET task_id = $t, model_actual = $m', {m: `model ${PAYLOAD}`, t: `task ${PAYLOAD}`})
    // a kernel event and a process, so the drill-down draws those panels with hostile text too
    const t0 = '(SELECT min(t_us) FROM samples s WHERE s.run_id = runs.run_id)'
    await store.query(`INSERT INTO events (run_id, t_us, kind, detail) SELECT run_id, ${t0} + 30000000, 'oom_kill', $d FROM runs`, {d: `killed ${PAYLOAD}`})
    await store.query(
      `INSERT INTO processes (run_id, pid, ppid, comm, argv, start_us, end_us, peak_rss_bytes) SELECT run_id, 4242, 1, $c, $a, ${t0} + 5000000, ${t0} + 20000000, 300000000 FROM runs`,
      {a: `python -c "${PAYLOAD}" ${SECRET}`, c: 'py<img src=x>'},
    )
    html = (await buildReport(store)).html
    writeFileSync(join(dir, 'report.html'), html)
  })

  afterAll(() => {
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('stored the hostile strings (the corpus is real)', async () => {
    const rows = await store.query("SELECT count(*)::INTEGER AS n FROM tool_calls WHERE command LIKE '%</script>%'")
    expect(rows[0].n).toBeGreaterThan(0)
  })

  it('contains no markup from the recording and no secret', () => {
    const scripts = html.match(/<script\b/gi) ?? []
    expect(scripts.length).toBe(5) // the data element, three runtimes, the page script
    // everything but our own scripts (vega-embed's source holds an "<img" template of its own)
    const page = html.replace(/<script>[\s\S]*?<\/script>/g, '')
    expect(page).toContain('id="report-data"')
    expect(page).not.toContain('<img')
    expect(page).not.toContain('onerror="window')
    expect(html).not.toContain('</script><script>window')
    expect(html).not.toContain('\u202E')
    expect(html).not.toContain('\u2066')
    expect(html).not.toContain(SECRET)
    expect(html).not.toContain('AbCdEfGhIjKlMnOp')
  })

  it.skipIf(!HAVE_CHROMIUM)('renders the strings as text in Chromium and runs none of them', async () => {
    let browser: Browser | undefined
    try {
      browser = await launch()
      const w: Watched = await openReport(browser, join(dir, 'report.html'))
      await waitForCharts(w.page)
      const state = await w.page.evaluate(() => ({
        charts: [...document.querySelectorAll('[data-chart], #drill-chart')].map((e) => e.getAttribute('data-rendered')),
        imgs: document.querySelectorAll('img').length,
        jsLinks: document.querySelectorAll('a[href^="javascript:"], [href*="javascript:"]').length,
        meta: document.querySelector('#drill-meta')?.textContent ?? '',
        onerror: document.querySelectorAll('[onerror]').length,
        option: document.querySelector('#run-select option')?.textContent ?? '',
        pwned: (window as unknown as {__pwned?: string}).__pwned ?? null,
        scripts: document.querySelectorAll('script').length,
        panels: [...document.querySelectorAll('#drill-chart svg text')].map((t) => t.textContent).filter((t) => t === 'processes' || t === 'OOM and throttle events'),
        svgText: [...document.querySelectorAll('[data-chart="across-models"] svg text')].map((t) => t.textContent).join('\n'),
      }))
      expect(state.pwned).toBeNull()
      expect(w.dialogs).toEqual([])
      expect(state.imgs).toBe(0)
      expect(state.onerror).toBe(0)
      expect(state.jsLinks).toBe(0)
      expect(state.scripts).toBe(5)
      expect(state.charts.every((c) => c === '1')).toBe(true)
      expect(state.panels).toEqual(['processes', 'OOM and throttle events'])
      // shown as text: the markup is visible, bidi controls are spelled out
      expect(state.meta).toContain('</script><script>')
      expect(state.meta).toContain('[U+202E]')
      expect(state.option).toContain('<img src=x onerror=')
      expect(state.svgText).toContain('task </script>')
      // vega's tooltip shows the command: as text
      // the widest span of the tool-call lane (the memory panel's area lies over its shading)
      const spans = w.page.locator('#drill-chart svg g.mark-rect').nth(1).locator('path')
      const widths = await spans.evaluateAll((ps) => ps.map((p) => (p as SVGGraphicsElement).getBBox().width))
      await spans.nth(widths.indexOf(Math.max(...widths))).hover()
      await w.page.waitForSelector('.vg-tooltip.visible', {timeout: 5000})
      const tip = await w.page.$eval('.vg-tooltip', (e) => ({html: e.innerHTML, imgs: e.querySelectorAll('img, script, a').length, text: e.textContent ?? ''}))
      expect(tip.text).toContain('<img src=x')
      expect(tip.imgs).toBe(0)
      await w.page.screenshot({fullPage: false, path: join(process.env.AGENTCGROUP_ARTIFACTS ?? join(process.cwd(), 'test-artifacts', 'report'), 'xss-tooltip.png')}).catch(() => undefined)
      expect(w.requests).toEqual([])
      expect(w.pageErrors).toEqual([])
      expect(w.consoleErrors).toEqual([])
      expect(w.consoleWarnings).toEqual([])
    } finally {
      await browser?.close()
    }
  })
})
