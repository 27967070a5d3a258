/**
 * One clock per run: CLOCK_MONOTONIC (the BPF clock, and Node's hrtime) read together with
 * CLOCK_REALTIME once, so every sample and event of the run is converted to absolute UTC
 * microseconds with the same offset (stored as runs.bpf_clock_offset_ns). The conversion is
 * datasets/clock.ts monoNsToUs, done here on numbers because it runs once per BPF event.
 */
import {clockSync} from '../../bpf/index.js'

export class RunClock {
  private readonly monoBase: number
  private readonly wallBaseUs: number

  constructor(readonly sync: {monoNs: bigint; wallNs: bigint}) {
    this.monoBase = Number(sync.monoNs)
    this.wallBaseUs = Number(sync.wallNs / 1000n)
  }

  /** The addon's paired read when it loads; else two reads from JavaScript (about 1 µs apart). */
  static take(): RunClock {
    try {
      return new RunClock(clockSync())
    } catch {
      const monoNs = process.hrtime.bigint()
      const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6))
      return new RunClock({monoNs, wallNs})
    }
  }

  /** wall - mono, ns */
  get offsetNs(): bigint {
    return this.sync.wallNs - this.sync.monoNs
  }

  /** CLOCK_MONOTONIC ns (a number: exact to well under 1 µs) to UTC µs. */
  monoToUs(monoNs: number): number {
    return this.wallBaseUs + Math.floor((monoNs - this.monoBase + Number(this.sync.wallNs % 1000n)) / 1000)
  }

  /** Now, in UTC µs on this clock (process.hrtime is CLOCK_MONOTONIC). */
  nowUs(): number {
    return this.monoToUs(Number(process.hrtime.bigint()))
  }
}
