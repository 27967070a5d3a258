/**
 * Assembles the single HTML file: runtimes, data, styles and the font are all inline, and the
 * page has no external reference of any kind; a Content
 * Security Policy in the page allows only its own inline scripts (by hash), inline styles
 * and data: images, so even a string that escaped every other guard could not run or load
 * anything. Section bodies arrive as HTML built with escapeHtml; chart specs and drill-down
 * data travel in one JSON element (jsonForScript).
 */
import {createHash} from 'node:crypto'

import {DEJAVU_LICENSE, DEJAVU_SANS_BOLD_WOFF, DEJAVU_SANS_WOFF} from './assets/fonts.js'
import {CLIENT_SCRIPT} from './client.js'
import {CSS} from './css.js'
import {escapeHtml, jsonForScript, scriptText} from './escape.js'
import {chartRuntimes} from './runtime.js'

export interface Section {
  id: string
  title: string
  /** plain text */
  intro?: string
  /** trusted markup built by reports/ from escaped values */
  html: string
}

export interface PageModel {
  title: string
  /** plain text */
  subtitle: string
  sections: Section[]
  data: unknown
  footer: string
}

/** A chart container; the spec lives under data.charts[id]. */
export function chartSlot(id: string, wide = false): string {
  return `<figure class="chart${wide ? ' wide' : ''}" data-chart="${escapeHtml(id)}"></figure>`
}

export function notice(text: string): string {
  return `<p class="notice">${escapeHtml(text)}</p>`
}

/** The report's own font (DejaVu Sans subset, inlined), with its license beside it. */
function fontFaces(): string {
  const face = (weight: number, woff: string) => `@font-face { font-family: 'Report Sans'; font-weight: ${weight}; font-style: normal; src: url(data:font/woff;base64,${woff}) format('woff'); }`
  return `/* Report Sans is DejaVu Sans, subset.\n${DEJAVU_LICENSE.replace(/\*\//g, '* /')}*/\n${face(400, DEJAVU_SANS_WOFF)}\n${face(700, DEJAVU_SANS_BOLD_WOFF)}\n`
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

export function renderPage(page: PageModel): string {
  const scripts = [...chartRuntimes().map((r) => scriptText(r.source)), CLIENT_SCRIPT]
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(' ')}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    'font-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ')
  const toc = page.sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join('')
  const sections = page.sections
    .map((s) => `<section class="report" id="${escapeHtml(s.id)}"><h2>${escapeHtml(s.title)}</h2>${s.intro ? `<p class="intro">${escapeHtml(s.intro)}</p>` : ''}${s.html}</section>`)
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>${fontFaces()}${CSS}</style>
</head>
<body>
<header class="top"><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.subtitle)}</p></header>
<nav class="toc">${toc}</nav>
<main>
${sections}
</main>
<footer>${escapeHtml(page.footer)}</footer>
<script type="application/json" id="report-data">${jsonForScript(page.data)}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`
}
