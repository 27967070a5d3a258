/**
 * Entry of the replay model server as its own process, so it can be started inside a
 * container's network namespace (`nsenter --net=/proc/<pid>/ns/net node replay-main.js
 * <config.json>`) while its CPU and memory stay out of the container's cgroup.
 * Config: {sessions: [[file, ...subagent files], ...], latency, port, host}. It prints one JSON
 * line per event on stdout, the first {"kind":"listening","port":N}; SIGTERM stops it.
 */
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'

import {ReplayServer, LatencyMode} from './replay-server.js'
import {parseSession} from './session.js'

interface Config {
  sessions: string[][]
  latency: LatencyMode
  port?: number
  host?: string
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as Config
  const sessions = config.sessions.map((files) => parseSession(basename(files[0]), files.map((file) => ({file, text: readFileSync(file, 'utf8')}))))
  const server = new ReplayServer({latency: config.latency, onEvent: (ev) => process.stdout.write(`${JSON.stringify(ev)}\n`), sessions})
  const port = await server.listen(config.port ?? 0, config.host ?? '127.0.0.1')
  process.stdout.write(`${JSON.stringify({kind: 'listening', port})}\n`)
  const stop = () => {
    void server.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // the parent's death closes our stdin: never outlive the run
  process.stdin.on('end', stop).resume()
}

main().catch((error: unknown) => {
  process.stderr.write(`replay server: ${(error as Error).message}\n`)
  process.exit(1)
})
