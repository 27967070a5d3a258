/**
 * The command agent: any agent command line the user gives (`--agent-command`), run by
 * `sh -c` in the runtime with {workdir}, {task} and {prompt} replaced (each shell-quoted).
 * No transcript: tool calls come from the process tree only. The agent is the program its
 * command line starts (its first word's name, as the kernel's comm), a tool call each shell
 * that program runs; the BPF sampler marks them in the kernel.
 */
import {basename} from 'node:path'

import {shellWords} from '../kernel-calls.js'
import type {ToolCallComms} from '../samplers/types.js'
import type {Mount} from '../runtime/types.js'
import {Agent, AgentContext, AgentResult, tail} from './types.js'

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

/**
 * The comm of the program a command line starts (its first word that is not an assignment,
 * cut to 15 bytes as the kernel cuts it), and the shells it may run: null when the first word
 * is a placeholder or shell syntax.
 */
export function commandComms(template: string): ToolCallComms | undefined {
  const first = shellWords(template).find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w))
  const comm = first === undefined ? '' : Buffer.from(basename(first)).subarray(0, 15).toString('latin1')
  if (!/^[A-Za-z0-9_.+-]+$/.test(comm)) return undefined
  return {agentComms: [comm], callComms: ['bash', 'sh', 'dash', 'zsh']}
}

export class CommandAgent implements Agent {
  readonly name = 'command'

  readonly toolCallComms?: ToolCallComms

  constructor(private readonly template: string) {
    if (template.trim() === '') throw new Error('--agent command needs --agent-command "<command line>"')
    this.toolCallComms = commandComms(template)
  }

  mounts(ctx: Pick<AgentContext, 'homeDir'>): Mount[] {
    return [{host: ctx.homeDir, target: '/agent-home'}]
  }

  toolShell(argv: string): string | null {
    return /^\/?\S*(ba)?sh -c /.test(argv) ? 'Bash' : null
  }

  async run(ctx: AgentContext): Promise<AgentResult> {
    const rt = ctx.runtime
    const cmd = this.template
      .replaceAll('{workdir}', shellQuote(rt.workdir()))
      .replaceAll('{task}', shellQuote(ctx.task.id))
      .replaceAll('{prompt}', shellQuote(ctx.prompt))
    const home = rt.pathInside(this.mounts(ctx)[0])
    ctx.onActive(Date.now() * 1000)
    // with tool-call cgroups, the agent's $SHELL is our wrapper
    const shellEnv = ctx.shell ? {...ctx.shell.env, SHELL: ctx.shell.path} : {}
    const r = await rt.exec(['sh', '-c', cmd], {HOME: home, ...shellEnv}, {timeoutMs: ctx.timeoutMs})
    return {agentVersion: null, exitCode: r.code, outputTail: tail(r.stderr || r.stdout), timedOut: r.timedOut, toolCalls: [], transcripts: []}
  }
}
