/** The paper's own replay results (replayer/data/paper-reference.json), summarised per arm. */
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {dataDir} from './trace.js'

interface RefTenant {
  name: string
  priority: string
  survived: boolean
  completion_s?: number
  total_s?: number
  alloc_p95_ms?: number | null
}

interface RefRun {
  dir: string
  arm: string
  total_mb: number
  tenants: RefTenant[]
}

export interface ReferenceRow {
  /** our policy it compares with: none <- no_isolation, agentcgroup <- bpf */
  policy: string
  arm: string
  runs: number
  survival: string
  high_completion_s: number | null
  low_completion_s: number | null
  low_total_s: number | null
  high_alloc_p95_ms: number | null
}

const ARM_TO_POLICY: Record<string, string> = {bpf: 'agentcgroup', no_isolation: 'none', static: 'static'}

/** Reference rows for a budget in MiB (the paper ran 1100 and 1300 at 50x); empty otherwise. */
export function paperReference(totalMiB: number, speed: number): ReferenceRow[] {
  if (speed !== 50) return []
  const doc = JSON.parse(readFileSync(join(dataDir(), 'paper-reference.json'), 'utf8')) as {runs: RefRun[]}
  const runs = doc.runs.filter((r) => r.total_mb === totalMiB)
  const arms = [...new Set(runs.map((r) => r.arm))]
  return arms.map((arm) => {
    const rs = runs.filter((r) => r.arm === arm)
    const all = rs.flatMap((r) => r.tenants)
    const avg = (xs: (number | null | undefined)[]): number | null => {
      const v = xs.filter((x): x is number => typeof x === 'number')
      return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 1000) / 1000 : null
    }
    const high = all.filter((t) => t.priority === 'high' && t.survived)
    const low = all.filter((t) => t.priority === 'low' && t.survived)
    return {
      arm,
      high_alloc_p95_ms: avg(high.map((t) => t.alloc_p95_ms)),
      high_completion_s: avg(high.map((t) => t.completion_s)),
      low_completion_s: avg(low.map((t) => t.completion_s)),
      low_total_s: avg(low.map((t) => t.total_s)),
      policy: ARM_TO_POLICY[arm] ?? arm,
      runs: rs.length,
      survival: `${all.filter((t) => t.survived).length}/${all.length}`,
    }
  })
}
