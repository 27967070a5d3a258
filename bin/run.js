#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
// partial success (documented exit code 3) is set by commands that print a full result first
const {takeExitStatus} = await import('../dist/cli/exit-status.js')
const code = takeExitStatus()
if (code !== 0) process.exitCode = code
