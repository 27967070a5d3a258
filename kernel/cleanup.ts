/**
 * Cleanup of the cgroups a command created: removed when the command ends, on SIGINT and
 * SIGTERM (then the process exits 130 / 143) and on a normal or error exit. Leftovers of a
 * SIGKILLed process are reaped by the next command (cgroup.ts reapLeftovers).
 * Removal thaws frozen groups first, so no task is ever left frozen.
 */
import {Cgroup} from './cgroup.js'

const live = new Set<Cgroup>()
const extraHooks = new Set<() => void>()
let installed = false
let signalMode: 'exit' | 'defer' = 'exit'
let interrupted: NodeJS.Signals | null = null

/**
 * 'exit' (default): a signal removes our groups and exits. 'defer': the first SIGINT/SIGTERM
 * only marks the command interrupted (it stops its child and stores what it has, then
 * returns); a second one removes and exits at once.
 */
export function setSignalMode(mode: 'exit' | 'defer'): void {
  install()
  signalMode = mode
}

/** The signal that interrupted the command (in 'defer' mode), or null. */
export function interruptedBy(): NodeJS.Signals | null {
  return interrupted
}

function removeAll(): void {
  for (const hook of [...extraHooks]) {
    try {
      hook()
    } catch {
      // keep going: every group must be tried
    }
  }
  for (const cg of [...live].reverse()) {
    try {
      cg.remove()
    } catch {
      // reported by the next start's reap
    }
    live.delete(cg)
  }
}

function install(): void {
  if (installed) return
  installed = true
  process.once('exit', removeAll)
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (signalMode === 'defer' && interrupted === null) {
        interrupted = signal
        for (const fn of interruptListeners) fn(signal)
        return
      }
      removeAll()
      process.exit(code)
    })
  }
}

const interruptListeners = new Set<(signal: NodeJS.Signals) => void>()

/** Called on the first SIGINT/SIGTERM in 'defer' mode (e.g. to forward it to the child). */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  interruptListeners.add(fn)
  return () => interruptListeners.delete(fn)
}

/** Registers a group for removal at exit; returns a function that removes it now. */
export function trackCgroup(cg: Cgroup): () => void {
  install()
  live.add(cg)
  return () => {
    if (!live.has(cg)) return
    live.delete(cg)
    cg.remove()
  }
}

/** A synchronous hook run before groups are removed (e.g. kill a tenant, stop a sampler). */
export function onCleanup(hook: () => void): () => void {
  install()
  extraHooks.add(hook)
  return () => extraHooks.delete(hook)
}
