/**
 * Escaping for the report. Strings from recordings (commands, paths, task names, transcript
 * text) reach the page three ways, each with its own guard:
 * - HTML text and attributes: escapeHtml (the five HTML metacharacters);
 * - JSON data read by the page script: jsonForScript, inside <script type="application/json">,
 *   where `<`, `>`, `&` and the JS line separators become \u escapes so no `</script>` or
 *   `<!--` can end or alter the element;
 * - chart labels and tooltips: vega writes SVG text nodes (never markup), and cleanText has
 *   already made bidi controls visible and removed secrets.
 */
import {redactSecrets} from '../datasets/redact.js'

const HTML_ESCAPES: Record<string, string> = {'"': '&quot;', '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;'}

export function escapeHtml(text: string): string {
  return text.replace(/["&'<>]/g, (c) => HTML_ESCAPES[c])
}

/** JSON that is safe as the text of a <script type="application/json"> element. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A runtime library inlined in <script>: it must not contain a sequence that ends the element. */
export function scriptText(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--')
}

// Bidi embeddings, overrides and isolates (the "Trojan Source" characters) and other invisible
// format characters that would make a command read differently from what it is.
const INVISIBLE = /[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g
// C0/C1 controls except tab and newline.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * Every recording string shown in the report goes through here: secrets redacted (again, in
 * case the store predates a pattern), invisible and control characters shown as [U+XXXX],
 * and long text cut to maxLen.
 */
export function cleanText(text: string | null | undefined, maxLen = 300): string {
  if (text === null || text === undefined) return ''
  const visible = redactSecrets(String(text))
    .replace(INVISIBLE, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`)
    .replace(CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`)
  return visible.length > maxLen ? `${visible.slice(0, maxLen - 1)}…` : visible
}

/** Every string (values and keys) of a JSON-like value through cleanText: for data from elsewhere, e.g. analysis results. */
export function cleanDeep<T>(value: T, maxLen = 300): T {
  if (typeof value === 'string') return cleanText(value, maxLen) as T
  if (Array.isArray(value)) return value.map((v) => cleanDeep(v, maxLen)) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanText(k, maxLen), cleanDeep(v, maxLen)])) as T
  }
  return value
}
