/**
 * resources.json of the paper's runner: podman-stats samples, about one a second.
 *   {"samples":[{"timestamp": naive local, "epoch": float s, "mem_usage":"185.3MB / 134.5GB",
 *                "mem_percent":"0.14%", "cpu_percent":"8.16%"}...], "summary":{...}}
 * cpu_percent is podman's lifetime average since container start (stored as such).
 * The first sample is the container-start transient; "0B / 0B" samples mean the container
 * had exited. Both are kept and flagged. The stored summary is never trusted.
 */
import {epochSecondsToUs, learnOffsetMin, naiveLocalToUs} from '../clock.js'
import {RecordingError} from '../errors.js'
import type {SampleRow} from '../model.js'
import {Fields, readJsonFile} from './json-file.js'
import {parseMemUsage, parsePercent} from './sizes.js'

export interface ParsedResources {
  samples: SampleRow[]
  /** offset of the runner's naive local clock (minutes east of UTC), learned from epoch */
  localOffsetMin: number | null
  notes: string[]
}

export function readResourcesJson(file: string, fallbackOffsetMin: number | null = null): ParsedResources {
  const top = Fields.of(file, readJsonFile(file))
  const raw = top.reqArr('samples')
  const samples: SampleRow[] = []
  const notes: string[] = []
  let localOffsetMin: number | null = null
  let assumedUtc = false
  for (let i = 0; i < raw.length; i++) {
    const s = top.item('samples', i, raw[i])
    const epoch = s.num('epoch')
    const stamp = s.str('timestamp')
    let tUs: number | null = null
    if (epoch !== null) {
      // time.time() seconds; milliseconds (or nanoseconds) would land centuries ahead
      if (epoch < 0 || epoch >= 1e10) throw new RecordingError({field: `samples[${i}].epoch`, file}, `not epoch seconds: ${epoch} (milliseconds?)`)
      tUs = epochSecondsToUs(epoch)
      if (localOffsetMin === null && stamp) localOffsetMin = learnOffsetMin(stamp, epoch)
    } else if (stamp) {
      const off = fallbackOffsetMin ?? 0
      assumedUtc ||= fallbackOffsetMin === null
      tUs = naiveLocalToUs(stamp, off)
    }
    if (tUs === null) throw new RecordingError({field: `samples[${i}].epoch`, file}, 'no usable epoch or timestamp')
    const memText = s.reqStr('mem_usage')
    let mem
    try {
      mem = parseMemUsage(memText)
    } catch (error) {
      throw new RecordingError({field: `samples[${i}].mem_usage`, file}, (error as Error).message)
    }
    const cpuText = s.str('cpu_percent')
    let cpu: number | null = null
    if (cpuText !== null) {
      try {
        cpu = parsePercent(cpuText)
      } catch (error) {
        throw new RecordingError({field: `samples[${i}].cpu_percent`, file}, (error as Error).message)
      }
    }
    const flags: string[] = []
    if (i === 0) flags.push('start_transient')
    if (mem.usedBytes === 0 && mem.limitBytes === null) flags.push('exit_0b')
    samples.push({
      cpu_pct: cpu,
      cpu_pct_kind: cpu === null ? null : 'lifetime_avg',
      flags: flags.length > 0 ? flags.join(',') : null,
      mem_bytes: mem.usedBytes,
      mem_limit_bytes: mem.limitBytes,
      source: 'podman-stats',
      t_us: tUs,
    })
  }
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].t_us < samples[i - 1].t_us) {
      throw new RecordingError({field: `samples[${i}].epoch`, file}, 'time goes backwards')
    }
  }
  if (assumedUtc) notes.push('resources.json has no epoch: naive timestamps read as UTC')
  return {localOffsetMin, notes, samples}
}
