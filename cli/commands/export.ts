import {Flags} from '@oclif/core'

import {exportStore, type ExportResult} from '../../datasets/export/exporter.js'
import {EXPORT_FORMATS} from '../../datasets/export/table-files.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {commandLine} from '../command-line.js'
import {withStore} from '../open-store.js'
import {renderTable} from '../render.js'

export type ExportCommandResult = ExportResult

export default class Export extends BaseCommand {
  static override description = `Export the store's tables for other tools (pandas, Polars, DuckDB, Spark).

Writes one file per table (runs, phases, samples, tool_calls, processes, llm_turns, events, transcripts, and any table added later) through DuckDB's COPY, plus manifest.json (schema version, tables with their columns and row counts, the command that made it). Columns and units are those of the store (datasets/schema.ts): times are UTC microseconds, sizes bytes. --dataset and --run narrow every table with a run_id column. The folder appears complete or not at all. \`agentcgroup import DIR\` reads an export back, row for row; \`agentcgroup merge\` unions exports of shards.`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --out paper-parquet',
    '<%= config.bin %> <%= command.id %> --format csv --dataset all_images_haiku --out haiku-csv',
    '<%= config.bin %> <%= command.id %> --format json --run all_images_haiku/dask__dask-11628/attempt_1 --out one-run',
  ]

  static override flags = {
    dataset: Flags.string({description: 'only runs of this dataset (repeatable)', multiple: true}),
    db: dbFlag,
    force: Flags.boolean({description: 'replace --out if it exists and is not empty'}),
    format: Flags.string({default: 'parquet', description: 'file format', options: [...EXPORT_FORMATS]}),
    out: Flags.string({default: './agentcgroup-export', description: 'output folder (created)'}),
    run: Flags.string({description: 'only this run id (repeatable)', multiple: true}),
  }

  async run(): Promise<ExportCommandResult> {
    const {flags} = await this.parse(Export)
    const command = commandLine(this.config.bin, this.id ?? 'export', this.argv)
    const result = await withStore(flags.db, 'read', (store) =>
      exportStore(store, {
        command,
        datasets: flags.dataset,
        force: flags.force,
        format: flags.format as (typeof EXPORT_FORMATS)[number],
        outDir: flags.out,
        runIds: flags.run,
      }),
    )
    if (!this.jsonEnabled()) {
      this.log(renderTable(['table', 'file', 'rows', 'MB'], result.tables.map((t) => [t.name, t.file, t.rows, t.bytes / 1e6])))
      this.log(`Exported ${result.runs} runs to ${result.out} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.format}) in ${result.elapsed_s.toFixed(1)} s.`)
    }
    return result
  }
}
