/**
 * The command agent: any agent command line the user gives (`--agent-command`), run by
 * `sh -c` in the runtime with {workdir}, {task} and {prompt} replaced (each shell-quoted).
 * No transcript: tool calls come from the process tree only.
 */
import type {Mount} from '../runtime/types.js'
import {Agent, AgentContext, AgentResult, tail} from './types.js'

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

export class CommandAgent implements Agent {
  readonly name = 'command'

  constructor(private readonly template: string) {
    if (template.trim() === '') throw new Error('--agent command needs --agent-command "<command line>"')
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
