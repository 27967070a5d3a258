/**
 * `agentcgroup k8s-job`: the written YAML parses into objects that pass the Kubernetes
 * OpenAPI schema (kubernetes-models' runtime validators), the pod script really runs
 * `run-benchmark --shard i/N` then `export` (executed with a stand-in agentcgroup), the
 * shard slices cover every task exactly once for N = 1..16, and memory follows the
 * catalog's measured peaks.
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {ConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {Job} from 'kubernetes-models/batch/v1/Job'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'

import type {K8sJobResult} from '../../cli/commands/k8s-job.js'
import {readCatalog} from '../../datasets/catalog/catalog-file.js'
import {parseShard, shardSlice} from '../../datasets/catalog/shard.js'
import {nearestRank, sizeMemory} from '../../datasets/catalog/sizing.js'
import {extractPaperCatalog, sweRebenchCatalog} from '../../datasets/catalog/swe-rebench.js'
import {PAPER_DATA, tempDir} from '../fixtures/recordings.js'
import {cleanup} from './helpers.js'

const dirs: string[] = []
afterAll(() => cleanup(dirs))

let dir: string
beforeAll(() => {
  dir = tempDir()
  dirs.push(dir)
})

async function k8sJob(args: string[]): Promise<{result: K8sJobResult; objects: Record<string, any>[]}> {
  const out = join(dir, `job-${Math.random().toString(36).slice(2)}.yaml`)
  const {error, stdout} = await runCommand(['k8s-job', ...args, '--out', out, '--json'], {root: process.cwd()})
  expect(error).toBeUndefined()
  const docs = parseAllDocuments(readFileSync(out, 'utf8'))
  for (const d of docs) expect(d.errors).toEqual([])
  return {objects: docs.map((d) => d.toJS() as Record<string, any>), result: JSON.parse(stdout) as K8sJobResult}
}

/** Validates like the API server's schema check would (throws with the failing paths). */
function validateK8s(obj: Record<string, any>): void {
  if (obj.kind === 'Job') new Job(obj as never).validate()
  else if (obj.kind === 'ConfigMap') new ConfigMap(obj as never).validate()
  else throw new Error(`unexpected kind ${obj.kind}`)
}

