/** `col IN ($p0, $p1, ...)` with every value bound as a parameter (never spliced into SQL). */
import type {SqlParam} from './store.js'

export function sqlInList(col: string, prefix: string, values: readonly string[], params: Record<string, SqlParam>): string {
  const names = values.map((v, i) => {
    params[`${prefix}${i}`] = v
    return `$${prefix}${i}`
  })
  return `${col} IN (${names.join(', ')})`
}
