import {rmSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {epochSecondsToUs, isoZonedToUs, learnOffsetMin, monoNsToUs, naiveLocalToUs, parseIso} from '../../datasets/clock.js'
import {categorizeBash} from '../../datasets/formats/bash-category.js'
import {parseCgroupSize, parseMemUsage, parsePercent, parseSizeBytes} from '../../datasets/formats/sizes.js'
import {discover} from '../../datasets/import/discover.js'
import {redactSecrets} from '../../datasets/redact.js'
import {tempDir, writeAttempt} from '../fixtures/recordings.js'

describe('podman size strings', () => {
  it.each([
    ['0B', 0],
    ['512B', 512],
    ['12.5kB', 12_500],
    ['12.5 kB', 12_500],
    ['3KB', 3000],
    ['185.3MB', 185_300_000],
    ['193MB', 193_000_000],
    ['193 MB', 193_000_000],
    ['1.362GB', 1_362_000_000],
    ['2GB', 2_000_000_000],
    ['1.5TB', 1.5e12],
    ['4KiB', 4096],
    ['1.5 MiB', 1_572_864],
    ['2GiB', 2 * 1024 ** 3],
    ['1TiB', 1024 ** 4],
  ])('%s = %d bytes', (text, bytes) => {
    expect(parseSizeBytes(text)).toBe(bytes)
  })

  it.each(['12XB', '12 mb', '12', 'MB', '1,2MB', '-5MB', ''])('rejects %j with the text in the message', (text) => {
    expect(() => parseSizeBytes(text)).toThrow(text === '' ? /not a size/ : new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') || 'size'))
  })

  it('splits MemUsage and treats a 0B limit (exited container) as no limit', () => {
    expect(parseMemUsage('185.3MB / 134.5GB')).toEqual({limitBytes: 134_500_000_000, usedBytes: 185_300_000})
    expect(parseMemUsage('0B / 0B')).toEqual({limitBytes: null, usedBytes: 0})
    expect(parseMemUsage('4.2kB / 4.295GB')).toEqual({limitBytes: 4_295_000_000, usedBytes: 4200})
    expect(() => parseMemUsage('185.3MB')).toThrow(/expected "<used> \/ <limit>"/)
  })

  it('parses percentages and cgroup-style sizes (1100M = MiB)', () => {
    expect(parsePercent('101.51%')).toBe(101.51)
    expect(() => parsePercent('12')).toThrow(/not a percentage/)
    expect(parseCgroupSize('1100M')).toBe(1100 * 1024 ** 2)
    expect(parseCgroupSize('4g')).toBe(4 * 1024 ** 3)
    expect(parseCgroupSize('4096')).toBe(4096)
    expect(parseCgroupSize('1GB')).toBe(1e9)
  })
})

describe('clocks', () => {
  it('reads zoned ISO times as absolute microseconds', () => {
    expect(isoZonedToUs('2026-02-07T01:47:17.879Z')).toBe(Date.UTC(2026, 1, 7, 1, 47, 17, 879) * 1000)
    expect(isoZonedToUs('2026-02-07T01:47:17.123456+01:00')).toBe(Date.UTC(2026, 1, 7, 0, 47, 17) * 1000 + 123_456)
    expect(isoZonedToUs('2026-02-06T17:47:11.545465')).toBeNull() // naive: needs an offset
    expect(isoZonedToUs('yesterday')).toBeNull()
    // out-of-range fields are refused, not rolled over into the next month or day
    expect(isoZonedToUs('2026-02-31T00:00:00Z')).toBeNull()
    expect(isoZonedToUs('2026-13-01T00:00:00Z')).toBeNull()
    expect(isoZonedToUs('2026-02-01T24:00:00Z')).toBeNull()
  })

  it('lists a self-referencing symlink as a symlink loop instead of ignoring it', () => {
    const dir = tempDir()
    symlinkSync(join(dir, 'x'), join(dir, 'x'))
    writeAttempt(join(dir, 't', 'attempt_1'))
    const found = discover([dir])
    expect(found.runs).toHaveLength(1)
    expect(found.skipped).toEqual([{path: join(dir, 'x'), reason: expect.stringMatching(/^symlink loop/)}])
    rmSync(dir, {force: true, recursive: true})
  })

  it('learns the runner\'s UTC-8 offset from a (naive, epoch) pair and converts naive times', () => {
    // a real sample of all_images_haiku/dask__dask-11628
    const off = learnOffsetMin('2026-02-06T17:47:11.545465', 1770428831.545477)
    expect(off).toBe(-480)
    expect(naiveLocalToUs('2026-02-06T17:47:11.545465', off!)).toBe(1770428831545465)
    expect(epochSecondsToUs(1770428831.545477)).toBe(1770428831545477)
    expect(parseIso('2026-02-06 17:47:11')?.offsetMin).toBeNull()
  })

  it('places CLOCK_MONOTONIC ns through a sync point', () => {
    const sync = {monoNs: 5_000_000_000n, wallNs: 1_770_000_000_000_000_000n}
    expect(monoNsToUs(6_500_000_000n, sync)).toBe(1_770_000_000_000_000 + 1_500_000)
  })
})

describe('Bash categories (paper-artifacts.md §3.6)', () => {
  it('takes the first match in the time-share order', () => {
    expect(categorizeBash('pip install -e .[test] && pytest -x')).toBe('Test Execution')
    expect(categorizeBash('git diff HEAD')).toBe('Git Operations')
    expect(categorizeBash('cd /testbed && ls -la && python -c "print(1)"')).toBe('File Exploration')
    expect(categorizeBash('cd /testbed && python -c "print(1)"')).toBe('Python Snippet')
    expect(categorizeBash('python setup.py build')).toBe('Python Run')
    expect(categorizeBash('cat a.py | head')).toBe('Text Processing')
    expect(categorizeBash('mkdir -p out')).toBe('Shell/Environment')
    expect(categorizeBash('make')).toBe('Other')
  })

  it('uses the burst order where asked (install before git, no Shell/Environment)', () => {
    expect(categorizeBash('git stash && pip install x', 'time-share')).toBe('Git Operations')
    expect(categorizeBash('git stash && pip install x', 'burst')).toBe('Package Install')
    expect(categorizeBash('cd x && python -c 1 && ls', 'burst')).toBe('Python Snippet')
    expect(categorizeBash('mkdir out', 'burst')).toBe('Other')
  })
})

describe('secret redaction', () => {
  it.each([
    ['export ANTHROPIC_API_KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv', 'sk-ant-api03'],
    ['curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"', 'eyJhbGci'],
    ['key sk-proj-abcdefghijklmnopqrstuvwx1234 here', 'sk-proj-abcdef'],
    ['AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI'],
    ['{"command":"OPENAI_API_KEY=abcdef123456789 python x.py"}', 'abcdef123456789'],
    ['{\\"api_key\\": \\"zzzzyyyyxxxx1111\\"}', 'zzzzyyyyxxxx1111'],
  ])('removes the secret from %j', (text, secret) => {
    const out = redactSecrets(text)
    expect(out).not.toContain(secret)
    expect(out).toMatch(/\[REDACTED:[a-z-]+\]/)
  })

  it('leaves ordinary text alone and keeps JSON valid', () => {
    const plain = 'python -m pytest tests/test_keys.py -k "KEY" --tb=short'
    expect(redactSecrets(plain)).toBe(plain)
    const json = JSON.stringify({cmd: 'export ANTHROPIC_API_KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv && claude'})
    expect(() => JSON.parse(redactSecrets(json))).not.toThrow()
  })
})
