/**
 * Shards of a task list: the one definition `run-benchmark --shard i/n` and `k8s-job` share,
 * so that the pods of a Kubernetes Indexed Job run every task exactly once between them.
 *
 * Rule: sort the items by task id (plain code-unit order, never the locale's; items with the
 * same id keep their catalog order), then shard i of n takes the items at positions p with
 * p % n === i (round robin). Round robin rather than contiguous blocks because a sorted
 * catalog groups tasks of one repository together, and those share a memory profile
 * (dask tasks are heavy): dealt out, every shard gets a similar mix. Shard indexes are
 * 0-based, like Kubernetes' JOB_COMPLETION_INDEX; a shard may be empty when n exceeds the
 * number of items.
 */
import {UserError} from '../errors.js'

export interface Shard {
  index: number
  count: number
}

/** The id of a catalog item: a string itself, or its instance_id / task_id / id field. */
export function taskIdOf(item: unknown): string {
  if (typeof item === 'string') return item
  if (typeof item === 'object' && item !== null) {
    const o = item as {instance_id?: unknown; task_id?: unknown; id?: unknown}
    const id = o.instance_id ?? o.task_id ?? o.id
    if (typeof id === 'string') return id
  }
  throw new Error(`internal: catalog item without a task id: ${JSON.stringify(item)}`)
}

export function shardSlice<T>(items: T[], index: number, count: number, idOf: (item: T) => string = taskIdOf): T[] {
  assertShard(index, count)
  const sorted = items
    .map((item, pos) => ({id: idOf(item), item, pos}))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.pos - b.pos))
  return sorted.filter((_, p) => p % count === index).map((x) => x.item)
}

/** Parses `--shard i/n` (0 <= i < n). */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text)
  if (!m) throw new UserError(`--shard ${JSON.stringify(text)}: expected i/n, e.g. 0/4 (i counts from 0, like JOB_COMPLETION_INDEX)`)
  const shard = {count: Number(m[2]), index: Number(m[1])}
  assertShard(shard.index, shard.count)
  return shard
}

function assertShard(index: number, count: number): void {
  if (!Number.isInteger(count) || count < 1) throw new UserError(`shard count ${count}: must be a whole number >= 1`)
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new UserError(`shard index ${index}: must be a whole number from 0 to ${count - 1} (shards count from 0, like JOB_COMPLETION_INDEX)`)
  }
}
