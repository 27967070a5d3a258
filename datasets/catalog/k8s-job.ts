/**
 * `agentcgroup k8s-job`: a Kubernetes Indexed Job that runs a catalog in N shards, one pod per
 * shard; Kubernetes does the scheduling, agentcgroup builds none of its own (DESIGN: Scale).
 *
 * Pod i runs `agentcgroup run-benchmark --catalog C --shard i/N` (shard.ts: every task exactly
 * once across the pods), then `agentcgroup export` of its store to /results/shard-i. The
 * container is privileged (BPF, cgroup writes and nested Podman need it) and the pod does not
 * share the host's PID namespace (hostPID false). Results:
 *   --pvc NAME  /results is that PersistentVolumeClaim (ReadWriteMany when pods land on
 *               several nodes); the store and its run ledger sit there too, so a retried pod
 *               resumes its shard.
 *   default     /results is an emptyDir; after exporting, the pod waits (--collect-timeout)
 *               for `kubectl cp` to fetch the export and for the marker file that ends the wait.
 * A catalog file is shipped in a ConfigMap beside the Job (its ids, normalized to JSON).
 * Every object is validated against the Kubernetes OpenAPI schema of kubernetes-models.
 */
import {ConfigMap, type IConfigMap} from 'kubernetes-models/v1/ConfigMap'
import {type IJob, Job} from 'kubernetes-models/batch/v1/Job'
import type {IContainer} from 'kubernetes-models/v1/Container'
import type {IVolume} from 'kubernetes-models/v1/Volume'
import type {IVolumeMount} from 'kubernetes-models/v1/VolumeMount'
import {stringify} from 'yaml'

import {UserError} from '../errors.js'
import {DEFAULT_SIZING, type MemorySizing, sizeMemory, type SizingOptions} from './sizing.js'
import type {Catalog} from './swe-rebench.js'

export interface K8sJobOptions {
  catalog: Catalog
  /** the --catalog value: a built-in name is passed through, a file goes in a ConfigMap */
  catalogSpec: string
  builtin: boolean
  shards: number
  parallelism?: number
  image: string
  name?: string
  namespace?: string
  pvc?: string
  cpu: string
  secret?: string
  benchmarkArgs: string[]
  backoffLimit?: number
  collectTimeoutS: number
  sizing?: Partial<SizingOptions>
  memoryRequest?: string
  memoryLimit?: string
}

export interface K8sJobManifest {
  objects: (IJob | IConfigMap)[]
  yaml: string
  name: string
  shards: number
  parallelism: number
  tasks: number
  tasks_per_shard: {min: number; max: number}
  memory: MemorySizing & {request: string; limit: string}
  results: string
}

const RESULTS = '/results'
const CATALOG_DIR = '/etc/agentcgroup/catalog'
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/
/** a ConfigMap holds at most 1 MiB */
const CONFIGMAP_MAX = 1024 * 1024

