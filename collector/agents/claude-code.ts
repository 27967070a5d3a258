/**
 * The real Claude Code CLI (pinned 2.1.112, pure JavaScript), installed by scripts/setup.sh
 * into .agentcgroup/claude-code-<version>/ (or AGENTCGROUP_CLAUDE_CODE_DIR). In Podman it is
 * mounted read-only at /opt/claude-code with the host's /usr/bin/node; HOME is a private host
 * dir, so the transcript lands at <home>/.claude/projects/<cwd slug>/<session-id>.jsonl.
 *
 * Model: by default our replay server in the container's network namespace (the container
 * keeps --network none); with ANTHROPIC_BASE_URL or an API key in the environment, that
 * endpoint instead (the key is passed through, never stored: transcripts are redacted).
 */
import {spawnSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {packageRoot} from '../../datasets/catalog/demo.js'
import {UserError} from '../../datasets/errors.js'
import {startReplayProcess} from '../replay-process.js'
import type {Mount} from '../runtime/types.js'
import {Agent, AgentContext, AgentResult, tail} from './types.js'

export const CLAUDE_CODE_VERSION = '2.1.112'
/** the replay server's port inside a container's network namespace */
const REPLAY_PORT = 38787

/** Pure-JS releases: 2.1.113+ download a native binary at install, 2.1.198+ need Node 22. */
const PURE_JS = /^(2\.0\.\d+|2\.1\.(\d|[1-9]\d|10\d|11[0-2]))$/

export function claudeCodeDir(version = CLAUDE_CODE_VERSION): string {
  const prefix = join(packageRoot(), '.agentcgroup', `claude-code-${version}`)
  const dir = process.env.AGENTCGROUP_CLAUDE_CODE_DIR ?? join(prefix, 'node_modules', '@anthropic-ai', 'claude-code')
  if (!existsSync(join(dir, 'cli.js')) && !process.env.AGENTCGROUP_CLAUDE_CODE_DIR && version !== CLAUDE_CODE_VERSION && PURE_JS.test(version)) {
    // another pinned release (e.g. 2.0.0, which recorded the paper's sessions): install it once
    // from the npm registry beside the default one; a failure is reported below in one line
    spawnSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--omit=optional', '--loglevel=error', `@anthropic-ai/claude-code@${version}`], {stdio: 'ignore', timeout: 180_000})
  }
  if (!existsSync(join(dir, 'cli.js'))) {
    const how =
      version === CLAUDE_CODE_VERSION
        ? 'run scripts/setup.sh'
        : PURE_JS.test(version)
          ? `installing it from npm failed; try npm install --prefix .agentcgroup/claude-code-${version} @anthropic-ai/claude-code@${version}`
          : 'only the pure-JavaScript releases 2.0.0-2.1.112 run here (later ones download a native binary or need Node 22)'
    throw new UserError(`Claude Code ${version} is not installed at ${dir}: ${how}, or set AGENTCGROUP_CLAUDE_CODE_DIR`)
  }
  return dir
}

/** Claude Code's project folder name: the cwd with every non-alphanumeric character as '-'. */
export function projectSlug(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-')
}

export class ClaudeCodeAgent implements Agent {
  readonly name = 'claude-code'

  constructor(private readonly version: string = CLAUDE_CODE_VERSION) {}

  mounts(ctx: Pick<AgentContext, 'homeDir' | 'runtime'>): Mount[] {
    const m: Mount[] = [
      {host: ctx.homeDir, target: '/cc-home'},
      {host: claudeCodeDir(this.version), readOnly: true, target: '/opt/claude-code'},
    ]
    if (ctx.runtime.name === 'podman') m.push({host: process.execPath, readOnly: true, target: '/usr/bin/node'})
    return m
  }

  /** the CLI is node (it renames itself claude); Bash calls run $SHELL -c, Glob and Grep exec rg */
  readonly toolCallComms = {agentComms: ['node', 'claude'], callComms: ['bash', 'zsh', 'sh', 'rg']}

  toolShell(argv: string): string | null {
    // every Bash call: bash -c "source <snapshot> && ... eval '<command>' ..."; Glob/Grep exec rg
    if (/^\S*bash -c '?source \S*shell-snapshots\/\S+ [\s\S]*eval /.test(argv)) return 'Bash'
    if (/(^|\/)rg( |$)/.test(argv.split(' ')[0] ?? '')) return 'Glob|Grep'
    return null
  }

  async run(ctx: AgentContext): Promise<AgentResult> {
    const rt = ctx.runtime
    const mounts = this.mounts(ctx)
    const home = rt.pathInside(mounts[0])
    const cli = join(rt.pathInside(mounts[1]), 'cli.js')
    const sessionId = randomUUID()
    const userUrl = process.env.ANTHROPIC_BASE_URL
    const userKey = process.env.ANTHROPIC_API_KEY ?? process.env.ANTHROPIC_AUTH_TOKEN
    let serverStart: Promise<Awaited<ReturnType<typeof startReplayProcess>>> | null = null
    let baseUrl = userUrl ?? null
    if (!baseUrl && !userKey) {
      if (!ctx.sessionFiles) throw new UserError(`task ${ctx.task.id}: no recorded session to replay (give --sessions DIR, a store with its transcript, or ANTHROPIC_BASE_URL/ANTHROPIC_API_KEY for a real model)`)
      // in the container's own network namespace every port is free: a fixed one lets the
      // server start while the CLI loads (~1.4 s), instead of before it
      const netns = rt.netnsPid()
      serverStart = startReplayProcess({configDir: ctx.scratchDir, latency: ctx.latency, netnsPid: netns, onEvent: (ev) => {
        if (ev.kind === 'request' && ev.turn === 0 && ev.thread === 'main') ctx.onActive(ev.t_us)
        ctx.onServerEvent(ev)
      }, port: netns ? REPLAY_PORT : 0, sessions: [ctx.sessionFiles]})
      // keep a failed start from being an unhandled rejection while the CLI runs
      serverStart.catch(() => {})
      baseUrl = `http://127.0.0.1:${netns ? REPLAY_PORT : (await serverStart).port}`
    } else if (rt.name === 'podman' && rt.netnsPid() !== null) {
      ctx.log('a real model endpoint needs a network: the container has --network none (use --runtime local, or serve a local endpoint inside the namespace)')
    }
    const tmp = rt.name === 'podman' ? '/tmp' : join(ctx.scratchDir, 'tmp')
    if (rt.name === 'local') mkdirSync(tmp, {recursive: true})
    const env: Record<string, string> = {
      ANTHROPIC_API_KEY: userKey ?? 'sk-replay-offline',
      ANTHROPIC_BASE_URL: baseUrl ?? '',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_TMPDIR: tmp,
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      HOME: home,
      IS_SANDBOX: '1',
      SHELL: '/bin/bash',
      TERM: 'dumb',
      TMPDIR: tmp,
      // tool-call cgroups: our wrapper is the shell of every Bash call (CLAUDE_CODE_SHELL
      // wins over SHELL; both must name bash or zsh)
      ...(ctx.shell ? {...ctx.shell.env, CLAUDE_CODE_SHELL: ctx.shell.path, SHELL: ctx.shell.path} : {}),
    }
    if (!baseUrl) delete env.ANTHROPIC_BASE_URL
    const argv = ['node', cli, '-p', ctx.prompt, '--dangerously-skip-permissions', '--output-format', 'stream-json', '--verbose', '--session-id', sessionId]
    let activeSeen = false
    let r
    const server = serverStart
    try {
      r = await rt.exec(argv, env, {
        onStdout: () => {
          // with a real endpoint, the first streamed record marks the agent as active
          if (!server && !activeSeen) {
            activeSeen = true
            ctx.onActive(Date.now() * 1000)
          }
        },
        timeoutMs: ctx.timeoutMs,
      })
    } finally {
      if (server) {
        try {
          await (await server).stop()
        } catch (error) {
          // the CLI could not reach it: this is why the run failed
          throw new Error(`replay server: ${(error as Error).message}`)
        }
      }
    }
    const projDir = join(ctx.homeDir, '.claude', 'projects', projectSlug(rt.workdir()))
    const transcripts = readTranscripts(projDir, sessionId)
    return {
      agentVersion: this.version,
      exitCode: r.code,
      outputTail: tail(r.stderr || r.stdout),
      timedOut: r.timedOut,
      toolCalls: [],
      transcripts,
    }
  }
}

function readTranscripts(projDir: string, sessionId: string): {file: string; text: string}[] {
  const main = join(projDir, `${sessionId}.jsonl`)
  if (!existsSync(main)) return []
  const out = [{file: `${sessionId}.jsonl`, text: readFileSync(main, 'utf8')}]
  const sub = join(projDir, sessionId, 'subagents')
  if (existsSync(sub)) {
    for (const f of readdirSync(sub).filter((n) => n.endsWith('.jsonl')).sort()) out.push({file: `${sessionId}/subagents/${f}`, text: readFileSync(join(sub, f), 'utf8')})
  }
  return out
}
