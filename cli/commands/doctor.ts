import {type FeatureItem, type FeatureReport, detectFeatures} from '../../kernel/features.js'
import type {AllocRate} from '../../replayer/results.js'
import {measureAllocRate} from '../../replayer/tenant.js'
import {BaseCommand} from '../base-command.js'

/** With the machine's measured allocation rate (MiB/s), which bounds replay speed; null if the tenant helper is not built. */
export type DoctorResult = FeatureReport & {alloc_rate: AllocRate | null}

export default class Doctor extends BaseCommand {
  static override description =
    'Report what this machine supports (cgroup layout and controllers, BTF, PSI, sched_ext, memcg_bpf_ops, BPF tools, Podman, a browser, root) and what each missing piece disables. Always exits 0.'

  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<DoctorResult> {
    await this.parse(Doctor)
    const report = await detectFeatures()
    const rate = await measureAllocRate(64).catch(() => null)
    if (!this.jsonEnabled()) {
      this.log(formatReport(report))
      this.log(rate ? `allocation rate (replay): memset on fresh mmap ${rate.memsetFreshMiBs.toFixed(0)} MiB/s; 4 KiB pages ${rate.fresh4kMiBs.toFixed(0)}, huge pages first pass ${rate.hugeFirstMiBs.toFixed(0)}, warm ${rate.hugeWarmMiBs.toFixed(0)} MiB/s` : 'allocation rate: not measured (build/replayer/agentcgroup-tenant missing: npm run build)')
    }
    return {...report, alloc_rate: rate}
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
