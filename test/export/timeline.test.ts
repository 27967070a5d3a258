/**
 * `agentcgroup timeline`: the Perfetto / Chrome trace of one run is valid Trace Event Format
 * (trace-format.ts), holds every process, tool call, LLM turn and event of the run on the
 * run's absolute clock, and draws overlapping calls on lanes where they nest.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {TimelineResult} from '../../cli/commands/timeline.js'
import {buildTrace, loadTimelineData, packLanes} from '../../datasets/export/timeline.js'
import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {PAPER_DATA, T0, tempDir} from '../fixtures/recordings.js'
import {buildStore, cleanup, edgeRecord} from './helpers.js'
import {type Ev, traceProblems} from './trace-format.js'

const dirs: string[] = []
afterAll(() => cleanup(dirs))

const RUN = 'edge/tricky__values-1/attempt_1'

describe('timeline of a run with processes, overlapping calls and kernel events', () => {
  let dir: string
  let db: string
  let events: Ev[]

  beforeAll(async () => {
    dir = tempDir()
    dirs.push(dir)
    db = join(dir, 'store.duckdb')
    await buildStore(db, join(dir, 'recordings'))
    const out = join(dir, 'run.perfetto.json')
    const {error, stdout} = await runCommand(['timeline', RUN, '--db', db, '--out', out, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as TimelineResult
    expect(result).toMatchObject({instants: 5, llm_turns: 3, out, processes: 3, run_id: RUN, tool_calls: 9})
    const doc = JSON.parse(readFileSync(out, 'utf8'))
    expect(traceProblems(doc)).toEqual([])
    events = doc.traceEvents as Ev[]
  })

  it('holds every process as its own track, exec to exit, with argv and pid', () => {
    const rec = edgeRecord(RUN)
    const procs = events.filter((e) => e.cat === 'process')
    expect(procs.map((p) => p.args!.pid).sort()).toEqual(rec.processes.map((p) => p.pid).sort())
    expect(new Set(procs.map((p) => p.tid)).size).toBe(procs.length)
    const python = procs.find((p) => p.args!.pid === 4243)!
    expect(python).toMatchObject({args: {argv: 'python -m pytest\n-x', call_id: 'toolu_0', exit_code: 1, ppid: 4242}, dur: 2.8e6, name: 'python', ts: T0 * 1e6 + 10.1e6})
    // no exit recorded: drawn to the run's end and said so
    const sleep = procs.find((p) => p.args!.pid === 4300)!
    expect(sleep.ts + sleep.dur!).toBe(T0 * 1e6 + 60e6)
    expect(sleep.args!.note).toMatch(/no end recorded/)
    const names = events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name)
    expect(names).toEqual(expect.arrayContaining(['bash [4242]', 'python [4243]', 'sleep [4300]', 'agent', 'phases']))
  })

  it('holds every tool call and LLM turn as slices on the agent tracks, at their stored times', () => {
    const rec = edgeRecord(RUN)
    const agentTids = new Set(events.filter((e) => e.ph === 'M' && String(e.args?.name).startsWith('agent')).map((e) => e.tid))
    const calls = events.filter((e) => e.cat === 'tool_call')
    expect(calls.map((c) => c.args!.call_id).sort()).toEqual(rec.toolCalls.map((c) => c.call_id).sort())
    for (const c of rec.toolCalls) {
      const ev = calls.find((e) => e.args!.call_id === c.call_id)!
      expect(ev).toMatchObject({dur: c.end_us! - c.start_us!, name: c.tool, ts: c.start_us})
      expect(agentTids.has(ev.tid)).toBe(true)
    }
    // a call measured in its own cgroup carries what the cgroup measured; one without has none of it
    expect(calls.find((e) => e.args!.call_id === 'toolu_2')!.args).toMatchObject({domain: 'tool-2', frozen_ms: 2501, oom_kills: 1, throttled_ms: 0.5})
    expect(calls.find((e) => e.args!.call_id === 'toolu_3')!.args).not.toHaveProperty('domain')
    expect(events.filter((e) => e.cat === 'llm_turn' && agentTids.has(e.tid)).map((e) => e.name)).toEqual(['LLM turn 0', 'LLM turn 1', 'LLM turn 2'])
    // LLM turn 1 (16-18 s) and the call at 14-17 s overlap without nesting: two lanes
    expect(agentTids.size).toBe(2)
  })

  it('draws memory and CPU as counters and kernel events as instants, on the absolute clock', () => {
    const mem = events.filter((e) => e.ph === 'C' && e.name === 'memory')
    expect(mem).toHaveLength(40)
    expect(mem[0]).toMatchObject({args: {bytes: 2e8}, ts: T0 * 1e6})
    // cumulative cpu_usec becomes a rate: 0.7 s of CPU per 1.5 s = 46.67 % of one core
    const cpu = events.filter((e) => e.ph === 'C' && e.name === 'cpu')
    expect(cpu).toHaveLength(39)
    expect(cpu[0].args!.pct).toBeCloseTo(46.667, 2)
    expect(events.filter((e) => e.ph === 'C' && e.name === 'memory limit')).toHaveLength(40)
    const instants = events.filter((e) => e.ph === 'i')
    expect(instants.map((e) => [e.name, e.ts - T0 * 1e6])).toEqual([['oom_kill', 12.9e6], ['throttle', 20e6], ['freeze', 21e6], ['thaw', 24e6], ['kill', 25e6]])
    const xs = events.filter((e) => e.ph !== 'M').map((e) => e.ts)
    expect(Math.min(...xs)).toBe(T0 * 1e6)
  })

  it('names the run and its clock', () => {
    const proc = events.find((e) => e.ph === 'M' && e.name === 'process_name')!
    expect(proc.args!.name).toBe(`run ${RUN}`)
  })

  it('keeps counters strictly increasing when samples share a timestamp', async () => {
    const store = await Store.open(db, {readOnly: true})
    const data = (await loadTimelineData(store, RUN))!
    store.close()
    data.samples.splice(5, 0, {...data.samples[5], mem_bytes: 1})
    const doc = buildTrace(data)
    expect(traceProblems(doc)).toEqual([])
    expect(doc.traceEvents.filter((e) => e.name === 'memory')).toHaveLength(40)
  })

  it('says which run ids exist when the one given is not there', async () => {
    const {error, stderr} = await runCommand(['timeline', 'tricky__values-1', '--db', db, '--out', join(dir, 'x.json')], {root: process.cwd()})
    expect(error?.oclif?.exit).toBe(1)
    expect(stderr.trim()).toMatch(/no run tricky__values-1 \(did you mean edge\/tricky__values-1\/attempt_1\?\)/)
    expect(existsSync(join(dir, 'x.json'))).toBe(false)
  })
})

describe('lane packing', () => {
  it('puts every slice on a lane where slices nest or follow each other, deterministically', () => {
    // a fixed pseudo-random set: parallel calls, sub-agent calls inside a Task, zero-length calls
    let seed = 7
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const slices = Array.from({length: 300}, (_, i) => {
      const start = Math.floor(rnd() * 1000)
      return {end: start + (i % 10 === 0 ? 0 : Math.floor(rnd() * 200)), id: i, start}
    })
    const placed = packLanes(slices)
    expect(placed.map((p) => p.slice.id).sort((a, b) => a - b)).toEqual(slices.map((s) => s.id))
    const doc = {traceEvents: [
      ...[...new Set(placed.map((p) => p.lane))].map((lane) => ({args: {name: `lane ${lane}`}, name: 'thread_name', ph: 'M', pid: 1, tid: lane, ts: 0})),
      ...placed.map((p) => ({dur: p.slice.end - p.slice.start, name: `s${p.slice.id}`, ph: 'X', pid: 1, tid: p.lane, ts: p.slice.start})),
    ]}
    expect(traceProblems(doc)).toEqual([])
    expect(packLanes(slices)).toEqual(placed)
  })
})

const HAVE_DATA = existsSync(join(PAPER_DATA, 'all_images_haiku'))

describe.skipIf(!HAVE_DATA)('timeline of a paper run with sub-agent calls', () => {
  it('is valid and holds all 77 tool calls of beeware__briefcase-2212 (52 by sub-agents)', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const store = await Store.open(join(dir, 'paper.duckdb'))
    await importRecordings(store, {paths: [join(PAPER_DATA, 'all_images_haiku', 'beeware__briefcase-2212')]})
    const [runId] = [...(await store.runIds())]
    const data = (await loadTimelineData(store, runId))!
    store.close()
    const doc = buildTrace(data)
    expect(traceProblems(doc)).toEqual([])
    const calls = doc.traceEvents.filter((e) => e.cat === 'tool_call')
    expect(calls).toHaveLength(77)
    expect(calls.filter((c) => c.args!.is_sidechain === true)).toHaveLength(52)
    expect(new Set(calls.map((c) => c.args!.call_id)).size).toBe(77)
    // podman's lifetime-average CPU is labelled as such
    expect(doc.traceEvents.some((e) => e.name === 'cpu (lifetime average)')).toBe(true)
  })
})

describe.skipIf(HAVE_DATA)('timeline of a paper run with sub-agent calls', () => {
  it.skip(`skipped: ${PAPER_DATA} is absent (clone eunomia-bpf/agentcgroup and point at experiments/)`, () => {})
})
