/**
 * Starts the replay server as a child process (inside a network namespace when given one)
 * and collects its events. The child stops when we close its stdin or exit.
 */
import {ChildProcess, spawn} from 'node:child_process'
import {existsSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {packageRoot} from '../datasets/catalog/demo.js'
import type {LatencyMode, ReplayEvent} from './replay-server.js'

export interface ReplayProcess {
  port: number
  events: ReplayEvent[]
  stop(): Promise<void>
}

export async function startReplayProcess(opts: {sessions: string[][]; latency: LatencyMode; netnsPid: number | null; configDir: string; port?: number; onEvent?: (ev: ReplayEvent) => void}): Promise<ReplayProcess> {
  const config = join(opts.configDir, 'replay-config.json')
  writeFileSync(config, JSON.stringify({latency: opts.latency, port: opts.port ?? 0, sessions: opts.sessions}))
  const main = replayMainPath()
  const argv = opts.netnsPid ? ['nsenter', `--net=/proc/${opts.netnsPid}/ns/net`, process.execPath, main, config] : [process.execPath, main, config]
  const child: ChildProcess = spawn(argv[0], argv.slice(1), {stdio: ['pipe', 'pipe', 'pipe']})
  const events: ReplayEvent[] = []
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const port = await new Promise<number>((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error('replay server did not start within 15 s')), 15_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      const why = stderr.split('\n').find((l) => /Error|replay server:/.test(l)) ?? stderr.trim().split('\n')[0] ?? ''
      reject(new Error(`replay server exited (${code}): ${why.trim()}`))
    })
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let ev: Record<string, unknown>
        try {
          ev = JSON.parse(line) as Record<string, unknown>
        } catch {
          continue
        }
        if (ev.kind === 'listening') {
          clearTimeout(timer)
          resolve(Number(ev.port))
        } else {
          events.push(ev as unknown as ReplayEvent)
          opts.onEvent?.(ev as unknown as ReplayEvent)
        }
      }
    })
  })
  child.removeAllListeners('exit')
  return {
    events,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        const t = setTimeout(() => child.kill('SIGKILL'), 3000)
        child.once('exit', () => {
          clearTimeout(t)
          resolve()
        })
        child.stdin?.end()
        child.kill('SIGTERM')
      }),
  }
}

/** The compiled entry beside this module, or in dist/ when this module runs from source (tests). */
function replayMainPath(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const beside = join(here, 'replay-main.js')
  if (existsSync(beside)) return beside
  const built = join(packageRoot(), 'dist', 'collector', 'replay-main.js')
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`)
  return built
}
