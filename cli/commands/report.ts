import {writeFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {Flags} from '@oclif/core'

import {readAnalysisFile} from '../../reports/analysis-source.js'
import {buildReport, ReportStats} from '../../reports/build.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {withStore} from '../open-store.js'

export type ReportResult = ReportStats & {out: string}

export default class Report extends BaseCommand {
  static override description = `Write one self-contained HTML report of the store.

The file opens offline in any browser: the chart runtimes (vega, vega-lite, vega-embed), the data and the styles are inlined, and its Content Security Policy lets nothing load or run except its own scripts. Sections: overview, the paper's figures as interactive charts, the metric table (with --analysis), a per-run drill-down with a run selector, and the policy comparison when the store holds replay results. Figures use the valid runs of the selection; the drill-down shows every selected run.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dataset all_images_haiku --out haiku.html',
    '<%= config.bin %> analyze --json > analysis.json && <%= config.bin %> <%= command.id %> --analysis analysis.json',
  ]

  static override flags = {
    analysis: Flags.string({description: "use these results of 'agentcgroup analyze --json' instead of analysing the selected runs here"}),
    dataset: Flags.string({description: 'only runs of this dataset (repeatable)', multiple: true}),
    db: dbFlag,
    out: Flags.string({default: 'agentcgroup-report.html', description: 'HTML file to write'}),
    run: Flags.string({description: 'only this run (repeatable; kept even when not valid)', multiple: true}),
  }

  async run(): Promise<ReportResult> {
    const {flags} = await this.parse(Report)
    const analysis = flags.analysis ? readAnalysisFile(flags.analysis) : undefined
    const {html, stats} = await withStore(flags.db, 'read', (store) => buildReport(store, {analysis, datasets: flags.dataset, runIds: flags.run}))
    const out = resolve(flags.out)
    writeFileSync(out, html)
    if (!this.jsonEnabled()) {
      if (stats.analysis_error) this.logToStderr(`warning: analysis failed (${stats.analysis_error}); the report has no metric table`)
      this.log(`wrote ${out}: ${(stats.bytes / 1e6).toFixed(2)} MB, ${stats.charts.length} charts, ${stats.runs} runs (${stats.figure_runs} in figures, ${stats.drill_runs} in the drill-down) in ${stats.build_s.toFixed(2)} s`)
    }
    return {...stats, out}
  }
}
