import {writeFileSync} from 'node:fs'
import {resolve} from 'node:path'

import {Flags} from '@oclif/core'

import {BUILTIN_CATALOGS, readCatalog} from '../../datasets/catalog/catalog-file.js'
import {buildK8sJob, type K8sJobManifest} from '../../datasets/catalog/k8s-job.js'
import {demoTasks} from '../../datasets/catalog/demo.js'
import {type Catalog, withPaperPeaks} from '../../datasets/catalog/swe-rebench.js'
import {UserError} from '../../datasets/errors.js'
import {packageVersion} from '../../datasets/export/package-info.js'
import {parseCgroupSize} from '../../datasets/formats/sizes.js'
import {BaseCommand} from '../base-command.js'
import {commandLine} from '../command-line.js'

export type K8sJobResult = Omit<K8sJobManifest, 'objects' | 'yaml'> & {out: string; catalog: string}

export default class K8sJob extends BaseCommand {
  static override description = `Write a Kubernetes Indexed Job that runs a catalog in shards, one pod per shard.

Pod i (JOB_COMPLETION_INDEX) runs \`agentcgroup run-benchmark --shard i/N\` over its slice of the catalog (sorted by instance id, every N-th task: each task exactly once across the pods), privileged (BPF, cgroups, nested Podman) with hostPID false, then exports its store as Parquet to /results/shard-i: on the PersistentVolumeClaim named by --pvc, or on an emptyDir that the pod keeps until you \`kubectl cp\` it (the pod log prints the command). Memory: request = p95 of the catalog's measured peaks + 512 MiB, limit = max peak x 1.5 + 512 MiB (override with --memory-request/--memory-limit). Then: \`kubectl apply -f job.yaml\`, and \`agentcgroup merge study.duckdb shards/shard-*\` once the shards are in.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --shards 16 --image registry.example.com/agentcgroup:0.1.0 --pvc agentcgroup-results',
    '<%= config.bin %> <%= command.id %> --shards 4 --catalog my-tasks.csv --out job.yaml',
  ]

  static override flags = {
    'backoff-limit': Flags.integer({description: 'pod failures the Job tolerates in all (default: the number of shards)', min: 0}),
    'benchmark-arg': Flags.string({description: 'extra argument for run-benchmark in each pod (repeatable)', multiple: true}),
    catalog: Flags.string({default: 'swe-rebench', description: `catalog: built-in (demo, ${BUILTIN_CATALOGS.join(', ')}) or a JSON/CSV file of instance ids`}),
    'collect-timeout': Flags.integer({default: 3600, description: 'without --pvc: seconds a pod waits for its export to be copied', min: 0}),
    cpu: Flags.string({default: '2', description: 'CPU request per pod (Kubernetes quantity)'}),
    image: Flags.string({description: 'the agentcgroup image (built from the Containerfile) [default: agentcgroup:<version>]'}),
    'memory-limit': Flags.string({description: 'memory limit per pod (Kubernetes quantity), instead of the sizing from measured peaks'}),
    'memory-margin': Flags.string({default: '1.5', description: 'limit = max measured peak x this + overhead'}),
    'memory-overhead': Flags.string({default: '512M', description: 'added to request and limit for agentcgroup and Podman (cgroup size: 512M = 512 MiB)'}),
    'memory-request': Flags.string({description: 'memory request per pod (Kubernetes quantity), instead of the sizing from measured peaks'}),
    name: Flags.string({description: 'Job name [default: agentcgroup-<catalog>]'}),
    namespace: Flags.string({description: 'namespace of the Job'}),
    out: Flags.string({default: 'job.yaml', description: "output file ('-': standard output)"}),
    parallelism: Flags.integer({description: 'pods at once (default: all shards)', min: 1}),
    pvc: Flags.string({description: 'PersistentVolumeClaim for the results (default: an emptyDir and kubectl cp)'}),
    secret: Flags.string({description: 'Secret whose keys become environment variables (e.g. ANTHROPIC_API_KEY)'}),
    shards: Flags.integer({default: 4, description: 'number of shards (= completions)', min: 1}),
  }

  async run(): Promise<K8sJobResult> {
    const {flags} = await this.parse(K8sJob)
    if (flags.out === '-' && this.jsonEnabled()) throw new UserError("--out - writes the YAML to standard output, where --json writes its result: give --out a file")
    const margin = Number(flags['memory-margin'])
    if (!Number.isFinite(margin)) throw new UserError(`--memory-margin ${JSON.stringify(flags['memory-margin'])}: not a number`)
    let overheadBytes: number
    try {
      overheadBytes = parseCgroupSize(flags['memory-overhead'])
    } catch (error) {
      throw new UserError(`--memory-overhead ${JSON.stringify(flags['memory-overhead'])}: ${(error as Error).message}`)
    }
    // the demo tasks ship with the image; a list of SWE-rebench ids is sized by the paper's
    // measurements where it has none of its own
    const catalog: Catalog =
      flags.catalog === 'demo'
        ? {name: 'demo', source: 'built-in demo tasks', tasks: demoTasks().map((t) => ({instance_id: t.id, peak_mem_bytes: null}))}
        : withPaperPeaks(readCatalog(flags.catalog))
    const manifest = buildK8sJob({
      backoffLimit: flags['backoff-limit'],
      benchmarkArgs: flags['benchmark-arg'] ?? [],
      builtin: flags.catalog === 'demo' || (BUILTIN_CATALOGS as readonly string[]).includes(flags.catalog),
      catalog,
      catalogSpec: flags.catalog,
      collectTimeoutS: flags['collect-timeout'],
      cpu: flags.cpu,
      image: flags.image ?? `agentcgroup:${packageVersion()}`,
      memoryLimit: flags['memory-limit'],
      memoryRequest: flags['memory-request'],
      name: flags.name,
      namespace: flags.namespace,
      parallelism: flags.parallelism,
      pvc: flags.pvc,
      secret: flags.secret,
      shards: flags.shards,
      sizing: {margin, overheadBytes},
    })
    const command = commandLine(this.config.bin, this.id ?? 'k8s-job', this.argv)
    const text = `# Generated by: ${command}\n# Memory: ${manifest.memory.basis}\n${manifest.yaml}`
    const out = flags.out === '-' ? '-' : resolve(flags.out)
    if (out === '-') process.stdout.write(text)
    else {
      try {
        writeFileSync(out, text)
      } catch (error) {
        throw new UserError(`${out}: cannot write: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
      }
    }
    const {objects: _objects, yaml: _yaml, ...summary} = manifest
    if (!this.jsonEnabled() && out !== '-') {
      this.log(`Wrote ${out}: Job ${manifest.name}, ${manifest.tasks} tasks of ${catalog.name} in ${manifest.shards} shards (${manifest.tasks_per_shard.min}-${manifest.tasks_per_shard.max} each), ${manifest.parallelism} pods at once.`)
      this.log(`Memory per pod: request ${manifest.memory.request}, limit ${manifest.memory.limit} (${manifest.memory.basis}).`)
      this.log(`Results: ${manifest.results}. Start it with: kubectl apply -f ${flags.out}`)
    }
    return {...summary, catalog: catalog.name, out}
  }
}
