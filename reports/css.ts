/** The report's stylesheet (inlined). 'Report Sans' is the inlined DejaVu Sans subset (html.ts). */
export const CSS = `
:root { --ink: #1b1f24; --muted: #5b6470; --line: #e3e6ea; --bg: #f6f7f9; --accent: #4269d0; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 'Report Sans', 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; }
header.top { background: #111827; color: #f3f4f6; padding: 28px 40px 22px; }
header.top h1 { margin: 0 0 6px; font-size: 26px; letter-spacing: -0.01em; }
header.top p { margin: 0; color: #cbd2dc; max-width: 980px; }
nav.toc { position: sticky; top: 0; z-index: 5; background: #ffffffee; border-bottom: 1px solid var(--line);
  padding: 8px 40px; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 13px; }
nav.toc a { color: var(--muted); text-decoration: none; }
nav.toc a:hover { color: var(--accent); }
main { padding: 8px 40px 60px; max-width: 1280px; }
section.report { background: white; border: 1px solid var(--line); border-radius: 10px; margin: 22px 0; padding: 20px 26px 24px; }
section.report > h2 { margin: 0 0 4px; font-size: 20px; }
section.report > p.intro { margin: 0 0 14px; color: var(--muted); max-width: 980px; }
.charts { display: flex; flex-wrap: wrap; gap: 26px 40px; align-items: flex-start; }
figure.chart { margin: 0; min-height: 60px; }
figure.chart.wide { flex-basis: 100%; }
.chart-error { color: #b00020; font-size: 13px; }
.notice { background: #fff8e6; border: 1px solid #f1d48a; border-radius: 8px; padding: 10px 14px; color: #5c4400; font-size: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 14px; margin: 6px 0 18px; }
.card { border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; min-width: 150px; background: #fbfcfd; }
.card .n { font-size: 26px; font-weight: 700; letter-spacing: -0.02em; }
.card .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
table.data { border-collapse: collapse; font-size: 13px; width: 100%; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
table.data th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: 0.03em; background: #fafbfc; position: sticky; top: 37px; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.data td.why { color: var(--muted); max-width: 420px; }
table.data tr.group td { background: #f3f5f8; font-weight: 700; }
.delta { font-size: 11px; color: var(--muted); }
.drill-bar { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center; margin-bottom: 10px; }
.drill-bar select { font: inherit; font-size: 14px; padding: 5px 8px; max-width: 720px; border: 1px solid #c5cbd3; border-radius: 6px; background: white; }
.drill-bar button { font: inherit; font-size: 13px; padding: 5px 12px; border: 1px solid #c5cbd3; border-radius: 6px; background: #f3f5f8; cursor: pointer; }
#drill-meta { color: var(--muted); font-size: 13px; white-space: pre-wrap; word-break: break-all; }
#drill-domains { margin-top: 18px; }
#drill-domains table.data { margin-top: 10px; }
#drill-domains table.data th { position: static; }
#drill-domains table.data td:nth-child(2) { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12px; white-space: pre-wrap; word-break: break-all; max-width: 460px; }
#drill-domains tr.held td { background: #fff4e5; }
#drill-domains tr.oom td:first-child { box-shadow: inset 3px 0 #d62728; }
footer { color: var(--muted); font-size: 12px; padding: 0 40px 30px; }
code { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 12.5px; }
table.metrics th.ds { text-align: center; border-left: 2px solid var(--line); color: var(--ink); text-transform: none; font-size: 13px; }
table.metrics th.sub { text-align: right; font-size: 11px; }
table.metrics th.sub:nth-child(3n+1), table.metrics td.pub { border-left: 2px solid var(--line); }
table.metrics td.pub { color: #8a6d00; }
table.metrics td.changed { font-weight: 700; }
table.metrics td.unit { color: var(--muted); font-size: 12px; }
table.metrics td code { font-size: 11.5px; white-space: nowrap; }
table.metrics td.why { min-width: 340px; font-size: 12.5px; }
details > summary { cursor: pointer; color: var(--accent); margin: 12px 0 8px; }
#vg-tooltip-element { max-width: 520px; white-space: pre-wrap; word-break: break-all; }
`
