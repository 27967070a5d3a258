/**
 * Secrets never reach the store: every string taken from a recording passes through
 * redactSecrets() first. Patterns cover Anthropic and OpenAI keys, bearer tokens, AWS key
 * ids, and KEY=value / "key": "value" assignments whose name says the value is secret.
 * The name or "Bearer " prefix is kept, the value becomes [REDACTED:<kind>].
 */
const PATTERNS: [kind: string, prefix: string, value: string][] = [
  ['anthropic-key', '', String.raw`sk-ant-[A-Za-z0-9_\-]{16,}`],
  ['openai-key', '', String.raw`sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}`],
  ['bearer-token', String.raw`[Bb]earer\s+`, String.raw`[A-Za-z0-9._~+/\-]{16,}=*`],
  ['aws-key-id', '', String.raw`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`],
  [
    'secret',
    String.raw`\b[A-Za-z0-9_]*(?:API_KEY|SECRET_ACCESS_KEY|AUTH_TOKEN|SECRET|PASSWORD|api_key|secret_access_key|apiKey)\\?["']?\s*[=:]\s*\\?["']?`,
    String.raw`[^\s"'\\]{8,}`,
  ],
]

// group 1..n: prefix and value per pattern, in order
const COMBINED = new RegExp(PATTERNS.map(([, p, v]) => `(${p})(${v})`).join('|'), 'g')
/** Cheap pre-check: most strings contain none of these fragments. */
const HINT = /sk-|earer|AKIA|ASIA|KEY|SECRET|TOKEN|PASSWORD|api_key|apiKey|secret_access/

export function redactSecrets(text: string): string {
  if (!HINT.test(text)) return text
  return text.replace(COMBINED, (...groups: unknown[]) => {
    for (let i = 0; i < PATTERNS.length; i++) {
      const value = groups[2 + i * 2]
      if (value !== undefined) return `${String(groups[1 + i * 2] ?? '')}[REDACTED:${PATTERNS[i][0]}]`
    }
    return '[REDACTED:secret]'
  })
}