export function buildK8sJob(o: K8sJobOptions): K8sJobManifest {
  const n = o.shards
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--shards ${n}: must be a whole number >= 1`)
  const parallelism = o.parallelism ?? n
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new UserError(`--parallelism ${parallelism}: must be a whole number >= 1`)
  const name = o.name ?? `agentcgroup-${o.catalog.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 50)
  // pods are named <job>-<index>-<suffix>: keep the Job name well inside 63 characters
  if (!DNS_LABEL.test(name) || name.length > 50) throw new UserError(`--name ${JSON.stringify(name)}: use lower-case letters, digits and '-', at most 50 characters`)
  if (o.namespace !== undefined && !DNS_LABEL.test(o.namespace)) throw new UserError(`--namespace ${JSON.stringify(o.namespace)}: not a valid namespace name`)
  if (o.pvc !== undefined && !DNS_LABEL.test(o.pvc)) throw new UserError(`--pvc ${JSON.stringify(o.pvc)}: not a valid PersistentVolumeClaim name`)
  if (o.secret !== undefined && !DNS_LABEL.test(o.secret)) throw new UserError(`--secret ${JSON.stringify(o.secret)}: not a valid Secret name`)
  if (!o.image.trim() || /\s/.test(o.image)) throw new UserError(`--image ${JSON.stringify(o.image)}: not an image reference`)
  for (const [flag, q] of [['--cpu', o.cpu], ['--memory-request', o.memoryRequest], ['--memory-limit', o.memoryLimit]] as const) {
    if (q !== undefined && !QUANTITY.test(q)) throw new UserError(`${flag} ${JSON.stringify(q)}: not a Kubernetes quantity (e.g. 2, 500m, 1536Mi, 4Gi)`)
  }

  const sized = sizeMemory(o.catalog.tasks.map((t) => t.peak_mem_bytes), {...DEFAULT_SIZING, ...o.sizing})
  const memory = {...sized, limit: o.memoryLimit ?? sized.limit, request: o.memoryRequest ?? sized.request}
  const labels = {'app.kubernetes.io/component': 'benchmark', 'app.kubernetes.io/name': 'agentcgroup', 'app.kubernetes.io/part-of': name}
  const metadata = (objName: string) => ({labels, name: objName, ...(o.namespace ? {namespace: o.namespace} : {})})

  const objects: (IJob | IConfigMap)[] = []
  let catalogArg = o.catalogSpec
  const volumes: IVolume[] = [
    o.pvc ? {name: 'results', persistentVolumeClaim: {claimName: o.pvc}} : {emptyDir: {}, name: 'results'},
    // nested Podman keeps its images and containers here, not on the pod's overlay root
    {emptyDir: {}, name: 'containers'},
  ]
  const mounts: IVolumeMount[] = [
    {mountPath: RESULTS, name: 'results'},
    {mountPath: '/var/lib/containers', name: 'containers'},
  ]
  if (!o.builtin) {
    const file = `${o.catalog.name}.json`
    const data = JSON.stringify({name: o.catalog.name, source: o.catalog.source, tasks: o.catalog.tasks}, null, 1) + '\n'
    if (Buffer.byteLength(data) > CONFIGMAP_MAX) throw new UserError(`${o.catalog.source}: too large for a ConfigMap (${Buffer.byteLength(data)} bytes > 1 MiB); bake the catalog into the image instead`)
    const cm: IConfigMap = {apiVersion: 'v1', data: {[file]: data}, kind: 'ConfigMap', metadata: metadata(`${name}-catalog`)}
    objects.push(cm)
    volumes.push({configMap: {name: `${name}-catalog`}, name: 'catalog'})
    mounts.push({mountPath: CATALOG_DIR, name: 'catalog', readOnly: true})
    catalogArg = `${CATALOG_DIR}/${file}`
  }

  if (!o.pvc) {
    volumes.push({emptyDir: {}, name: 'work'})
    mounts.push({mountPath: '/work', name: 'work'})
  }

  const container: IContainer = {
    args: [podScript({...o, catalogArg, shards: n})],
    command: ['/bin/sh', '-c'],
    env: [
      // Kubernetes sets JOB_COMPLETION_INDEX itself too; this states where it comes from
      {name: 'JOB_COMPLETION_INDEX', valueFrom: {fieldRef: {fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
      {name: 'POD_NAME', valueFrom: {fieldRef: {fieldPath: 'metadata.name'}}},
    ],
    ...(o.secret ? {envFrom: [{secretRef: {name: o.secret}}]} : {}),
    image: o.image,
    imagePullPolicy: 'IfNotPresent',
    name: 'agentcgroup',
    resources: {limits: {memory: memory.limit}, requests: {cpu: o.cpu, memory: memory.request}},
    securityContext: {privileged: true},
    volumeMounts: mounts,
    workingDir: o.pvc ? RESULTS : '/work',
  }
  const job: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(name),
    spec: {
      backoffLimit: o.backoffLimit ?? n,
      completionMode: 'Indexed',
      completions: n,
      parallelism,
      template: {
        metadata: {labels},
        spec: {containers: [container], hostPID: false, restartPolicy: 'Never', volumes},
      },
    },
  }
  objects.push(job)
  for (const obj of objects) validate(obj)

  const sizes = Array.from({length: n}, (_, i) => Math.floor(o.catalog.tasks.length / n) + (i < o.catalog.tasks.length % n ? 1 : 0))
  return {
    memory,
    name,
    objects,
    parallelism,
    results: o.pvc ? `PersistentVolumeClaim ${o.pvc}: ${RESULTS}/shard-<i>` : `emptyDir: kubectl cp <pod>:${RESULTS}/shard-<i> within ${o.collectTimeoutS} s of the export`,
    shards: n,
    tasks: o.catalog.tasks.length,
    tasks_per_shard: {max: Math.max(...sizes), min: Math.min(...sizes)},
    yaml: objects.map((obj) => stringify(obj, {aliasDuplicateObjects: false, lineWidth: 0})).join('---\n'),
  }
}

/** Validates against the OpenAPI schema; a failure here is our bug, not the user's. */
function validate(obj: IJob | IConfigMap): void {
  try {
    if (obj.kind === 'Job') new Job(obj).validate()
    else new ConfigMap(obj).validate()
  } catch (error) {
    throw new Error(`internal: generated ${obj.kind} fails the Kubernetes schema: ${(error as Error).message}`)
  }
}

/** The pod's shell script; every value from the user is single-quoted. */
function podScript(o: K8sJobOptions & {catalogArg: string; shards: number}): string {
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`
  const db = o.pvc ? `${RESULTS}/shard-\${i}.duckdb` : '/work/shard.duckdb'
  const extra = o.benchmarkArgs.map(q).join(' ')
  const lines = [
    'set -eu',
    'i="${JOB_COMPLETION_INDEX:?set by Kubernetes for Indexed Jobs}"',
    `out="${RESULTS}/shard-\${i}"`,
    `echo "shard \${i}/${o.shards}"`,
    // exit code 3 is partial success (some tasks failed, recorded as such): still export
    `rc=0; agentcgroup run-benchmark --catalog ${q(o.catalogArg)} --shard "\${i}/${o.shards}" --db "${db}"${extra ? ` ${extra}` : ''} || rc=$?`,
    'if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then echo "run-benchmark failed with exit code $rc" >&2; exit "$rc"; fi',
    `agentcgroup export --db "${db}" --format parquet --out "\${out}" --force`,
  ]
  if (!o.pvc) {
    lines.push(
      `echo "shard \${i}: export ready; fetch it with: kubectl cp \${POD_NAME}:\${out} shards/shard-\${i}${o.namespace ? ` -n ${o.namespace}` : ''} && kubectl exec \${POD_NAME}${o.namespace ? ` -n ${o.namespace}` : ''} -- touch \${out}/.copied"`,
      `t=0; while [ ! -e "\${out}/.copied" ] && [ "$t" -lt ${Math.round(o.collectTimeoutS)} ]; do sleep 5; t=$((t + 5)); done`,
    )
  }
  return lines.join('\n') + '\n'
}
