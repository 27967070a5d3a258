/**
 * The store's schema: the single source of truth for table and column names, types and
 * their units. DDL and the appenders are both generated from it.
 *
 * Conventions: every time is absolute UTC microseconds (BIGINT, `*_us`), every size is bytes
 * (`*_bytes`), durations carry their unit. A run is identified by
 * run_id = `<dataset>/<task>/attempt_<n>`; every child table carries run_id.
 * Schema changes are forward migrations (MIGRATIONS below), recorded in `schema_version`.
 */

export type ColumnType = 'VARCHAR' | 'BIGINT' | 'INTEGER' | 'DOUBLE' | 'BOOLEAN'

export interface Column {
  name: string
  type: ColumnType
  doc: string
}

function cols(spec: [string, ColumnType, string][]): Column[] {
  return spec.map(([name, type, doc]) => ({doc, name, type}))
}

export const TABLES = {
  runs: cols([
    ['run_id', 'VARCHAR', '<dataset>/<task>/attempt_<n>'],
    ['task_id', 'VARCHAR', 'SWE-rebench instance id where known, else the task folder name'],
    ['dataset', 'VARCHAR', 'folder the run was imported from, or the catalog/--dataset name'],
    ['source_path', 'VARCHAR', 'where the run came from'],
    ['kind', 'VARCHAR', 'agent (an agent session) or transcript (a bare transcript, no samples)'],
    ['layout', 'VARCHAR', 'recording layout it was read from (attempt, study, flat, pilot, transcript)'],
    ['agent', 'VARCHAR', 'claude-code, ...'],
    ['agent_version', 'VARCHAR', 'agent version from the transcript'],
    ['model', 'VARCHAR', "runner's model label"],
    ['model_actual', 'VARCHAR', 'model the transcript shows on the main thread'],
    ['runtime', 'VARCHAR', 'podman, local'],
    ['image', 'VARCHAR', 'container image'],
    ['image_bytes', 'BIGINT', 'image size'],
    ['attempt', 'INTEGER', 'attempt number, from 1'],
    ['host', 'VARCHAR', 'machine that ran it, when known'],
    ['kernel', 'VARCHAR', 'kernel release, when known'],
    ['cgroup_version', 'VARCHAR', 'v1, v2, hybrid, when known'],
    ['sampler', 'VARCHAR', 'bpf, cgroupfs, podman-stats'],
    ['interval_ms', 'DOUBLE', 'median sampling interval'],
    ['started_at_us', 'BIGINT', 'run start (runner start, else first sample or record)'],
    ['ended_at_us', 'BIGINT', 'run end'],
    ['status', 'VARCHAR', 'done, failed, timeout, interrupted, oom_killed, not_started'],
    ['exit_code', 'INTEGER', "agent's exit code"],
    ['tests_passed', 'BOOLEAN', 'graded test result, when graded'],
    ['success_heuristic', 'BOOLEAN', "the paper runner's keyword heuristic (progress.json), not a grade"],
    ['issue_present', 'BOOLEAN', 'false when the prompt had an empty issue (cat: /issue.md missing)'],
    ['valid', 'BOOLEAN', "the paper's filter: >= 10 samples and >= 60 s of sampling"],
    ['sampler_overhead_pct', 'DOUBLE', "sampler's own CPU, % of one core"],
    ['ringbuf_drops', 'BIGINT', 'BPF ring-buffer drops'],
    ['bpf_clock_offset_ns', 'BIGINT', 'CLOCK_MONOTONIC to UTC offset used for BPF events'],
    ['error', 'VARCHAR', 'error message of a failed run'],
    ['notes', 'VARCHAR', 'import notes (fallbacks taken, clock assumptions)'],
    ['imported_at_us', 'BIGINT', 'when this row was written'],
    // added in schema version 2 (appended: older stores get them at the end too)
    ['claude_time_s', 'DOUBLE', "the paper runner's claude_time: `podman run -d` through teardown, seconds"],
    ['pull_time_s', 'DOUBLE', "the paper runner's pull_time (a re-check, not the real pull), seconds"],
    ['permission_fix_time_s', 'DOUBLE', "the paper runner's chown + commit of /testbed, seconds"],
  ]),
  phases: cols([
    ['run_id', 'VARCHAR', ''],
    ['phase', 'VARCHAR', 'image_prepare, container_create, agent_start, agent_active, tests, teardown'],
    ['start_us', 'BIGINT', ''],
    ['end_us', 'BIGINT', ''],
    ['source', 'VARCHAR', 'how the bounds were derived'],
  ]),
  samples: cols([
    ['run_id', 'VARCHAR', ''],
    ['t_us', 'BIGINT', 'sample time'],
    ['mem_bytes', 'BIGINT', 'memory in use (podman MemUsage, or memory.current / usage_in_bytes)'],
    ['mem_anon_bytes', 'BIGINT', 'anonymous memory, when measured'],
    ['mem_file_bytes', 'BIGINT', 'page cache, when measured'],
    ['mem_limit_bytes', 'BIGINT', 'limit in force (null: none / unknown)'],
    ['cpu_usec', 'BIGINT', 'cumulative CPU time, when measured'],
    ['cpu_pct', 'DOUBLE', '100 = one core'],
    ['cpu_pct_kind', 'VARCHAR', 'instant or lifetime_avg (podman stats --no-stream)'],
    ['flags', 'VARCHAR', 'comma list: start_transient, exit_0b'],
    ['source', 'VARCHAR', 'podman-stats, cgroupfs, bpf'],
  ]),
  tool_calls: cols([
    ['run_id', 'VARCHAR', ''],
    ['call_id', 'VARCHAR', 'tool_use id'],
    ['seq', 'INTEGER', 'order in the transcript, from 0'],
    ['tool', 'VARCHAR', 'Bash, Read, Task, ...'],
    ['start_us', 'BIGINT', 'record holding the tool_use'],
    ['end_us', 'BIGINT', 'record holding the tool_result (null: no result)'],
    ['is_sidechain', 'BOOLEAN', 'made by a sub-agent (null: unknown)'],
    ['parent_call_id', 'VARCHAR', 'the Task call that contains it'],
    ['command', 'VARCHAR', 'Bash command text'],
    ['description', 'VARCHAR', 'Bash description / Task description'],
    ['bash_category', 'VARCHAR', "the paper's first-match category (time-share variant)"],
    ['exit_code', 'INTEGER', 'Bash exit code when known'],
    ['is_error', 'BOOLEAN', 'tool_result is_error'],
    ['result_bytes', 'BIGINT', 'size of the tool_result content'],
    ['input_json', 'VARCHAR', 'tool input (redacted)'],
    ['source', 'VARCHAR', 'transcript, tool_calls.json, kernel'],
    ['peak_mem_bytes', 'BIGINT', 'peak memory of its own cgroup, when it had one'],
    ['cpu_usec', 'BIGINT', 'CPU time of its own cgroup, when it had one'],
  ]),
  processes: cols([
    ['run_id', 'VARCHAR', ''],
    ['pid', 'INTEGER', ''],
    ['ppid', 'INTEGER', ''],
    ['comm', 'VARCHAR', ''],
    ['argv', 'VARCHAR', 'command line (redacted)'],
    ['start_us', 'BIGINT', 'exec (or fork) time'],
    ['end_us', 'BIGINT', 'exit time'],
    ['exit_code', 'INTEGER', ''],
    ['peak_rss_bytes', 'BIGINT', ''],
    ['cgroup', 'VARCHAR', ''],
    ['call_id', 'VARCHAR', 'tool call it belongs to'],
    ['source', 'VARCHAR', 'bpf, ebpf_trace.jsonl'],
  ]),
  llm_turns: cols([
    ['run_id', 'VARCHAR', ''],
    ['turn', 'INTEGER', 'from 0, in transcript order'],
    ['message_id', 'VARCHAR', 'API message id'],
    ['start_us', 'BIGINT', 'request sent (previous record appended)'],
    ['end_us', 'BIGINT', 'last block of the response appended'],
    ['model', 'VARCHAR', ''],
    ['is_sidechain', 'BOOLEAN', ''],
    ['input_tokens', 'BIGINT', ''],
    ['output_tokens', 'BIGINT', ''],
    ['cache_read_tokens', 'BIGINT', ''],
    ['cache_creation_tokens', 'BIGINT', ''],
    ['stop_reason', 'VARCHAR', ''],
  ]),
  events: cols([
    ['run_id', 'VARCHAR', ''],
    ['t_us', 'BIGINT', ''],
    ['kind', 'VARCHAR', 'oom_kill, throttle, freeze, thaw, limit_change, ringbuf_drop, divergence, ...'],
    ['detail', 'VARCHAR', ''],
  ]),
  transcripts: cols([
    ['run_id', 'VARCHAR', ''],
    ['file', 'VARCHAR', 'original file name'],
    ['content', 'VARCHAR', 'the raw JSONL, redacted'],
  ]),
} satisfies Record<string, Column[]>

