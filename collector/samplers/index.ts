/**
 * Samplers by name, and the one fallback: `bpf` on a machine that cannot run BPF (not root,
 * no BTF, addon not built) becomes `cgroupfs`, with one warning line saying why.
 */
import {BpfUnavailableError} from '../../bpf/index.js'
import {BpfSampler} from './bpf.js'
import {CgroupfsSampler} from './cgroupfs.js'
import {PodmanStatsSampler, type PodmanStatsOptions} from './podman-stats.js'
import type {SamplerTarget} from './target.js'
import type {Sampler, SamplerName, SamplerOptions} from './types.js'

export type {Sampler, SamplerInfo, SamplerName, SamplerOptions, SamplerResult} from './types.js'
export {RunClock} from './clock.js'
export {targetFromPaths, targetOfCgroup, type SamplerTarget} from './target.js'

export const SAMPLER_NAMES: readonly SamplerName[] = ['bpf', 'cgroupfs', 'podman-stats']

export function createSampler(name: SamplerName): Sampler {
  switch (name) {
    case 'bpf':
      return new BpfSampler()
    case 'cgroupfs':
      return new CgroupfsSampler()
    case 'podman-stats':
      return new PodmanStatsSampler()
  }
}

/** Starts the named sampler on the target; returns it with the warnings of the start. */
export async function startSampler(
  name: SamplerName,
  target: SamplerTarget,
  opts: SamplerOptions & PodmanStatsOptions,
): Promise<{sampler: Sampler; warnings: string[]}> {
  const sampler = createSampler(name)
  try {
    await sampler.start(target, opts)
    return {sampler, warnings: []}
  } catch (error) {
    if (!(error instanceof BpfUnavailableError)) throw error
    const fallback = new CgroupfsSampler()
    await fallback.start(target, opts)
    return {sampler: fallback, warnings: [`BPF unavailable (${error.message}): recording with the cgroupfs sampler`]}
  }
}
