import {rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {readCatalog} from '../../datasets/catalog/catalog-file.js'
import {tempDir} from '../fixtures/recordings.js'

describe('user catalog files carry test commands and problem statements', () => {
  it('reads them, and names a wrong one in one line', () => {
    const dir = tempDir()
    const good = join(dir, 'good.json')
    writeFileSync(good, JSON.stringify([{instance_id: 'a__b-1', problem_statement: 'p', test_command: 'pytest -q'}, 'c__d-2']))
    expect(readCatalog(good).tasks).toEqual([
      {instance_id: 'a__b-1', peak_mem_bytes: null, problem_statement: 'p', test_command: 'pytest -q'},
      {instance_id: 'c__d-2', peak_mem_bytes: null},
    ])
    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify([{instance_id: 'a__b-1', test_command: 7}]))
    expect(() => readCatalog(bad)).toThrow(`${bad}: item 0: test_command must be a non-empty string or null`)
    rmSync(dir, {force: true, recursive: true})
  })
})
