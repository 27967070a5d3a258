import {runCommand} from '@oclif/test'
import {describe, expect, it} from 'vitest'

import type {DoctorResult} from '../../cli/commands/doctor.js'

// Runs the built command (oclif loads ./dist/cli/commands): `npm run build` first.
describe('agentcgroup doctor', () => {
  it('--json prints the feature report', async () => {
    const {stdout, error} = await runCommand(['doctor', '--json'], {root: process.cwd()})
    expect(error).toBeUndefined()
    const report = JSON.parse(stdout) as DoctorResult
    expect(['v1', 'v2', 'hybrid', 'none']).toContain(report.cgroup.layout)
    expect(Object.keys(report.cgroup.controllers)).toEqual(['memory', 'cpu', 'cpuacct', 'freezer', 'pids'])
    const names = report.items.map((i) => i.name)
    for (const n of ['cgroup', 'memory', 'btf', 'psi', 'sched_ext', 'memcg_bpf_ops', 'libbpf', 'bpftool', 'clang', 'podman', 'runc', 'crun', 'chromium', 'root']) {
      expect(names).toContain(n)
    }
    for (const i of report.items) {
      expect(typeof i.ok).toBe('boolean')
      expect(typeof i.detail).toBe('string')
      if (!i.ok) expect(i.disables).toMatch(/\S/)
    }
    expect(report.missing).toBe(report.items.filter((i) => !i.ok).length)
  })

  it('prints a table with ✓/✗ and disables lines, and does not fail', async () => {
    const {stdout, error} = await runCommand(['doctor'], {root: process.cwd()})
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/^kernel \S+, cgroup layout (v1|v2|hybrid|none)/)
    expect(stdout).toMatch(/^[✓✗] memory /m)
    const missing = (stdout.match(/^✗ /gm) ?? []).length
    expect((stdout.match(/^\s+disables: /gm) ?? []).length).toBe(missing)
  })
})
