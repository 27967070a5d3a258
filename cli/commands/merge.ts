import {Args} from '@oclif/core'

import {mergeInto, type MergeResult} from '../../datasets/export/merge.js'
import {BaseCommand} from '../base-command.js'
import {renderTable} from '../render.js'

export type MergeCommandResult = MergeResult

export default class Merge extends BaseCommand {
  static override args = {
    out: Args.string({description: 'the store to write (created, or added to)', required: true}),
    inputs: Args.string({description: 'shard stores (*.duckdb) or export folders (manifest.json)', required: true}),
  }

  static override description = `Union the stores or exports of shards into one store.

Each input is a store file or an export folder (\`agentcgroup export\`, any format). Before anything is written, every input is checked: it exists and is complete (the files its manifest lists, with their sizes), it has this agentcgroup's schema version, and no run id appears twice across the inputs and OUT. Any failure is one line naming the file and writes nothing. The rows are then copied by DuckDB in one transaction, unchanged.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> study.duckdb shard-0.duckdb shard-1.duckdb',
    '<%= config.bin %> <%= command.id %> study.duckdb results/shard-*',
  ]

  // every argument after OUT is an input
  static override strict = false

  async run(): Promise<MergeCommandResult> {
    const {argv} = await this.parse(Merge)
    const [out, ...inputs] = argv as string[]
    const result = await mergeInto(out, inputs)
    if (!this.jsonEnabled()) {
      this.log(renderTable(['input', 'kind', 'runs'], result.inputs.map((i) => [i.path, i.kind, i.runs])))
      this.log(`Merged ${result.runs_added} runs from ${result.inputs.length} inputs into ${result.out}${result.created ? ' (new)' : ''} in ${result.elapsed_s.toFixed(1)} s.`)
    }
    return result
  }
}