export type TableName = keyof typeof TABLES

/** Tables holding per-run rows, deleted and rewritten together when a run is replaced. */
export const RUN_TABLES: TableName[] = ['runs', 'phases', 'samples', 'tool_calls', 'processes', 'llm_turns', 'events', 'transcripts']

export function createTableSql(name: TableName): string {
  const body = TABLES[name].map((c) => `  ${c.name} ${c.type}${name === 'runs' && c.name === 'run_id' ? ' PRIMARY KEY' : ''}`)
  return `CREATE TABLE IF NOT EXISTS ${name} (\n${body.join(',\n')}\n)`
}

export interface Migration {
  version: number
  description: string
  sql: string[]
}

/**
 * Forward migrations, applied in order; a store newer than this code is refused.
 * Version 1 creates the tables from TABLES; later versions must use idempotent forms
 * (ADD COLUMN IF NOT EXISTS, CREATE TABLE IF NOT EXISTS) because a fresh store gets the
 * current TABLES from version 1.
 */
export const MIGRATIONS: Migration[] = [
  {
    description: 'runs, phases, samples, tool_calls, processes, llm_turns, events, transcripts',
    sql: RUN_TABLES.map((t) => createTableSql(t)),
    version: 1,
  },
  {
    description: "runs: the paper runner's claude_time, pull_time and permission_fix_time",
    sql: ['claude_time_s', 'pull_time_s', 'permission_fix_time_s'].map((c) => `ALTER TABLE runs ADD COLUMN IF NOT EXISTS ${c} DOUBLE`),
    version: 2,
  },
]

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version
