/**
 * Headless Chromium for the report tests: Debian's /usr/bin/chromium driven by playwright-core
 * (never a downloaded browser), with a fresh temporary profile per launch (playwright's own). Every request that is not the report file itself is aborted
 * and recorded, page errors and console errors are collected, and dialogs (alert/confirm/
 * prompt, the XSS tell-tale) are recorded and dismissed.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Browser, chromium, Page} from 'playwright-core'

export const CHROMIUM = process.env.AGENTCGROUP_CHROMIUM ?? '/usr/bin/chromium'
export const HAVE_CHROMIUM = existsSync(CHROMIUM)

export interface Watched {
  page: Page
  requests: string[]
  consoleErrors: string[]
  /** vega logs spec problems (dropped sorts, bad scales) as warnings */
  consoleWarnings: string[]
  pageErrors: string[]
  dialogs: string[]
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    executablePath: CHROMIUM,
  })
}

/** Opens the report file with every other request blocked and counted. */
export async function openReport(browser: Browser, file: string, viewport = {height: 1000, width: 1400}): Promise<Watched> {
  const context = await browser.newContext({viewport})
  const page = await context.newPage()
  const self = pathToFileURL(file).href
  const w: Watched = {consoleErrors: [], consoleWarnings: [], dialogs: [], page, pageErrors: [], requests: []}
  await context.route('**/*', (route) => {
    const url = route.request().url()
    if (url === self) return route.continue()
    w.requests.push(url)
    return route.abort()
  })
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text())
    if (m.type() === 'warning') w.consoleWarnings.push(m.text())
  })
  page.on('pageerror', (e) => w.pageErrors.push(String(e)))
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`)
    void d.dismiss()
  })
  await page.goto(self)
  return w
}

/** Waits until every chart container (and the drill-down) reports rendered or error. */
export async function waitForCharts(page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-chart], #drill-chart')].every((el) => ['1', 'error'].includes(el.getAttribute('data-rendered') ?? '')),
    undefined,
    {polling: 100, timeout},
  )
}

/** Where screenshots go: $AGENTCGROUP_ARTIFACTS, else test-artifacts/ (gitignored). */
export function artifactDir(): string {
  return process.env.AGENTCGROUP_ARTIFACTS ?? join(process.cwd(), 'test-artifacts', 'report')
}
