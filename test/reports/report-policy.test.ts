/**
 * The policy comparison section: absent without replay results, present (and drawn) when the
 * replay tables hold rows. The replays here are synthetic rows in the replayer's schema.
 */
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {buildReport} from '../../reports/build.js'
import {hasReplays, loadReplay} from '../../reports/data/replay.js'
import {tempDir, writeAttempt} from '../fixtures/recordings.js'
import {artifactDir, HAVE_CHROMIUM, launch, openReport, waitForCharts} from './browser.js'

const POLICIES = ['none', 'static', 'high', 'agentcgroup']
const TENANTS = [['dask', 'high'], ['github3-a', 'low'], ['github3-b', 'low']] as const

async function writeReplays(store: Store): Promise<void> {
  for (const [p, policy] of POLICIES.entries()) {
    for (const repeat of [0, 1]) {
      const id = `paper/${policy}/1770000000000000/${repeat}`
      await store.insertRows('replays', [{policy, repeat_index: repeat, replay_id: id, scenario: 'paper', speed: 50, total_bytes: 1100e6 * 1.048576}])
      const killed = (t: number) => (policy === 'none' && t > 0) || (policy === 'static' && t === 0)
      await store.insertRows('replay_tenants', TENANTS.map(([tenant, priority], t) => ({
        completion_s: killed(t) ? null : 20 + t * 3 + p, end_state: killed(t) ? 'oom_killed' : 'done', priority, replay_id: id, survived: !killed(t), tenant, tenant_index: t,
      })))
      await store.insertRows('replay_allocs', TENANTS.flatMap(([tenant], t) => Array.from({length: 200}, (_, s) => ({
        achieved_bytes: (180 + 300 * Math.abs(Math.sin((s + t * 17) / 15))) * 1e6, end_ms: s * 100 + 5 + (policy === 'agentcgroup' && t > 0 ? 40 : p), replay_id: id, sched_ms: s * 100, start_ms: s * 100, step: s,
        target_bytes: 400e6, tenant,
      }))))
      await store.insertRows('replay_events', [
        {detail: 'parent near limit', kind: policy === 'agentcgroup' ? 'throttle' : 'oom_kill', reaction_ms: 3, replay_id: id, t_ms: 5000, tenant: 'github3-a'},
        {detail: 'pressure passed', kind: 'thaw', reaction_ms: 2, replay_id: id, t_ms: 9000, tenant: 'github3-a'},
      ])
    }
  }
}

describe('policy comparison section', () => {
  let dir: string
  let store: Store

  beforeAll(async () => {
    dir = tempDir('agentcgroup-policy-')
    writeAttempt(join(dir, 'rec', 'mini', 'some_task', 'attempt_1'))
    store = await Store.open(join(dir, 'p.duckdb'))
    await importRecordings(store, {paths: [join(dir, 'rec')]})
  })

  afterAll(() => {
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('is left out while the replay tables are empty', async () => {
    expect(await hasReplays(store)).toBe(false)
    const {stats} = await buildReport(store)
    expect(stats.policy_section).toBe(false)
    expect(stats.sections).not.toContain('policy')
  })

  it('falls back to its own paper-rule figures without analysis results', async () => {
    const {html, stats} = await buildReport(store, {analysis: null})
    expect(stats.analysis).toBe(false)
    expect(stats.charts).toEqual(expect.arrayContaining(['latency', 'burst-attribution', 'cpu-mem']))
    expect(html).toContain('Latency shares computed by the report')
    expect(html).toContain('No analysis results were given')
  })

  it('shows survival, latency, completion, memory per tenant and events once replays exist', async () => {
    await writeReplays(store)
    const data = (await loadReplay(store))!
    expect(data.replays).toBe(8)
    expect(data.tenants.filter((t) => t.policy === 'none' && !t.survived)).toHaveLength(4) // 2 tenants x 2 repeats
    expect(new Set(data.memory.map((m) => m.policy))).toEqual(new Set(POLICIES))
    expect(data.events.filter((e) => e.kind === 'throttle').every((e) => e.policy === 'agentcgroup')).toBe(true)
    const report = await buildReport(store)
    expect(report.stats.sections.at(-1)).toBe('policy')
    expect(report.stats.charts).toEqual(expect.arrayContaining(['policy-survival', 'policy-latency', 'policy-completion', 'policy-memory', 'policy-events']))
    writeFileSync(join(dir, 'report.html'), report.html)
  })

  it.skipIf(!HAVE_CHROMIUM)('draws the policy charts in Chromium', async () => {
    let browser: Browser | undefined
    try {
      browser = await launch()
      const w = await openReport(browser, join(dir, 'report.html'))
      await waitForCharts(w.page)
      const marks = await w.page.$$eval('#policy [data-chart]', (els) => els.map((e) => [e.getAttribute('data-rendered'), e.querySelectorAll('svg g[class^="mark-"] path, svg g.mark-rule line').length]))
      expect(marks).toHaveLength(5)
      for (const [rendered, n] of marks) {
        expect(rendered).toBe('1')
        expect(n).toBeGreaterThan(0)
      }
      expect(w.requests).toEqual([])
      expect(w.consoleErrors).toEqual([])
      expect(w.consoleWarnings).toEqual([])
      expect(w.pageErrors).toEqual([])
      await w.page.addStyleTag({content: 'nav.toc { position: static !important; }'})
      await w.page.locator('section#policy').screenshot({path: join(artifactDir(), 'policy.png')})
    } finally {
      await browser?.close()
    }
  })
})
