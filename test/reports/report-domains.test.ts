/**
 * The drill-down of a live AgentCgroup run (run-benchmark --control agentcgroup): its tool calls
 * ran in their own cgroups (matched to the transcript by collector/domains/match.ts) and the
 * controller throttled, froze and killed some. The page shows the policy and limits in the run
 * header, a table and a bar chart of the calls' cgroups, and the controller's events on the
 * memory panel; an imported run beside it looks as before.
 */
import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Browser} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {applyDomains, type DomainRecord} from '../../collector/domains/match.js'
import {importRecordings} from '../../datasets/import/importer.js'
import {emptyRunRecord, type RunRecord, type ToolCallRow} from '../../datasets/model.js'
import {Store} from '../../datasets/store.js'
import {buildReport, type BuiltReport} from '../../reports/build.js'
import {loadDrilldown} from '../../reports/data/drilldown.js'
import {loadSamples} from '../../reports/data/samples.js'
import {makeScope} from '../../reports/data/scope.js'
import {T0, tempDir, writeAttempt} from '../fixtures/recordings.js'
import {artifactDir, HAVE_CHROMIUM, launch, openReport, waitForCharts, type Watched} from './browser.js'

const RUN = 'live/demo-blobsum/attempt_1'
const S = 1e6
const t0 = (T0 + 1000) * S
const wrap = (cmd: string) => `source /cc-home/.claude/shell-snapshots/snapshot-bash-1-x.sh 2>/dev/null || true && eval '${cmd.replaceAll("'", `'"'"'`)}' < /dev/null && pwd -P >| /tmp/claude-1-cwd`

function liveRun(): RunRecord {
  const r = emptyRunRecord({
    agent: 'claude-code',
    attempt: 1,
    control: 'agentcgroup',
    dataset: 'live',
    ended_at_us: t0 + 80 * S,
    kind: 'agent',
    layout: 'attempt',
    memory_limit_bytes: 1024e6,
    node_memory_bytes: 2048e6,
    run_id: RUN,
    runtime: 'podman',
    source_path: '/runs/live',
    started_at_us: t0,
    status: 'done',
    task_id: 'demo-blobsum',
    valid: true,
  })
  r.samples = Array.from({length: 80}, (_, i) => ({mem_bytes: (200 + (i > 20 && i < 50 ? 500 : 0) + i) * 1e6, source: 'cgroupfs', t_us: t0 + i * S, cpu_pct: 30}))
  const call = (seq: number, command: string, start: number, end: number): ToolCallRow => ({
    call_id: `toolu_0${seq}`, command, end_us: t0 + end * S, is_sidechain: false, seq, source: 'transcript', start_us: t0 + start * S, tool: 'Bash',
  })
  r.toolCalls = [
    call(0, "find . -name '*.c' | sort", 5, 7),
    call(1, 'make -s test', 20, 52),
    {...call(2, '', 53, 54), command: null, tool: 'Read'},
    call(3, 'git diff', 60, 61),
  ]
  let seq = 0
  const domain = (argv: string[], start: number, end: number, m: Partial<DomainRecord> = {}): DomainRecord => ({
    argv, cpuUsec: 250_000, endUs: t0 + end * S, exitCode: 0, frozenMs: 0, name: `tool-${seq++}`, oomKills: 0, peakMemBytes: 40e6, startUs: t0 + start * S, throttledMs: 0, ...m,
  })
  const domains = [
    domain(['-c', '-l', 'SNAPSHOT_FILE=/cc-home/.claude/shell-snapshots/snapshot-bash-1-x.sh\n      echo "# Snapshot file" >| "$SNAPSHOT_FILE"'], 5.1, 5.6, {peakMemBytes: 6e6}),
    domain(['-c', wrap("find . -name '*.c' | sort")], 5.7, 6.8, {peakMemBytes: 12e6}),
    domain(['-c', wrap('make -s test')], 20.2, 51.8, {cpuUsec: 41_500_000, exitCode: 137, frozenMs: 4000, oomKills: 1, peakMemBytes: 512e6, throttledMs: 2500}),
    domain(['-c', wrap('git diff')], 60.1, 60.7, {peakMemBytes: 9e6}),
  ]
  r.toolCalls.push(...applyDomains(r.toolCalls, domains, {runId: RUN}))
  r.llmTurns = [[1, 4.9], [7.2, 19.9], [52.1, 52.9], [54.1, 59.9], [61.2, 64]].map(([s, e], turn) => ({
    end_us: t0 + e * S, input_tokens: 1200 + turn * 300, is_sidechain: false, model: 'claude-haiku-4-5', output_tokens: 90, start_us: t0 + s * S, turn,
  }))
  const ev = (t: number, kind: string, d: string) => ({detail: JSON.stringify({domain: d, reason: 'node memory above 90 %'}), kind, t_us: t0 + t * S})
  r.events = [ev(25, 'throttle', 'tool-2'), ev(30, 'freeze', 'tool-2'), ev(34, 'thaw', 'tool-2'), ev(36, 'unthrottle', 'tool-2'), ev(50, 'oom_kill', 'tool-2'), ev(51, 'kill', 'tool-2')]
  return r
}

