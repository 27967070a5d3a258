import {type FeatureItem, type FeatureReport, detectFeatures} from '../../kernel/features.js'
import {BaseCommand} from '../base-command.js'

export type DoctorResult = FeatureReport

export default class Doctor extends BaseCommand {
  static override description =
    'Report what this machine supports (cgroup layout and controllers, BTF, PSI, sched_ext, memcg_bpf_ops, BPF tools, Podman, a browser, root) and what each missing piece disables. Always exits 0.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<DoctorResult> {
    await this.parse(Doctor)
    const report = await detectFeatures()
    if (!this.jsonEnabled()) this.log(formatReport(report))
    return report
  }
}

/** The readable table: one ✓/✗ line per item, a "disables:" line under each missing one. */
export function formatReport(r: FeatureReport): string {
  const width = Math.max(...r.items.map((i) => i.name.length))
  const lines = [`kernel ${r.kernel}, cgroup layout ${r.cgroup.layout}${r.cgroup.v2Mount ? ` (cgroup2 at ${r.cgroup.v2Mount})` : ''}`, '']
  for (const item of r.items) lines.push(...itemLines(item, width))
  lines.push('', r.missing === 0 ? 'Everything is available.' : `${r.missing} missing.`)
  return lines.join('\n')
}

function itemLines(item: FeatureItem, width: number): string[] {
  const head = `${item.ok ? '✓' : '✗'} ${item.name.padEnd(width)}  ${item.detail}`
  return item.disables ? [head, `  ${' '.repeat(width)}  disables: ${item.disables}`] : [head]
}
