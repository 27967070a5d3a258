/**
 * The report of the paper's shipped data, opened in a real headless Chromium with the network
 * cut: no request leaves the page, every chart draws marks, nothing logs an error, and the
 * run selector changes the plotted run. Screenshots of every section are saved (artifactDir())
 * for a person to look at.
 */
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {join} from 'node:path'
import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {buildReport, BuiltReport} from '../../reports/build.js'
import {PAPER_DATA, tempDir} from '../fixtures/recordings.js'
import {artifactDir, HAVE_CHROMIUM, launch, openReport, waitForCharts, Watched} from './browser.js'

const HAVE_DATA = existsSync(join(PAPER_DATA, 'all_images_haiku'))

describe.skipIf(!HAVE_DATA || !HAVE_CHROMIUM)('report of the shipped data in headless Chromium', () => {
  let dir: string
  let store: Store
  let report: BuiltReport
  let browser: Browser
  let w: Watched
  const file = () => join(dir, 'report.html')

  beforeAll(async () => {
    dir = tempDir('agentcgroup-report-')
    store = await Store.open(join(dir, 'paper.duckdb'))
    await importRecordings(store, {paths: [PAPER_DATA]})
    report = await buildReport(store)
    writeFileSync(file(), report.html)
    browser = await launch()
    w = await openReport(browser, file())
    await waitForCharts(w.page)
  })

  afterAll(async () => {
    await browser?.close()
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('stays within budget: under 5 MB of HTML, built in under 3 s', async () => {
    expect(report.stats.runs).toBe(184)
    expect(report.stats.bytes).toBeLessThan(5e6)
    // from the warm store, as the benchmark measures; the best of five absorbs a busy machine
    const wall: number[] = []
    const cpu: number[] = []
    for (let i = 0; i < 5 && !wall.some((t) => t < 3); i++) {
      const c0 = process.cpuUsage()
      wall.push((await buildReport(store)).stats.build_s)
      const c = process.cpuUsage(c0)
      cpu.push((c.user + c.system) / 1e6)
    }
    // on a machine running several times more work than it has cores, the wall clock measures
    // the neighbours: then the report's own CPU time must fit the budget
    const overloaded = loadavg()[0] > 2 * availableParallelism()
    if (overloaded && Math.min(...wall) >= 3) console.warn(`report budget: machine overloaded (load ${loadavg()[0].toFixed(1)}), wall ${Math.min(...wall).toFixed(2)} s, checking CPU time ${Math.min(...cpu).toFixed(2)} s`)
    expect(overloaded ? Math.min(...cpu) : Math.min(...wall)).toBeLessThan(3)
  })

  it('makes no network request and logs no error', () => {
    expect(w.requests).toEqual([])
    expect(w.pageErrors).toEqual([])
    expect(w.consoleErrors).toEqual([])
    expect(w.consoleWarnings).toEqual([])
    expect(w.dialogs).toEqual([])
  })

  it('draws its text with the inlined font', async () => {
    const fonts = await w.page.evaluate(() => [...document.fonts].filter((f) => f.family.replace(/['"]/g, '') === 'Report Sans').map((f) => `${f.weight}:${f.status}`))
    expect(fonts.sort()).toEqual(['400:loaded', '700:loaded'])
  })

  it('draws every chart as SVG with marks', async () => {
    const charts = await w.page.$$eval('[data-chart], #drill-chart', (els) =>
      els.map((e) => ({id: e.getAttribute('data-chart') ?? e.id, marks: e.querySelectorAll('svg g.mark-rect path, svg g.mark-symbol path, svg g.mark-line path, svg g.mark-area path, svg g.mark-rule line, svg g.mark-text text').length, rendered: e.getAttribute('data-rendered'), svg: e.querySelectorAll('svg').length})),
    )
    expect(charts.map((c) => c.id).sort()).toEqual([...report.stats.charts, 'drill-chart'].sort())
    for (const c of charts) {
      expect(c, c.id).toMatchObject({rendered: '1'})
      expect(c.svg, c.id).toBeGreaterThan(0)
      expect(c.marks, c.id).toBeGreaterThan(0)
    }
  })

  it('exports a chart as SVG for slides, offline', async () => {
    const chart = w.page.locator('[data-chart="latency"]')
    await chart.scrollIntoViewIfNeeded()
    await chart.locator('details > summary').click()
    const [download] = await Promise.all([w.page.waitForEvent('download'), chart.locator('a', {hasText: 'SVG'}).click()])
    const svg = readFileSync(await download.path(), 'utf8')
    expect(svg).toMatch(/^<svg/)
    expect(svg).toContain('container init')
    expect(w.requests).toEqual([])
  })

  it('changes the plotted run when another run is selected', async () => {
    const before = await w.page.$eval('#drill-chart', (e) => ({run: e.getAttribute('data-run'), svg: e.querySelector('svg')!.innerHTML.length}))
    const options = await w.page.$$eval('#run-select option', (os) => os.map((o) => (o as HTMLOptionElement).value))
    expect(options.length).toBe(report.stats.drill_runs)
    const current = await w.page.$eval('#run-select', (s) => (s as HTMLSelectElement).value)
    const other = options.find((o) => o !== current)!
    await w.page.selectOption('#run-select', other)
    await w.page.waitForFunction((prev) => {
      const e = document.querySelector('#drill-chart')!
      return e.getAttribute('data-rendered') === '1' && e.getAttribute('data-run') !== prev
    }, before.run)
    const after = await w.page.$eval('#drill-chart', (e) => ({meta: document.querySelector('#drill-meta')!.textContent, run: e.getAttribute('data-run'), svg: e.querySelector('svg')!.innerHTML}))
    expect(after.run).not.toBe(before.run)
    expect(after.meta).toContain(after.run)
    expect(after.svg.length).not.toBe(before.svg)
    await w.page.selectOption('#run-select', current)
    await w.page.waitForFunction((prev) => document.querySelector('#drill-chart')!.getAttribute('data-run') === prev, before.run)
  })

  it('zooms every drill-down panel together from the memory panel (one time axis)', async () => {
    // the time axis labels (bottom panel) and the CPU line (another panel) both follow a zoom on memory
    const state = () =>
      w.page.evaluate(() => {
        const axes = [...document.querySelectorAll('#drill-chart svg g[aria-label^="X-axis"]')]
        const labels = [...axes.at(-1)!.querySelectorAll('g.role-axis-label text')].map((t) => t.textContent).join(',')
        const lines = [...document.querySelectorAll('#drill-chart svg g.mark-line path')].map((p) => p.getAttribute('d') ?? '')
        return {cpuLine: lines[1], labels, panels: axes.length}
      })
    const before = await state()
    expect(before.panels).toBeGreaterThanOrEqual(4) // memory, CPU, tool calls, LLM turns
    const area = w.page.locator('#drill-chart svg g.mark-area path').first()
    await area.scrollIntoViewIfNeeded()
    const box = (await area.boundingBox())!
    await w.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
    await w.page.mouse.wheel(0, -500)
    await w.page.waitForFunction((b) => {
      const axes = [...document.querySelectorAll('#drill-chart svg g[aria-label^="X-axis"]')]
      return [...axes.at(-1)!.querySelectorAll('g.role-axis-label text')].map((t) => t.textContent).join(',') !== b
    }, before.labels)
    const zoomed = await state()
    expect(zoomed.labels).not.toBe(before.labels)
    expect(zoomed.cpuLine).not.toBe(before.cpuLine)
    // the reset button shows the whole run again
    await w.page.click('#zoom-reset')
    await w.page.waitForFunction((b) => {
      const axes = [...document.querySelectorAll('#drill-chart svg g[aria-label^="X-axis"]')]
      return [...axes.at(-1)!.querySelectorAll('g.role-axis-label text')].map((t) => t.textContent).join(',') === b
    }, before.labels)
  })

  it('saves a screenshot of every section', async () => {
    const out = artifactDir()
    mkdirSync(out, {recursive: true})
    // the sticky navigation bar would cover the top of each section in its screenshot
    await w.page.addStyleTag({content: 'nav.toc, table.data th { position: static !important; }'})
    const ids = await w.page.$$eval('section.report', (s) => s.map((x) => x.id))
    expect(ids).toEqual(report.stats.sections)
    for (const id of ids) await w.page.locator(`section#${id}`).screenshot({path: join(out, `${id}.png`)})
    expect(existsSync(join(out, 'drilldown.png'))).toBe(true)
  })
})
