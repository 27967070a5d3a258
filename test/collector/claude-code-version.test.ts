/** --agent-version: other pure-JS Claude Code releases are installed on first use from npm. */
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {claudeCodeDir} from '../../collector/agents/claude-code.js'
import {tempDir} from '../fixtures/recordings.js'

describe('Claude Code versions', () => {
  it('installs 2.0.0 (the version that recorded the paper) on first use and runs it', () => {
    const dir = claudeCodeDir('2.0.0')
    expect(dir).toMatch(/claude-code-2\.0\.0/)
    // a private HOME: the CLI must neither read nor write the user's ~/.claude*
    const home = tempDir()
    const out = execFileSync(process.execPath, [join(dir, 'cli.js'), '--version'], {encoding: 'utf8', env: {...process.env, DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1', HOME: home}})
    expect(out.trim()).toMatch(/^2\.0\.0\b/)
  }, 240_000)

  it('refuses versions that cannot run here, saying why', () => {
    expect(() => claudeCodeDir('2.1.200')).toThrow(/only the pure-JavaScript releases 2\.0\.0-2\.1\.112 run here/)
  })
})
