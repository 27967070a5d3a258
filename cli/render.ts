/** Plain-text tables and progress for people (never used in --json mode). */

export function renderTable(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map(formatCell))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)))
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number'))
  const line = (vals: string[]) =>
    vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd()
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 100 ? 1 : 2)
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (typeof v === 'object') return JSON.stringify(v)
  const s = String(v).replace(/\s+/g, ' ')
  return s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** A progress line on stderr with counts, rate and ETA; a no-op unless stderr is a TTY. */
export function progressReporter(noun: string, enabled = Boolean(process.stderr.isTTY)): (done: number, total: number, current: string) => void {
  if (!enabled) return () => {}
  const t0 = performance.now()
  let last = 0
  return (done, total, current) => {
    const now = performance.now()
    if (done < total && now - last < 100) return
    last = now
    const width = 24
    const filled = total === 0 ? width : Math.round((done / total) * width)
    const elapsed = (now - t0) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${noun}  ${rate.toFixed(1)}/s  ETA ${eta}s  ${current}`
    process.stderr.write(`\r${bar.slice(0, (process.stderr.columns ?? 100) - 1).padEnd((process.stderr.columns ?? 100) - 1)}`)
    if (done >= total) process.stderr.write('\n')
  }
}