/** Runs a pod's script with a stand-in agentcgroup that logs its arguments. */
function runPodScript(job: Record<string, any>, index: number): string[][] {
  const container = job.spec.template.spec.containers[0]
  const bin = join(dir, `bin-${index}`)
  mkdirSync(bin, {recursive: true})
  const log = join(bin, 'calls.log')
  writeFileSync(join(bin, 'agentcgroup'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\t' "$a"; done >> '${log}'\necho >> '${log}'\n`)
  chmodSync(join(bin, 'agentcgroup'), 0o755)
  execFileSync(container.command[0], [...container.command.slice(1), ...container.args], {
    env: {JOB_COMPLETION_INDEX: String(index), PATH: `${bin}:/usr/bin:/bin`, POD_NAME: `pod-${index}`},
    stdio: 'pipe',
    // an emptyDir pod waits for its export to be fetched: tests pass --collect-timeout 0
    timeout: 20_000,
  })
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => l.replace(/\t$/, '').split('\t'))
}

describe('the Kubernetes Job', () => {
  it('passes the Job schema, Indexed, privileged, hostPID false, sized from measured peaks', async () => {
    const {objects, result} = await k8sJob(['--shards', '16', '--image', 'registry.example.com/agentcgroup:0.1.0', '--parallelism', '4'])
    expect(objects.map((o) => o.kind)).toEqual(['Job'])
    for (const o of objects) validateK8s(o)
    const job = objects[0]
    expect(job.spec).toMatchObject({completionMode: 'Indexed', completions: 16, parallelism: 4, template: {spec: {hostPID: false, restartPolicy: 'Never'}}})
    const c = job.spec.template.spec.containers[0]
    expect(c.image).toBe('registry.example.com/agentcgroup:0.1.0')
    expect(c.securityContext).toEqual({privileged: true})
    expect(c.env[0]).toEqual({name: 'JOB_COMPLETION_INDEX', valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}})
    expect(job.spec.template.spec.volumes).toContainEqual({emptyDir: {}, name: 'results'})

    // request = p95 of the measured peaks + 512 MiB, limit = max x 1.5 + 512 MiB, whole MiB
    const peaks = sweRebenchCatalog().tasks.map((t) => t.peak_mem_bytes).filter((p): p is number => p !== null)
    const mib = 1024 ** 2
    expect(c.resources.requests.memory).toBe(`${Math.ceil((nearestRank(peaks, 0.95) + 512 * mib) / mib)}Mi`)
    expect(c.resources.limits.memory).toBe(`${Math.ceil((Math.max(...peaks) * 1.5 + 512 * mib) / mib)}Mi`)
    expect(result).toMatchObject({catalog: 'swe-rebench', parallelism: 4, shards: 16, tasks: 128, tasks_per_shard: {max: 8, min: 8}})
  })

  it('each pod runs its shard, then exports it for collection', async () => {
    // (runCommand splits arguments at spaces: the shell metacharacters test the quoting)
    const {objects} = await k8sJob(['--shards', '3', '--collect-timeout', '0', '--benchmark-arg', '--agent', '--benchmark-arg', "it's;$HOME"])
    const calls = runPodScript(objects[0], 2)
    expect(calls).toEqual([
      ['run-benchmark', '--catalog', 'swe-rebench', '--shard', '2/3', '--db', '/work/shard.duckdb', '--agent', "it's;$HOME"],
      ['export', '--db', '/work/shard.duckdb', '--format', 'parquet', '--out', '/results/shard-2', '--force'],
    ])
  })

  it('with --pvc, results and the resumable store live on the claim', async () => {
    const {objects} = await k8sJob(['--shards', '2', '--pvc', 'agentcgroup-results', '--namespace', 'bench', '--secret', 'api-keys'])
    validateK8s(objects[0])
    const spec = objects[0].spec.template.spec
    expect(objects[0].metadata.namespace).toBe('bench')
    expect(spec.volumes).toContainEqual({name: 'results', persistentVolumeClaim: {claimName: 'agentcgroup-results'}})
    expect(spec.containers[0].envFrom).toEqual([{secretRef: {name: 'api-keys'}}])
    expect(runPodScript(objects[0], 1)[0]).toEqual(['run-benchmark', '--catalog', 'swe-rebench', '--shard', '1/2', '--db', '/results/shard-1.duckdb'])
  })

  it('ships a catalog file in a ConfigMap that the pods read', async () => {
    const file = join(dir, 'my-tasks.csv')
    writeFileSync(file, 'instance_id,peak_mem_bytes\ndask__dask-11628,\nfoo__bar-1,900000000\n\n# a comment\nfoo__bar-2,\n')
    const {objects, result} = await k8sJob(['--shards', '2', '--catalog', file, '--collect-timeout', '0'])
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'Job'])
    for (const o of objects) validateK8s(o)
    const shipped = JSON.parse(objects[0].data['my-tasks.json'])
    expect(shipped.tasks.map((t: {instance_id: string}) => t.instance_id)).toEqual(['dask__dask-11628', 'foo__bar-1', 'foo__bar-2'])
    // a task without a peak of its own is sized by the paper's measurement of the same instance
    const dask = sweRebenchCatalog().tasks.find((t) => t.instance_id === 'dask__dask-11628')!.peak_mem_bytes!
    expect(shipped.tasks[0].peak_mem_bytes).toBe(dask)
    expect(result.memory.peaks_used).toBe(2)
    expect(objects[1].spec.template.spec.volumes).toContainEqual({configMap: {name: 'agentcgroup-my-tasks-catalog'}, name: 'catalog'})
    expect(runPodScript(objects[1], 0)[0].slice(0, 5)).toEqual(['run-benchmark', '--catalog', '/etc/agentcgroup/catalog/my-tasks.json', '--shard', '0/2'])
  })

  it('refuses bad flags with one line', async () => {
    const bad = async (args: string[]) => (await runCommand(['k8s-job', ...args, '--out', join(dir, 'never.yaml')], {root: process.cwd()})).stderr.trim()
    expect(await bad(['--name', 'Bad_Name'])).toBe('Error: --name "Bad_Name": use lower-case letters, digits and \'-\', at most 50 characters')
    expect(await bad(['--cpu', 'lots'])).toBe('Error: --cpu "lots": not a Kubernetes quantity (e.g. 2, 500m, 1536Mi, 4Gi)')
    expect(await bad(['--catalog', join(dir, 'none.json')])).toMatch(/none\.json: no such catalog file \(or give a built-in catalog: swe-rebench\)$/)
    expect(await bad(['--memory-margin', '0.5'])).toBe('Error: memory margin 0.5: must be at least 1')
  })
})

