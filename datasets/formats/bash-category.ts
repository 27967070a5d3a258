/**
 * The paper's Bash command categories (paper-artifacts.md §3.6): lower-case the command,
 * take the first matching rule. Two orders exist in the paper's code:
 *  - 'time-share' (analyze_tool_time_ratio / characterization; used for time shares), and
 *  - 'burst' (analyze_new_insights; used for burst profiles; no Shell/Environment).
 */
export type BashCategory =
  | 'Test Execution'
  | 'Git Operations'
  | 'Package Install'
  | 'File Exploration'
  | 'Python Snippet'
  | 'Python Run'
  | 'Text Processing'
  | 'Shell/Environment'
  | 'Other'

const RULES: Record<Exclude<BashCategory, 'Other'>, RegExp> = {
  'File Exploration': /\bls\b|\bfind\b|\btree\b|\bwc\b|\bdu\b|\bdf\b/,
  'Git Operations': /\bgit\s+(diff|log|status|show|add|commit|checkout|stash|branch|reset)\b/,
  'Package Install': /\bpip\s+install\b|\bconda\s+install\b|\bapt\b|\byum\b/,
  'Python Run': /\bpython\b|\bpython3\b/,
  'Python Snippet': /\bpython\s+-c\b|\bpython3\s+-c\b/,
  'Shell/Environment': /\bcd\b|\bsource\b|\bexport\b|\bchmod\b|\bmkdir\b/,
  'Test Execution': /\bpytest\b|\bpython\s+-m\s+pytest\b|\btox\b|\bnose\b|\bunittest\b/,
  'Text Processing': /\bcat\b|\bhead\b|\btail\b|\bgrep\b|\bsed\b|\bawk\b/,
}

const ORDERS = {
  burst: ['Test Execution', 'Package Install', 'Git Operations', 'Python Snippet', 'Python Run', 'File Exploration', 'Text Processing'],
  'time-share': ['Test Execution', 'Git Operations', 'Package Install', 'File Exploration', 'Python Snippet', 'Python Run', 'Text Processing', 'Shell/Environment'],
} as const satisfies Record<string, Exclude<BashCategory, 'Other'>[]>

export type BashCategoryVariant = keyof typeof ORDERS

export function categorizeBash(command: string, variant: BashCategoryVariant = 'time-share'): BashCategory {
  const cmd = command.toLowerCase()
  for (const cat of ORDERS[variant]) if (RULES[cat].test(cmd)) return cat
  return 'Other'
}
