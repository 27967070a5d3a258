/**
 * Fig. 2(b): Bash command categories and their share of Bash time, pooled over a group,
 * under both categorisations of the paper's code (datasets/formats/bash-category.ts):
 * bash_category_shares (the time-share order) and bash_category_shares_burst (the
 * burst-profile order). paper: summed call durations; corrected: exclusive time (an_excl).
 * bash_category_counts: calls per category (time-share order).
 */
import type {BashCategory} from '../datasets/formats/bash-category.js'
import {Collector} from './collect.js'
import {AnalysisContext, Family, metric, Missing, Val} from './types.js'

/** Bash categories as JSON keys (both categorisations use these). */
export const CATEGORY_KEYS: Record<BashCategory, string> = {
  'File Exploration': 'file_exploration',
  'Git Operations': 'git',
  Other: 'other',
  'Package Install': 'package_install',
  'Python Run': 'python_run',
  'Python Snippet': 'python_snippet',
  'Shell/Environment': 'shell_env',
  'Test Execution': 'test_execution',
  'Text Processing': 'text_processing',
}

export const ALL_CATEGORY_KEYS = [
  'test_execution', 'git', 'package_install', 'file_exploration', 'python_snippet',
  'python_run', 'text_processing', 'shell_env', 'other',
]

interface Row {
  grp: string
  cat_ts: BashCategory
  cat_burst: BashCategory
  n: number
  dur_p: number
  dur_c: number
}

export const bashCategories: Family = {
  name: 'bash categories',
  async compute(ctx: AnalysisContext) {
    const c = new Collector(ctx)
    const rows = (await ctx.query(
      `SELECT c.grp, c.cat_ts, c.cat_burst, count(*)::INTEGER AS n, sum(c.dur_s) AS dur_p, coalesce(sum(e.excl_s), 0) AS dur_c
       FROM an_calls c LEFT JOIN an_excl e USING (rk, call_id)
       WHERE c.tool = 'Bash' GROUP BY ALL`,
    )) as unknown as Row[]
    for (const grp of ctx.groups) {
      const bash = rows.filter((r) => r.grp === grp)
      const perKey = (cat: (r: Row) => BashCategory, value: (r: Row) => number, asShare: boolean): Val => {
        if (bash.length === 0) return new Missing('no Bash calls with a result in this group')
        const out: Record<string, number> = Object.fromEntries(ALL_CATEGORY_KEYS.map((k) => [k, 0]))
        for (const r of bash) out[CATEGORY_KEYS[cat(r)]] += value(r)
        const total = Object.values(out).reduce((a, b) => a + b, 0)
        if (!asShare) return out
        if (total <= 0) return new Missing('Bash calls took no time')
        for (const k of ALL_CATEGORY_KEYS) out[k] = (out[k] / total) * 100
        return out
      }
      const ts = (r: Row) => r.cat_ts
      const burst = (r: Row) => r.cat_burst
      c.group(grp, 'bash_category_shares', metric('%', perKey(ts, (r) => r.dur_p, true), perKey(ts, (r) => r.dur_c, true)))
      c.group(grp, 'bash_category_shares_burst', metric('%', perKey(burst, (r) => r.dur_p, true), perKey(burst, (r) => r.dur_c, true)))
      const counts = perKey(ts, (r) => r.n, false)
      c.group(grp, 'bash_category_counts', metric('count', counts, counts))
    }
    return c.result()
  },
}
