/**
 * Which runs a report covers (--dataset, --run), as one SQL condition on run_id with bound
 * parameters, so every query of the report sees the same runs. Figures use the valid runs
 * of the scope (the paper's filter); --run names runs explicitly and keeps them even when
 * they are not valid.
 */
import type {SqlParam} from '../../datasets/store.js'
import {sqlInList} from '../../datasets/sql-in.js'

export interface ReportFilter {
  datasets?: string[]
  runIds?: string[]
}

export interface Scope {
  /** `<col> IN (...)` over all runs in scope */
  all: (col?: string) => string
  /** the same, restricted to the runs the figures use */
  figures: (col?: string) => string
  params: Record<string, SqlParam>
}

export function makeScope(filter: ReportFilter): Scope {
  const params: Record<string, SqlParam> = {}
  const where: string[] = []
  if (filter.datasets?.length) where.push(sqlInList('dataset', 'scope_d', filter.datasets, params))
  if (filter.runIds?.length) where.push(sqlInList('run_id', 'scope_r', filter.runIds, params))
  const cond = where.length > 0 ? where.join(' AND ') : 'true'
  const validCond = filter.runIds?.length ? cond : `${cond} AND valid`
  return {
    all: (col = 'run_id') => `${col} IN (SELECT run_id FROM runs WHERE ${cond})`,
    figures: (col = 'run_id') => `${col} IN (SELECT run_id FROM runs WHERE ${validCond})`,
    params,
  }
}
