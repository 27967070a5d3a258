#!/usr/bin/env node
/**
 * Re-records the demo tasks' sessions (datasets/catalog/demo/<task>/session.jsonl), e.g. after
 * a change of a task or of the pinned Claude Code version. Two steps:
 *   1. write a draft session per task from the assistant turns below (Claude Code 2.1 records;
 *      tool results left empty);
 *   2. replay each draft with the real CLI in the demo image (run-benchmark's attempt runner,
 *      recorded model latency) and ship the CLI's own transcript: real tool results and
 *      timings, so a replay of it diverges nowhere.
 * Run as root after `npm run build`: node datasets/catalog/demo/record-sessions.mjs [task...]
 */
import {randomUUID, createHash} from 'node:crypto'
import {writeFileSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const dist = join(here, '..', '..', '..', 'dist')
const {taskPrompt} = await import(join(dist, 'collector/prompt.js'))
const root = here
const only = process.argv.slice(2)
const drafts = []
const rid = (p, s) => p + createHash('sha256').update(s).digest('base64url').replace(/[-_]/g, 'x').slice(0, 24)

function build(task, turns, startIso) {
  if (only.length > 0 && !only.includes(task)) return
  drafts.push(task)
  const t = JSON.parse(readFileSync(`${root}/${task}/task.json`, 'utf8'))
  const sessionId = randomUUID()
  let now = Date.parse(startIso)
  let parent = null
  const out = []
  const base = () => ({parentUuid: parent, isSidechain: false, userType: 'external', cwd: '/testbed', sessionId, version: '2.1.112', gitBranch: 'master'})
  const push = (rec) => { const uuid = randomUUID(); out.push({...base(), ...rec, uuid, timestamp: new Date(now).toISOString()}); parent = uuid }
  push({type: 'user', message: {role: 'user', content: taskPrompt(t.problem_statement, t.id)}})
  let input = 14210
  turns.forEach((turn, i) => {
    now += turn.think ?? 2200
    const msgId = rid('msg_01', task + i)
    const reqId = rid('req_011', task + i)
    const blocks = turn.blocks
    const outTok = Math.max(20, Math.round(JSON.stringify(blocks).length / 3.6))
    blocks.forEach((b, j) => {
      if (j > 0) now += 150
      push({type: 'assistant', requestId: reqId, message: {id: msgId, type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [b], stop_reason: null, stop_sequence: null, usage: {input_tokens: 4, cache_creation_input_tokens: 600 + i * 40, cache_read_input_tokens: input, output_tokens: outTok, service_tier: 'standard'}}})
    })
    input += 700 + outTok
    for (const b of blocks.filter((x) => x.type === 'tool_use')) {
      now += b.run ?? 120
      delete b.run
      const r = turn.results?.[b.id] ?? {content: ''}
      push({type: 'user', message: {role: 'user', content: [{tool_use_id: b.id, type: 'tool_result', content: r.content, is_error: r.is_error ?? false}]}, toolUseResult: b.name === 'Bash' ? {stdout: r.content, stderr: '', interrupted: false, isImage: false} : {type: 'text'}})
    }
  })
  out.push({type: 'last-prompt', lastPrompt: taskPrompt(t.problem_statement, t.id).slice(0, 80), sessionId})
  writeFileSync(`${root}/${task}/session.jsonl`, out.map((r) => JSON.stringify(r)).join('\n') + '\n')
}
let n = 0
const tu = (name, input, run) => ({type: 'tool_use', id: rid('toolu_01', name + JSON.stringify(input) + (n++)), name, input, run})
const bash = (command, description, run) => tu('Bash', {command, description}, run)
const text = (t) => ({type: 'text', text: t})
const think = (t) => ({type: 'thinking', thinking: t, signature: 'EqQBCkYIBxgCKkDreplayedsignature' + Buffer.from(t.slice(0, 24)).toString('base64')})

build('durations', [
  {think: 3100, blocks: [think('The issue says parse_duration only reads the first component and ignores trailing garbage. I should look at the repository layout, install the vendored dependency, reproduce with the tests, then fix the parser.'), text("I'll start by exploring the repository structure."), bash('ls -la', 'List repository files')]},
  {blocks: [bash('cat README.md', 'Show the README')]},
  {think: 1400, blocks: [bash('git log --oneline | head -5', 'Recent commits')]},
  {think: 1600, blocks: [bash("find . -name '*.py' -not -path './.pydeps/*' | sort", 'Find Python files')]},
  {blocks: [tu('Read', {file_path: '/testbed/durations/__init__.py'})]},
  {think: 2600, blocks: [text('The parser uses `_PART.match`, which only matches the first component. Let me install the vendored dependency and run the tests to reproduce.'), bash('python3 -m pip install --no-index --find-links vendor --target .pydeps tinyunits', 'Install the vendored tinyunits package', 2400)]},
  {blocks: [bash('python3 -m pytest -q tests 2>&1 | tail -15', 'Run the test suite', 900)]},
  {think: 1800, blocks: [bash('grep -rn "SECONDS_PER" --include=*.py . | grep -v .pydeps', 'Find uses of the unit table')]},
  {think: 1500, blocks: [bash(`python3 -c "import sys; sys.path[:0] = ['.pydeps', '.']; from durations import parse_duration as p; print(p('1h30m'), p('10sx'))"`, 'Reproduce the bug')]},
  {think: 3400, blocks: [text('Confirmed: `1h30m` gives 3600 and `10sx` is accepted. I will validate the whole string and sum every component.'), tu('Edit', {file_path: '/testbed/durations/__init__.py', old_string: '_PART = re.compile(r"(\\d+)([smhd])")\n', new_string: '_PART = re.compile(r"(\\d+)([smhd])")\n_WHOLE = re.compile(r"(?:\\d+[smhd])+")\n', replace_all: false})]},
  {think: 2100, blocks: [tu('Edit', {file_path: '/testbed/durations/__init__.py', old_string: '    m = _PART.match(text)\n    if not m:\n        raise ValueError(f"not a duration: {text!r}")\n    return int(m.group(1)) * SECONDS_PER[m.group(2)]\n', new_string: '    if not _WHOLE.fullmatch(text):\n        raise ValueError(f"not a duration: {text!r}")\n    return sum(int(n) * SECONDS_PER[unit] for n, unit in _PART.findall(text))\n', replace_all: false})]},
  {blocks: [bash(`python3 -c "import sys; sys.path[:0] = ['.pydeps', '.']; from durations import parse_duration as p; print(p('1h30m'), p('2d4h'), p('30m1h'))"`, 'Check the fix by hand')]},
  {blocks: [bash('python3 -m pytest -q tests', 'Run the test suite again', 900)]},
  {blocks: [bash('git status --short', 'Show changed files')]},
  {blocks: [bash('git diff', 'Show the final diff')]},
  {think: 2600, blocks: [text('All 9 tests pass. `parse_duration` now checks that the whole string is a sequence of `<number><unit>` components (so `10sx` and `1h 30m` raise `ValueError`) and sums every component, so `1h30m` is 5400 seconds. The vendored `tinyunits` package was installed into `.pydeps` from `vendor/` without the network.')]},
], '2026-11-25T09:12:04.512Z')

build('blobsum', [
  {think: 2900, blocks: [think('checksum() should equal zlib.adler32 for any length. The loop bound probably skips the final partial chunk. Look at the files first.'), text("Let me look at the package and its tests."), tu('Glob', {pattern: '**/*.py'})]},
  {blocks: [tu('Read', {file_path: '/testbed/blobsum/__init__.py'})]},
  {blocks: [tu('Read', {file_path: '/testbed/tests/test_blobsum.py'})]},
  {think: 2300, blocks: [text('The loop stops before the last partial chunk. Let me run the tests to confirm (the large-buffer test allocates about 300 MB).'), bash('python3 -m pytest -q tests 2>&1 | tail -20', 'Run the test suite', 4500)]},
  {blocks: [tu('Grep', {pattern: 'range\\(', path: '/testbed/blobsum', output_mode: 'content', '-n': true})]},
  {think: 2800, blocks: [tu('Edit', {file_path: '/testbed/blobsum/__init__.py', old_string: '    for start in range(0, len(view) - chunk + 1, chunk):\n        value = zlib.adler32(view[start:start + chunk], value)\n        done = start + chunk\n', new_string: '    for start in range(0, len(view), chunk):\n        value = zlib.adler32(view[start:start + chunk], value)\n        done = min(start + chunk, len(view))\n', replace_all: false})]},
  {blocks: [bash('python3 -m pytest -q tests', 'Run the test suite again', 4500)]},
  {blocks: [bash('git diff', 'Show the final diff')]},
  {think: 2200, blocks: [text('Fixed: the loop now covers the final partial chunk (the slice of a memoryview past its end is simply shorter), and progress reports the real byte count. All 3 tests pass, including the ~300 MB buffer.')]},
], '2026-11-25T09:31:40.107Z')

build('cstats', [
  {think: 2500, blocks: [think('stats_sum returns int64_t but probably accumulates in a 32-bit int. Build and run the tests first.'), text("I'll look at the project layout and run the tests."), bash('ls -R src tests Makefile', 'List the sources')]},
  {blocks: [bash('make test', 'Build and run the tests', 1800)]},
  {blocks: [tu('Read', {file_path: '/testbed/src/stats.c'})]},
  {blocks: [tu('Read', {file_path: '/testbed/src/stats.h'})]},
  {think: 2600, blocks: [text('`stats_sum` accumulates into an `int32_t`, which overflows before the value is widened to `int64_t`.'), tu('Edit', {file_path: '/testbed/src/stats.c', old_string: '\tint32_t total = 0;', new_string: '\tint64_t total = 0;', replace_all: false})]},
  {blocks: [bash('make -s clean test', 'Rebuild from scratch and run the tests', 1800)]},
  {blocks: [bash('git diff --stat && git diff src/stats.c', 'Show the final diff')]},
  {think: 1900, blocks: [text('Fixed: `stats_sum` now accumulates in an `int64_t`, so a million values of 5000 sum to 5000000000 and `INT32_MAX * 3` is exact; `stats_mean` is correct with it. `make test` reports all checks passed.')]},
], '2026-11-25T09:48:12.730Z')

build('memory-burst', [
  {think: 2700, blocks: [think('Each chunk should be hashed on its own, but the CRC is probably carried over between chunks. Look at the package and run the tests (the large-input test holds about 570 MB).'), text("I'll look at the package first."), bash('ls -R chunkdigest tests', 'List the sources')]},
  {blocks: [tu('Read', {file_path: '/testbed/chunkdigest/__init__.py'})]},
  {think: 1900, blocks: [text('The loop passes the previous CRC as the start value of the next chunk. Let me confirm with the tests.'), bash('python3 -m pytest -q tests 2>&1 | tail -15', 'Run the test suite', 4600)]},
  {think: 2400, blocks: [tu('Edit', {file_path: '/testbed/chunkdigest/__init__.py', old_string: '    digests = []\n    crc = 0\n    for start in range(0, len(view), size):\n        crc = zlib.crc32(view[start:start + size], crc)\n        digests.append(crc)\n    return digests\n', new_string: '    return [zlib.crc32(view[start:start + size]) for start in range(0, len(view), size)]\n', replace_all: false})]},
  {blocks: [bash('python3 -m pytest -q tests', 'Run the test suite again', 4600)]},
  {blocks: [bash('git diff', 'Show the final diff')]},
  {think: 2000, blocks: [text('Fixed: every chunk is now hashed from a fresh CRC, so `chunk_digests(b"abcd", 2)` is `[crc32(b"ab"), crc32(b"cd")]`. All 4 tests pass, including the ~570 MB large-input test.')]},
], '2026-11-25T10:05:27.318Z')
// step 2: the real CLI replays each draft; its transcript becomes the shipped session
const {runAttempt} = await import(join(dist, 'collector/attempt.js'))
const {demoCatalog} = await import(join(dist, 'collector/tasks.js'))
const {PodmanRuntime} = await import(join(dist, 'collector/runtime/podman.js'))
const {ClaudeCodeAgent} = await import(join(dist, 'collector/agents/claude-code.js'))
const {detectCgroupSystem} = await import(join(dist, 'kernel/cgroup.js'))
const sys = detectCgroupSystem()
for (const id of drafts) {
  const task = demoCatalog().find((t) => t.id === id)
  const rec = await runAttempt({agent: new ClaudeCodeAgent(), attempt: 1, intervalMs: 100, latency: 'recorded', log: console.error, runId: `demo/${id}/attempt_1`, runtime: new PodmanRuntime(sys), sessionFiles: [task.sessionFile], sys, task, timeoutMs: 600_000})
  if (rec.run.status !== 'done' || rec.run.tests_passed !== true || rec.transcripts.length !== 1) {
    console.error(`${id}: ${rec.run.status}, tests ${rec.run.tests_passed}: ${rec.run.error ?? ''}; the draft is left in session.jsonl (git checkout restores the shipped one)`)
    process.exitCode = 1
    continue
  }
  writeFileSync(join(root, id, 'session.jsonl'), rec.transcripts[0].content)
  console.error(`${id}: recorded ${rec.llmTurns.length} turns, ${rec.toolCalls.filter((c) => c.source === 'transcript').length} tool calls`)
}