describe('shard slices', () => {
  const ids = sweRebenchCatalog().tasks.map((t) => t.instance_id)

  it('cover every task of the catalog exactly once for N = 1..16', () => {
    for (let n = 1; n <= 16; n++) {
      const seen = new Map<string, number>()
      const sizes: number[] = []
      for (let i = 0; i < n; i++) {
        const slice = shardSlice(ids, i, n)
        sizes.push(slice.length)
        for (const id of slice) seen.set(id, (seen.get(id) ?? 0) + 1)
      }
      expect([...seen.keys()].sort(), `N=${n}`).toEqual([...ids].sort())
      expect([...seen.values()].every((c) => c === 1), `N=${n}`).toBe(true)
      expect(Math.max(...sizes) - Math.min(...sizes), `N=${n}`).toBeLessThanOrEqual(1)
    }
  })

  it('do not depend on the catalog order, keep repeated tasks as separate attempts, and take objects', () => {
    const shuffled = [...ids].reverse()
    for (let n = 1; n <= 16; n++) for (let i = 0; i < n; i++) expect(shardSlice(shuffled, i, n)).toEqual(shardSlice(ids, i, n))
    const withRepeat = [{instance_id: 'b__b-1', n: 1}, {instance_id: 'a__a-1', n: 2}, {instance_id: 'b__b-1', n: 3}]
    expect(shardSlice(withRepeat, 0, 2)).toEqual([{instance_id: 'a__a-1', n: 2}, {instance_id: 'b__b-1', n: 3}])
    expect(shardSlice(withRepeat, 1, 2)).toEqual([{instance_id: 'b__b-1', n: 1}])
    // dask tasks, adjacent once sorted, are dealt to different shards
    const dask = ids.filter((id) => id.startsWith('dask__'))
    const shardOf = (id: string) => [0, 1, 2, 3].find((i) => shardSlice(ids, i, 4).includes(id))
    expect(new Set(dask.map(shardOf)).size).toBe(Math.min(4, dask.length))
  })

  it('parse i/n counting from 0 and refuse the rest', () => {
    expect(parseShard('3/16')).toEqual({count: 16, index: 3})
    expect(() => parseShard('16/16')).toThrow('shard index 16: must be a whole number from 0 to 15 (shards count from 0, like JOB_COMPLETION_INDEX)')
    expect(() => parseShard('1-4')).toThrow(/--shard "1-4": expected i\/n/)
    expect(() => shardSlice(ids, 0, 0)).toThrow('shard count 0: must be a whole number >= 1')
  })
})

describe('catalogs and sizing', () => {
  it('the built-in catalog lists the 128 distinct instances of the 184 paper runs, with their source', () => {
    const data = JSON.parse(readFileSync(join(process.cwd(), 'datasets', 'catalog', 'swe-rebench-ids.json'), 'utf8'))
    expect(data.source).toMatch(/^eunomia-bpf\/agentcgroup commit 5af9e7b/)
    const cat = sweRebenchCatalog()
    expect(cat.tasks).toHaveLength(128)
    expect(new Set(cat.tasks.map((t) => t.instance_id)).size).toBe(128)
    expect(cat.tasks.filter((t) => t.peak_mem_bytes !== null)).toHaveLength(116)
  })

  it.skipIf(!existsSync(join(PAPER_DATA, 'all_images_haiku')))('the shipped list is what the paper data yields (skipped without ../shared)', () => {
    const shipped = JSON.parse(readFileSync(join(process.cwd(), 'datasets', 'catalog', 'swe-rebench-ids.json'), 'utf8'))
    expect(extractPaperCatalog(PAPER_DATA)).toEqual(shipped)
  })

  it('reads JSON and CSV catalogs and names the line of a bad one', () => {
    const w = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    expect(readCatalog(w('a.json', '["x__y-1", "x__y-2"]')).tasks.map((t) => t.instance_id)).toEqual(['x__y-1', 'x__y-2'])
    expect(readCatalog(w('b.json', '{"tasks": [{"instance_id": "x__y-1", "peak_mem_bytes": 5}]}')).tasks).toEqual([{instance_id: 'x__y-1', peak_mem_bytes: 5}])
    expect(readCatalog(w('c.txt', 'x__y-1\r\nx__y-3\n')).tasks.map((t) => t.instance_id)).toEqual(['x__y-1', 'x__y-3'])
    expect(() => readCatalog(w('d.csv', 'instance_id\nx__y-1\nbad id\n'))).toThrow(/d\.csv:3: "bad id" is not an instance id/)
    expect(() => readCatalog(w('e.json', '{"tasks": 3}'))).toThrow(/e\.json: expected a list of instance ids/)
    expect(() => readCatalog(w('f.csv', 'id,peak\nx,1\n'))).toThrow(/f\.csv:1: a CSV catalog needs an instance_id column/)
    expect(() => readCatalog(w('g.csv', '# nothing\n'))).toThrow(/g\.csv: lists no task/)
  })

  it('sizes memory by nearest-rank p95 and max x margin, and says so when nothing was measured', () => {
    const mib = 1024 ** 2
    const peaks = Array.from({length: 20}, (_, i) => (i + 1) * 100 * mib)
    const s = sizeMemory([...peaks, null])
    expect(s).toMatchObject({limit: `${2000 * 1.5 + 512}Mi`, peaks_missing: 1, peaks_used: 20, request: `${1900 + 512}Mi`})
    const none = sizeMemory([null, null])
    expect(none.request).toBe(`${2048 + 512}Mi`)
    expect(none.basis).toMatch(/^no task has a measured peak/)
  })
})
