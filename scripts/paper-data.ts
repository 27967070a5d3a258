/** Where the benchmarks find the paper's published recordings: an argument, else ../shared. */
import {join, resolve} from 'node:path'

export function paperDataPath(arg?: string): string {
  return resolve(arg ?? process.env.AGENTCGROUP_PAPER_DATA ?? join(process.cwd(), '..', 'shared', 'datasets', 'agentcgroup-paper'))
}
