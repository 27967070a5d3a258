import {Args} from '@oclif/core'

import {UserError} from '../../datasets/errors.js'
import {BaseCommand, dbFlag} from '../base-command.js'
import {withStore} from '../open-store.js'
import {renderTable} from '../render.js'

export interface SqlResult {
  columns: string[]
  rows: Record<string, unknown>[]
}

export default class Sql extends BaseCommand {
  static override args = {
    query: Args.string({description: 'SQL (DuckDB dialect); the store is opened read-only', required: true}),
  }

  static override description = `Run a read-only SQL query on the store and print the result.

Tables: runs, phases, samples, tool_calls, processes, llm_turns, events, transcripts, schema_version. Times are UTC microseconds (*_us), sizes bytes (*_bytes). BIGINT values are strings in --json; cast to DOUBLE for numbers.`

  static override examples = [
    `<%= config.bin %> <%= command.id %> "SELECT dataset, count(*) FROM runs GROUP BY ALL"`,
    `<%= config.bin %> <%= command.id %> "SELECT tool, count(*) n FROM tool_calls GROUP BY tool ORDER BY n DESC" --json`,
  ]

  static override flags = {db: dbFlag}

  // unquoted words are joined: `agentcgroup sql SELECT count(*) FROM runs` works too
  static override strict = false

  async run(): Promise<SqlResult> {
    const {argv, flags} = await this.parse(Sql)
    const query = (argv as string[]).join(' ')
    const result = await withStore(flags.db, 'read', async (store) => {
      try {
        return await store.queryColumns(query)
      } catch (error) {
        const msg = (error as Error).message.split('\n')[0]
        throw new UserError(/read-only/i.test(msg) ? `the store is opened read-only: ${msg}` : `query failed: ${msg}`)
      }
    })
    if (!this.jsonEnabled()) {
      this.log(renderTable(result.columns, result.rows))
      this.log(`(${result.rows.length} rows)`)
    }
    return {columns: result.columns, rows: result.rows.map((r) => Object.fromEntries(result.columns.map((c, i) => [c, r[i]])))}
  }
}
