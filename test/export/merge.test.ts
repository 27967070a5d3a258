/**
 * `agentcgroup merge`: two shard stores merged give the same rows as importing both shards'
 * exports into one store; exports (any format) and an existing OUT merge the same way.
 */
import {copyFileSync} from 'node:fs'
import {join} from 'node:path'

import {runCommand} from '@oclif/test'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {MergeCommandResult} from '../../cli/commands/merge.js'
import {mergeInto} from '../../datasets/export/merge.js'
import {importRecordings} from '../../datasets/import/importer.js'
import {Store} from '../../datasets/store.js'
import {tempDir} from '../fixtures/recordings.js'
import {cleanup, diffStores, expectIdentical, exportOf, shardStore, writeRecordings} from './helpers.js'

const dirs: string[] = []
afterAll(() => cleanup(dirs))

describe('merge of shard stores and exports', () => {
  let dir: string
  let a: string
  let b: string
  let reference: string

  beforeAll(async () => {
    dir = tempDir()
    dirs.push(dir)
    const [alpha, beta] = writeRecordings(join(dir, 'recordings'))
    a = join(dir, 'shard-0.duckdb')
    b = join(dir, 'shard-1.duckdb')
    await shardStore(a, alpha, 'edge/tricky__values-1/attempt_1')
    await shardStore(b, beta, 'edge/tricky__values-2/attempt_1')
    // the reference: both shards' exports imported into one store
    reference = join(dir, 'reference.duckdb')
    const store = await Store.open(reference)
    const result = await importRecordings(store, {paths: [await exportOf(a, join(dir, 'export-0')), await exportOf(b, join(dir, 'export-1'))]})
    store.close()
    expect(result.imported).toHaveLength(7)
  })

  it('two shard stores give the same rows as importing both exports', async () => {
    const out = join(dir, 'merged.duckdb')
    const {error, stdout} = await runCommand(['merge', out, a, b, '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const result = JSON.parse(stdout) as MergeCommandResult
    expect(result).toMatchObject({created: true, runs_added: 7})
    expect(result.inputs.map((i) => [i.kind, i.runs])).toEqual([['store', 3], ['store', 4]])
    expectIdentical(await diffStores(out, reference))
  })

  it('exports in any format merge to the same rows, also into an existing store', async () => {
    const out = join(dir, 'from-exports.duckdb')
    await mergeInto(out, [await exportOf(a, join(dir, 'csv-0'), 'csv')])
    const second = await mergeInto(out, [await exportOf(b, join(dir, 'json-1'), 'json')])
    expect(second).toMatchObject({created: false, runs_added: 4})
    expectIdentical(await diffStores(out, reference))
  })

  it('a store and an export mix', async () => {
    const out = join(dir, 'mixed.duckdb')
    await mergeInto(out, [a, join(dir, 'export-1')])
    expectIdentical(await diffStores(out, reference))
  })

  it('leaves its inputs untouched', async () => {
    const copy = join(dir, 'shard-0-copy.duckdb')
    copyFileSync(a, copy)
    await mergeInto(join(dir, 'again.duckdb'), [a])
    expectIdentical(await diffStores(a, copy))
  })
})
