/** Child processes as promises: output collected, a timeout that kills, no shell unless asked. */
import {spawn, SpawnOptions} from 'node:child_process'
import {accessSync, constants} from 'node:fs'

export interface ExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
}

export interface ExecOptions extends SpawnOptions {
  input?: string
  timeoutMs?: number
  /** called with each stdout chunk (e.g. to watch for a ready line) */
  onStdout?: (chunk: string) => void
}

export function run(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const {input, timeoutMs, onStdout, ...spawnOpts} = opts
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts})
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true
          child.kill('SIGKILL')
        }, timeoutMs)
      : null
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      onStdout?.(d)
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.on('error', (error) => {
      if (timer) clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      resolve({code, signal, stderr, stdout, timedOut})
    })
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })
}

/** Like run(), but a non-zero exit throws an Error whose message is the tool's last stderr line. */
export async function runOk(cmd: string, args: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0) {
    const last = (r.stderr.trim() || r.stdout.trim()).split('\n').at(-1) ?? ''
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}: ${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}${last ? `: ${last}` : ''}`)
  }
  return r.stdout
}

export function commandExists(cmd: string): boolean {
  const paths = (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')
  return [...paths, '/usr/sbin', '/sbin'].some((dir) => {
    try {
      accessSync(`${dir}/${cmd}`, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}
