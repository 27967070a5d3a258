import {Args, Flags} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {importRecordings, ImportResult} from '../../datasets/import/importer.js'
import {BaseCommand, dbFlag, EXIT} from '../base-command.js'
import {setExitStatus} from '../exit-status.js'
import {withStore} from '../open-store.js'
import {progressReporter, renderTable} from '../render.js'

export type ImportCommandResult = ImportResult

export default class Import extends BaseCommand {
  static override args = {
    paths: Args.string({description: 'recording folders (experiments/, a dataset, a task, an attempt) or transcript *.jsonl files', required: true}),
  }

  static override description = `Import agent recordings into the store.

Reads the AgentCgroup runner's layouts (dataset folders of task/attempt folders, batch folders, study runs with run_manifest.json, flat single runs, pilot runs with eBPF traces) and bare Claude Code transcripts. Each recording folder directly under a given path becomes a dataset named after it. Re-importing replaces runs with the same run_id; a recording that cannot be read is listed with its error and the rest is imported (exit code 3), or with --strict the import stops at the first error (exit code 1).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> ../shared/datasets/agentcgroup-paper/all_images_haiku',
    '<%= config.bin %> <%= command.id %> experiments/ --db study.duckdb --json',
    '<%= config.bin %> <%= command.id %> ~/.claude/projects/-testbed/0b1c.jsonl --dataset my-sessions',
  ]

  static override flags = {
    dataset: Flags.string({description: 'dataset name for everything imported (default: named after the folders)'}),
    db: dbFlag,
    strict: Flags.boolean({description: 'stop at the first recording that cannot be read'}),
  }

  static override strict = false

  async run(): Promise<ImportCommandResult> {
    const {argv, flags} = await this.parse(Import)
    const paths = argv as string[]
    if (flags.dataset !== undefined && !/^[A-Za-z0-9._-]+$/.test(flags.dataset)) {
      throw new UserError(`--dataset ${JSON.stringify(flags.dataset)}: use letters, digits, '.', '_' and '-' only`)
    }
    const onProgress = this.jsonEnabled() ? undefined : progressReporter('runs')
    const result = await withStore(flags.db, 'write', (store) =>
      importRecordings(store, {dataset: flags.dataset, onProgress, paths, strict: flags.strict}),
    )
    if (result.runs_found === 0 && result.failed.length === 0) {
      const why = result.skipped.slice(0, 5).map((s) => `  ${s.path}: ${s.reason}`).join('\n')
      throw new UserError(`no recordings found in ${paths.join(', ')}\n${why}`)
    }
    if (!this.jsonEnabled()) this.printSummary(result)
    if (result.stopped_early) {
      const f = result.failed[0]
      throw new UserError(`stopped at the first unreadable recording (--strict): ${f.error}`)
    }
    if (result.failed.length > 0) setExitStatus(EXIT.partial)
    return result
  }

  private printSummary(r: ImportResult): void {
    const valid = r.imported.filter((x) => x.valid).length
    this.log(
      `Imported ${r.imported.length} runs (${valid} valid) from ${r.task_folders} task folders into ${r.store} in ${r.elapsed_s.toFixed(1)} s` +
        `${r.failed.length > 0 ? `; ${r.failed.length} could not be read` : ''}${r.skipped.length > 0 ? `; ${r.skipped.length} folders skipped` : ''}.`,
    )
    if (r.datasets.length > 0) this.log(renderTable(['dataset', 'runs', 'valid'], r.datasets.map((d) => [d.dataset, d.runs, d.valid])))
    for (const f of r.failed) this.log(`error: ${f.error}`)
    for (const s of r.skipped) this.log(`skipped: ${s.path}: ${s.reason}`)
    for (const w of r.warnings) this.log(`note: ${w}`)
  }
}
