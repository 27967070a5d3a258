import {Flags} from '@oclif/core'

import {listRuns, RunListRow} from '../../datasets/runs-query.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {withStore} from '../open-store.js'
import {renderTable} from '../render.js'

export type RunsResult = RunListRow[]

export default class Runs extends BaseCommand {
  static override description = `List the runs in the store.

One row per run attempt. samples, span_s, mem_peak_mb and mem_avg_mb are recomputed from the stored samples (MB = 10^6 bytes; peak and average over samples with memory > 0). valid is the paper's filter (>= 10 samples and >= 60 s of sampling). control is run-benchmark's --control policy (none, static, observe, agentcgroup; null for imported runs) and node_memory_bytes the invocation's node memory budget (null: none); the table shows them when any run has them.`

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --dataset all_images_haiku --valid --json']

  static override flags = {
    dataset: Flags.string({description: 'only runs of this dataset (repeatable)', multiple: true}),
    db: dbFlag,
    valid: Flags.boolean({allowNo: true, description: "only runs that pass the paper's validity filter (--no-valid: only those that do not)"}),
  }

  async run(): Promise<RunsResult> {
    const {flags} = await this.parse(Runs)
    const rows = await withStore(flags.db, 'read', (store) => listRuns(store, {datasets: flags.dataset, valid: flags.valid}))
    if (!this.jsonEnabled()) {
      const cols = ['run_id', 'model_actual', 'status', 'valid', 'samples', 'span_s', 'mem_peak_mb', 'mem_avg_mb', 'tool_calls'] as const
      // runs of run-benchmark --control: their policy and node budget (MB = 10^6 bytes)
      const controlled = rows.some((r) => r.control !== null)
      const header = controlled ? [...cols, 'control', 'node_mem_mb'] : [...cols]
      const cells = rows.map((r) => [...cols.map((c) => r[c]), ...(controlled ? [r.control, r.node_memory_bytes === null ? null : r.node_memory_bytes / 1e6] : [])])
      this.log(renderTable(header, cells))
      this.log(`${rows.length} runs, ${rows.filter((r) => r.valid).length} valid`)
    }
    return rows
  }
}