describe('drill-down of a run with tool-call cgroups and controller events', () => {
  let dir: string
  let store: Store
  let report: BuiltReport

  beforeAll(async () => {
    dir = tempDir('agentcgroup-domains-')
    writeAttempt(join(dir, 'rec', 'mini', 'some_task', 'attempt_1'))
    store = await Store.open(join(dir, 'd.duckdb'))
    await importRecordings(store, {paths: [join(dir, 'rec')]})
    await store.replaceRun(liveRun())
    report = await buildReport(store, {analysis: null})
    writeFileSync(join(dir, 'report.html'), report.html)
  })

  afterAll(() => {
    store?.close()
    if (dir) rmSync(dir, {force: true, recursive: true})
  })

  it('carries the policy, limits, measured tool calls and event cgroups in the drill-down data', async () => {
    const scope = makeScope({})
    const drill = await loadDrilldown(store, scope, await loadSamples(store, scope))
    const live = drill.find((r) => r.meta.run_id === RUN)!
    expect(live.meta).toMatchObject({control: 'agentcgroup', memory_limit_mb: 1024, node_memory_mb: 2048})
    expect(live.domains.map((d) => [d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9]])).toEqual([
      ['tool-0', expect.stringMatching(/^SNAPSHOT_FILE=/), 6, 0.25, 0, 0, 0, 'domain'],
      ['tool-1', "find . -name '*.c' | sort", 12, 0.25, 0, 0, 0, 'transcript'],
      ['tool-2', 'make -s test', 512, 41.5, 2.5, 4, 1, 'transcript'],
      ['tool-3', 'git diff', 9, 0.25, 0, 0, 0, 'transcript'],
    ])
    expect(live.events.map((e) => [e[1], e[3]])).toEqual([['throttle', 'tool-2'], ['freeze', 'tool-2'], ['thaw', 'tool-2'], ['unthrottle', 'tool-2'], ['oom_kill', 'tool-2'], ['kill', 'tool-2']])
    const imported = drill.find((r) => r.meta.run_id !== RUN)!
    expect(imported.meta).toMatchObject({control: null, memory_limit_mb: null, node_memory_mb: null})
    expect(imported.domains).toEqual([])
  })

  it.skipIf(!HAVE_CHROMIUM)('shows them in Chromium: header, table, bars, event marks; the imported run as before', async () => {
    let browser: Browser | undefined
    try {
      browser = await launch()
      const w: Watched = await openReport(browser, join(dir, 'report.html'))
      await waitForCharts(w.page)
      const options = await w.page.$$eval('#run-select option', (os) => os.map((o) => ({text: o.textContent ?? '', value: (o as HTMLOptionElement).value})))
      const pick = async (task: string) => {
        const value = options.find((o) => o.text.includes(task))!.value
        const runId = task === 'demo-blobsum' ? RUN : (await store.query('SELECT run_id FROM runs WHERE run_id <> $id', {id: RUN}))[0].run_id
        await w.page.selectOption('#run-select', value)
        await w.page.waitForFunction(
          (run) => {
            const chart = document.querySelector('#drill-chart')!
            const dom = document.querySelector('#drill-domains-chart')
            const box = document.querySelector('#drill-domains') as HTMLElement | null
            return chart.getAttribute('data-rendered') === '1' && chart.getAttribute('data-run') === run && (box?.hidden || dom?.getAttribute('data-rendered') === '1')
          },
          runId,
        )
      }

      await pick('demo-blobsum')
      const live = await w.page.evaluate(() => ({
        boxHidden: (document.querySelector('#drill-domains') as HTMLElement).hidden,
        controlMarks: [...document.querySelectorAll('#drill-chart svg g.control_marks_marks > *')].map((m) => m.getAttribute('aria-label') ?? ''),
        domainBars: document.querySelectorAll('#drill-domains-chart svg g.domain_bars_marks > path').length,
        header: [...document.querySelectorAll('#drill-domains-table thead th')].map((t) => t.textContent),
        meta: document.querySelector('#drill-meta')!.textContent ?? '',
        rows: [...document.querySelectorAll('#drill-domains-table tbody tr')].map((tr) => ({cells: [...tr.querySelectorAll('td')].map((td) => td.textContent), className: tr.className, domain: tr.getAttribute('data-domain')})),
        title: [...document.querySelectorAll('#drill-chart svg text')].some((t) => t.textContent === 'memory, with tool calls shaded and controller events marked'),
      }))
      expect(live.meta).toContain('control: agentcgroup')
      expect(live.meta).toContain('node budget 2,048 MB')
      expect(live.meta).toContain('agent limit 1,024 MB')
      expect(live.meta).toContain('4 tool calls in their own cgroup')
      expect(live.boxHidden).toBe(false)
      expect(live.header).toEqual(['cgroup', 'command', 'start s', 'duration s', 'peak memory', 'CPU s', 'throttled s', 'frozen s', 'OOM kills'])
      expect(live.rows.map((r) => r.domain)).toEqual(['tool-0', 'tool-1', 'tool-2', 'tool-3'])
      const make = live.rows[2]
      expect(make.cells).toEqual(['tool-2', 'make -s test', '20.00', '32.00', '512 MB', '41.50', '2.50', '4.00', '1'])
      expect(make.className).toBe('held oom')
      expect(live.rows[0].cells[1]).toContain('(no transcript call)')
      expect(live.domainBars).toBe(4)
      expect(live.title).toBe(true)
      // one rule per controller event across the memory panel, each naming its kind and cgroup
      expect(live.controlMarks).toHaveLength(6)
      expect(live.controlMarks.find((l) => /kind: freeze/.test(l))).toMatch(/tool-2/)

      await w.page.locator('#drill-domains').screenshot({path: join(artifactDir(), 'drilldown-domains.png')}).catch(() => undefined)
      await w.page.locator('#drill-chart').screenshot({path: join(artifactDir(), 'drilldown-control-events.png')}).catch(() => undefined)

      await pick('mini /')
      const imported = await w.page.evaluate(() => ({
        boxHidden: (document.querySelector('#drill-domains') as HTMLElement).hidden,
        controlMarks: document.querySelectorAll('#drill-chart svg g.control_marks_marks > *').length,
        meta: document.querySelector('#drill-meta')!.textContent ?? '',
        rows: document.querySelectorAll('#drill-domains-table tbody tr').length,
      }))
      expect(imported).toEqual({boxHidden: true, controlMarks: 0, meta: expect.not.stringContaining('control:'), rows: 0})
      expect(w.requests).toEqual([])
      expect(w.pageErrors).toEqual([])
      expect(w.consoleErrors).toEqual([])
      expect(w.consoleWarnings).toEqual([])
    } finally {
      await browser?.close()
    }
  })
})
