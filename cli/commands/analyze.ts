import {Flags} from '@oclif/core'

import {analyze, AnalyzeResult} from '../../analysis/analyze.js'
import {flattenMetrics} from '../../analysis/flatten.js'
import type {RuleSet} from '../../analysis/types.js'
import {UserError} from '../../datasets/errors.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {withStore} from '../open-store.js'
import {renderTable} from '../render.js'

export type AnalyzeCommandResult = AnalyzeResult

export default class Analyze extends BaseCommand {
  static override description = `Compute the paper's characterization (section 3) over the stored runs.

Per dataset: execution time, tool-time ratio, latency breakdown, tool and Bash-category shares, tool timeline, memory baseline, peak-to-average ratio, change rates and bursts, burst attribution, retry groups, CPU-memory correlation, variability, token correlations and a concurrency estimate. Each metric is shown as the paper printed it, under the paper's rules (its definitions with correct unit parsing), and corrected (merged call intervals, instantaneous CPU, start and exit samples dropped, time-weighted). A metric a run cannot support is null with a reason. Metric names and definitions: README, "Analysis".`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dataset all_images_haiku --rules paper',
    '<%= config.bin %> <%= command.id %> --runs all --json',
  ]

  static override flags = {
    dataset: Flags.string({description: 'only runs of this dataset (repeatable)', multiple: true}),
    db: dbFlag,
    pool: Flags.boolean({description: "analyse all selected runs as one group named 'all' instead of one per dataset"}),
    rules: Flags.string({default: 'both', description: "which rule set's values to show", options: ['paper', 'corrected', 'both']}),
    runs: Flags.string({default: 'valid', description: "'valid': the paper's filter (>= 10 samples and >= 60 s); 'all': every run", options: ['all', 'valid']}),
  }

  async run(): Promise<AnalyzeCommandResult> {
    const {flags} = await this.parse(Analyze)
    const rules = flags.rules as RuleSet
    const {result} = await withStore(flags.db, 'read', (store) =>
      analyze(store, {datasets: flags.dataset, pool: flags.pool, rules, runs: flags.runs as 'all' | 'valid'}),
    )
    if (result.datasets.length === 0) {
      throw new UserError(`no ${flags.runs === 'valid' ? 'valid ' : ''}runs${flags.dataset ? ` in dataset ${flags.dataset.join(', ')}` : ''} (see \`agentcgroup runs\`)`)
    }
    if (!this.jsonEnabled()) this.log(renderResult(result, rules))
    return result
  }
}

function renderResult(result: AnalyzeResult, rules: RuleSet): string {
  const out: string[] = []
  for (const d of result.datasets) {
    out.push(`${d.dataset}: ${d.runs} runs (${d.valid_runs} valid)`)
    const rows = flattenMetrics(d.metrics)
    const columns = ['metric', 'unit', 'paper', ...(rules === 'corrected' ? [] : ['paper rules']), ...(rules === 'paper' ? [] : ['corrected']), 'note']
    out.push(renderTable(columns, rows.map((r) => [
      r.name, r.unit, r.paper_published,
      ...(rules === 'corrected' ? [] : [r.paper_rules]),
      ...(rules === 'paper' ? [] : [r.corrected]),
      (rules !== 'corrected' ? r.null_reason.paper_rules : undefined) ?? (rules !== 'paper' ? r.null_reason.corrected : undefined) ?? null,
    ])), '')
  }
  out.push('Per-run values: --json. Metric definitions: README, "Analysis".')
  return out.join('\n')
}
