/**
 * The kernel's memory.high throttle (mm/memcontrol.c calculate_high_delay): a task over high
 * sleeps on return to user space for
 *   penalty = (overage/high)^2 * 2^40 * HZ >> 34  jiffies per 64-page batch (= ratio^2 * 64 s),
 * skipped below 10 ms, at most 2 s per return. Used by the simulator's v2 model and by the
 * cgroup-v1 emulation of memory.high (which has no such throttle).
 */
const MAX_DELAY_MS = 2000
const MIN_DELAY_MS = 10
const BATCH_BYTES = 64 * 4096

/** Milliseconds a task sleeps after charging `chargedBytes` while `usage` is over `high`. */
export function highPenaltyMs(usageBytes: number, highBytes: number, chargedBytes: number): number {
  if (highBytes <= 0 || usageBytes <= highBytes) return 0
  const ratio = (usageBytes - highBytes) / highBytes
  const perBatchMs = ratio * ratio * 64_000
  const ms = (perBatchMs * chargedBytes) / BATCH_BYTES
  if (ms < MIN_DELAY_MS) return 0
  return Math.min(MAX_DELAY_MS, ms)
}
