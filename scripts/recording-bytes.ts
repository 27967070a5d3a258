/** Bytes of the recording files under a folder (what an import reads), for benchmark MB/s. */
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

const RECORDING_FILES = /^(results|resources|tool_calls|run_manifest)\.json$|\.jsonl$|^claude_(output|stderr)\.txt$/

export function recordingBytes(dir: string): number {
  let total = 0
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    const p = join(dir, e.name)
    if (e.isDirectory()) total += recordingBytes(p)
    else if (RECORDING_FILES.test(e.name)) total += statSync(p).size
  }
  return total
}
