/**
 * The scripted agent: executes a recorded session's main-thread tool calls, in order, through
 * a real shell in the runtime (no Claude Code, no Node in the image). Bash runs as
 * `bash -c <command>`; Read, Write, Edit, Glob and Grep become cat, a shell write, find/grep.
 * Model latency is reproduced as in the replay server. Its tool calls are measured here
 * (source `scripted`): start and end of each command.
 */
import {categorizeBash} from '../../datasets/formats/bash-category.js'
import type {ToolCallRow} from '../../datasets/model.js'
import {redactSecrets} from '../../datasets/redact.js'
import {loadSessionFile, parseSession} from '../session.js'
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'
import type {Mount} from '../runtime/types.js'
import {Agent, AgentContext, AgentResult} from './types.js'

type Input = Record<string, unknown>

export class ScriptedAgent implements Agent {
  readonly name = 'scripted'

  mounts(): Mount[] {
    return []
  }

  toolShell(argv: string): string | null {
    return /^\/?\S*bash -c /.test(argv) ? 'Bash' : null
  }

  async run(ctx: AgentContext): Promise<AgentResult> {
    if (!ctx.sessionFiles) throw new Error(`task ${ctx.task.id}: the scripted agent needs a recorded session`)
    const files = ctx.sessionFiles
    const session = files.length === 1 ? loadSessionFile(files[0]) : parseSession(basename(files[0]), files.map((f) => ({file: f, text: readFileSync(f, 'utf8')})))
    const rt = ctx.runtime
    const from = session.cwd
    const to = rt.workdir()
    const fix = (s: string) => (from && from !== to ? s.split(from).join(to) : s)
    const deadline = Date.now() + ctx.timeoutMs
    const calls: ToolCallRow[] = []
    let timedOut = false
    let first = true
    for (const turn of session.main.turns) {
      const wait = ctx.latency === 'none' ? 0 : typeof ctx.latency === 'number' ? ctx.latency : Math.min(turn.latencyMs ?? 0, 120_000)
      if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, Math.max(0, deadline - Date.now()))))
      for (const b of turn.blocks.filter((x) => x.type === 'tool_use')) {
        if (Date.now() >= deadline) {
          timedOut = true
          break
        }
        const input = JSON.parse(fix(JSON.stringify(b.input ?? {}))) as Input
        const tool = String(b.name)
        const startUs = Date.now() * 1000
        if (first) {
          ctx.onActive(startUs)
          first = false
        }
        const r = await this.runTool(ctx, tool, input, deadline)
        const command = tool === 'Bash' ? redactSecrets(String(input.command ?? '')) : null
        calls.push({
          bash_category: command !== null ? categorizeBash(command) : null,
          call_id: String(b.id),
          command,
          description: typeof input.description === 'string' ? redactSecrets(input.description) : null,
          end_us: Date.now() * 1000,
          exit_code: r.code,
          input_json: redactSecrets(JSON.stringify(input)),
          is_error: r.code !== 0,
          is_sidechain: false,
          result_bytes: Buffer.byteLength(r.output),
          seq: calls.length,
          source: 'scripted',
          start_us: startUs,
          tool,
        })
        if (r.timedOut) timedOut = true
      }
      if (timedOut) break
    }
    return {agentVersion: null, exitCode: timedOut ? null : 0, outputTail: '', timedOut, toolCalls: calls, transcripts: []}
  }

  private async runTool(ctx: AgentContext, tool: string, input: Input, deadline: number): Promise<{code: number | null; output: string; timedOut: boolean}> {
    const rt = ctx.runtime
    const timeoutMs = Math.max(1000, Math.min(600_000, deadline - Date.now()))
    const sh = async (argv: string[], stdin?: string) => {
      const r = await rt.exec(argv, {}, {input: stdin, timeoutMs})
      return {code: r.code, output: r.stdout + r.stderr, timedOut: r.timedOut}
    }
    const path = String(input.file_path ?? input.path ?? '')
    switch (tool) {
      case 'Bash':
        // with tool-call cgroups the wrapper runs it, as it would for Claude Code
        if (ctx.shell) {
          const r = await rt.exec([ctx.shell.path, '-c', String(input.command ?? '')], ctx.shell.env, {timeoutMs})
          return {code: r.code, output: r.stdout + r.stderr, timedOut: r.timedOut}
        }
        return sh(['bash', '-c', String(input.command ?? '')])
      case 'Read':
        return sh(['cat', '--', path])
      case 'Write':
        return sh(['sh', '-c', 'cat > "$1"', 'write', path], String(input.content ?? ''))
      case 'Edit': {
        const cur = await sh(['cat', '--', path])
        if (cur.code !== 0) return cur
        const old = String(input.old_string ?? '')
        if (!cur.output.includes(old)) return {code: 1, output: 'old_string not found', timedOut: false}
        const next = input.replace_all === true ? cur.output.split(old).join(String(input.new_string ?? '')) : cur.output.replace(old, () => String(input.new_string ?? ''))
        return sh(['sh', '-c', 'cat > "$1"', 'edit', path], next)
      }
      case 'Glob':
        return sh(['bash', '-O', 'globstar', '-O', 'nullglob', '-c', `cd "\${1:-.}" && printf '%s\\n' ${String(input.pattern ?? '*')}`, 'glob', String(input.path ?? '.')])
      case 'Grep':
        return sh(['grep', '-rnE', '--', String(input.pattern ?? ''), String(input.path ?? '.')])
      default:
        return {code: null, output: '', timedOut: false}
    }
  }
}
