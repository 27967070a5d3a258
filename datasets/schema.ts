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
    // added in schema version 5 (live AgentCgroup: run-benchmark --control)
    ['control', 'VARCHAR', 'control policy of the invocation: none, static, observe, agentcgroup (null: imported, not run by us)'],
    ['node_memory_bytes', 'BIGINT', "the invocation's node memory budget shared by its agents (null: none)"],
    ['memory_limit_bytes', 'BIGINT', "this agent's own memory limit (null: none)"],
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
    // added in schema version 3 (appended: older stores get them at the end too)
    ['mem_peak_bytes', 'BIGINT', 'high-water mark since the cgroup was made (v2 memory.peak, v1 max_usage_in_bytes)'],
    ['psi_mem_some_usec', 'BIGINT', 'cumulative time some task stalled on memory (memory.pressure some total)'],
    ['psi_mem_full_usec', 'BIGINT', 'cumulative time all tasks stalled on memory (memory.pressure full total)'],
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
    ['source', 'VARCHAR', 'transcript, tool_calls.json, kernel, domain (a tool-call cgroup no transcript call matched)'],
    ['peak_mem_bytes', 'BIGINT', 'peak memory of its own cgroup, when it had one'],
    ['cpu_usec', 'BIGINT', 'CPU time of its own cgroup, when it had one'],
    // added in schema version 5 (tool-call resource domains)
    ['domain', 'VARCHAR', 'its own cgroup, e.g. tool-3 (null: it had none)'],
    ['throttled_ms', 'DOUBLE', 'time the controller held it throttled, ms (null: no domain)'],
    ['frozen_ms', 'DOUBLE', 'time the controller held it frozen, ms (null: no domain)'],
    ['oom_kills', 'INTEGER', 'OOM kills inside its cgroup (null: no domain)'],
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
    // added in schema version 3
    ['cpu_usec', 'BIGINT', 'user + system CPU time of all its threads'],
    // added in schema version 6
    ['call_root', 'INTEGER', 'pid of the tool call root the kernel put it under (bpf; null: none)'],
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
    ['kind', 'VARCHAR', 'oom_kill, throttle, unthrottle, freeze, thaw, kill, limit_change, ringbuf_drop, divergence, ...'],
    ['detail', 'VARCHAR', 'free text; JSON with at least {"domain": "tool-3"} for the controller\'s events on a tool call'],
  ]),
  transcripts: cols([
    ['run_id', 'VARCHAR', ''],
    ['file', 'VARCHAR', 'original file name'],
    ['content', 'VARCHAR', 'the raw JSONL, redacted'],
  ]),
  // replays (schema version 4): one row per run of one policy, per tenant, per event, per step
  replays: cols([
    ['replay_id', 'VARCHAR', '<scenario>/<policy>/<started_at_us>/<repeat>'],
    ['scenario', 'VARCHAR', 'builtin name or file'],
    ['policy', 'VARCHAR', 'none, static, high, agentcgroup'],
    ['backend', 'VARCHAR', 'cgroup-v1, cgroup-v2, sim'],
    ['flavor', 'VARCHAR', 'v1 or v2 kernel interface (the sim models either)'],
    ['repeat_index', 'INTEGER', 'from 0'],
    ['speed', 'DOUBLE', 'trace seconds per wall second'],
    ['total_bytes', 'BIGINT', 'the budget (parent memory limit)'],
    ['started_at_us', 'BIGINT', ''],
    ['ended_at_us', 'BIGINT', ''],
    ['host', 'VARCHAR', ''],
    ['kernel', 'VARCHAR', ''],
    ['alloc_rate_mib_s', 'DOUBLE', "the machine's measured fault-in rate for the replay's page kind (MiB/s)"],
    ['memset_fresh_mib_s', 'DOUBLE', 'plain memset on a fresh mmap, MiB/s'],
    ['hugepages', 'BOOLEAN', 'whole 2 MiB chunks as transparent huge pages'],
    ['warm_pool_bytes', 'BIGINT', 'memory kept warm outside the budget (0: none)'],
    ['predicted_slip_s', 'DOUBLE', 'lateness of the last step predicted before the run'],
    ['survivors', 'INTEGER', ''],
    ['oom_kills', 'INTEGER', 'OOM kills we saw (a SIGKILL the kernel counted)'],
    ['budget_oom_kills', 'INTEGER', "the budget's own oom_kill counter"],
    ['budget_peak_bytes', 'BIGINT', 'max_usage_in_bytes / memory.peak of the budget'],
    ['throttle_events', 'INTEGER', 'tenants throttled by the controller plus throttles the kernel reported'],
    ['freeze_events', 'INTEGER', ''],
    ['reaction_p50_ms', 'DOUBLE', 'notification to action done'],
    ['reaction_p99_ms', 'DOUBLE', ''],
    ['utilisation_pct', 'DOUBLE', 'time-averaged sum of tenant memory / total'],
    ['waste_pct', 'DOUBLE', 'static: limits handed out but unused'],
    ['fidelity_pct', 'DOUBLE', 'mean over survivors: % of time within 5 % of the trace'],
    ['lag_p99_ms', 'DOUBLE', 'step start minus due, all tenants'],
    ['high_mode', 'VARCHAR', 'high policy: native (v2) or emulated (v1)'],
    ['controller_mode', 'VARCHAR', 'user-space (in-kernel where memcg_bpf_ops exists)'],
    ['notes', 'VARCHAR', ''],
  ]),
  replay_tenants: cols([
    ['replay_id', 'VARCHAR', ''],
    ['tenant', 'VARCHAR', 'name in the scenario'],
    ['tenant_index', 'INTEGER', ''],
    ['priority', 'VARCHAR', 'high, low'],
    ['trace', 'VARCHAR', 'task or file name of the trace'],
    ['run_id', 'VARCHAR', 'source run, when from a run'],
    ['end_state', 'VARCHAR', 'done, oom_killed, killed, crashed, timeout'],
    ['survived', 'BOOLEAN', ''],
    ['oom_kills', 'INTEGER', 'as we saw them'],
    ['kernel_oom_kills', 'INTEGER', "the tenant cgroup's oom_kill counter"],
    ['kernel_limit_hits', 'BIGINT', 'v1 failcnt, v2 memory.events max'],
    ['kernel_high_events', 'BIGINT', 'v2 memory.events high'],
    ['peak_bytes', 'BIGINT', 'max_usage_in_bytes / memory.peak'],
    ['limit_bytes', 'BIGINT', 'static: its memory.max'],
    ['completion_s', 'DOUBLE', 'last step done, from the replay clock start'],
    ['expected_s', 'DOUBLE', "the trace's time / speed"],
    ['alloc_p50_ms', 'DOUBLE', 'grow-step latency'],
    ['alloc_p95_ms', 'DOUBLE', ''],
    ['alloc_p99_ms', 'DOUBLE', ''],
    ['lag_p50_ms', 'DOUBLE', 'step start minus due'],
    ['lag_p99_ms', 'DOUBLE', ''],
    ['fidelity_pct', 'DOUBLE', '% of time within 5 % of the trace'],
    ['steps_on_target_pct', 'DOUBLE', '% of steps within 5 % before the next was due'],
    ['frozen_ms', 'DOUBLE', ''],
    ['throttle_events', 'INTEGER', ''],
    ['freeze_events', 'INTEGER', ''],
  ]),
  replay_events: cols([
    ['replay_id', 'VARCHAR', ''],
    ['t_ms', 'DOUBLE', 'from the replay clock start'],
    ['tenant', 'VARCHAR', 'null: the budget'],
    ['kind', 'VARCHAR', 'throttle, unthrottle, freeze, thaw, limit_change, parked, high, level_up, level_down, safety_lift, oom_kill, exit'],
    ['detail', 'VARCHAR', ''],
    ['reaction_ms', 'DOUBLE', 'notification to action done'],
  ]),
  replay_allocs: cols([
    ['replay_id', 'VARCHAR', ''],
    ['tenant', 'VARCHAR', ''],
    ['step', 'INTEGER', ''],
    ['target_bytes', 'BIGINT', 'requested by the trace'],
    ['achieved_bytes', 'BIGINT', 'held after the step'],
    ['rss_bytes', 'BIGINT', "anonymous RSS the tenant read after the step (0: not read)"],
    ['sched_ms', 'DOUBLE', 'due, from the replay clock start'],
    ['start_ms', 'DOUBLE', ''],
    ['end_ms', 'DOUBLE', ''],
  ]),
} satisfies Record<string, Column[]>

export type TableName = keyof typeof TABLES

/** Tables holding per-run rows, deleted and rewritten together when a run is replaced. */
export const RUN_TABLES: TableName[] = ['runs', 'phases', 'samples', 'tool_calls', 'processes', 'llm_turns', 'events', 'transcripts']

/** Tables of replay results (not per run: `replay_id` keys them). */
export const REPLAY_TABLES: TableName[] = ['replays', 'replay_tenants', 'replay_events', 'replay_allocs']

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
  {
    description: 'samples: memory peak and memory PSI totals; processes: CPU time (record sampler)',
    sql: [
      ...['mem_peak_bytes', 'psi_mem_some_usec', 'psi_mem_full_usec'].map((c) => `ALTER TABLE samples ADD COLUMN IF NOT EXISTS ${c} BIGINT`),
      'ALTER TABLE processes ADD COLUMN IF NOT EXISTS cpu_usec BIGINT',
    ],
    version: 3,
  },
  {
    description: 'replays, replay_tenants, replay_events, replay_allocs (agentcgroup replay)',
    sql: REPLAY_TABLES.map((t) => createTableSql(t)),
    version: 4,
  },
  {
    description: 'tool_calls: domain, throttled_ms, frozen_ms, oom_kills; runs: control, node_memory_bytes, memory_limit_bytes (live AgentCgroup)',
    sql: [
      'ALTER TABLE tool_calls ADD COLUMN IF NOT EXISTS domain VARCHAR',
      'ALTER TABLE tool_calls ADD COLUMN IF NOT EXISTS throttled_ms DOUBLE',
      'ALTER TABLE tool_calls ADD COLUMN IF NOT EXISTS frozen_ms DOUBLE',
      'ALTER TABLE tool_calls ADD COLUMN IF NOT EXISTS oom_kills INTEGER',
      'ALTER TABLE runs ADD COLUMN IF NOT EXISTS control VARCHAR',
      'ALTER TABLE runs ADD COLUMN IF NOT EXISTS node_memory_bytes BIGINT',
      'ALTER TABLE runs ADD COLUMN IF NOT EXISTS memory_limit_bytes BIGINT',
    ],
    version: 5,
  },
  {
    description: 'processes: call_root, the tool-call boundary the BPF sampler marks in the kernel',
    sql: ['ALTER TABLE processes ADD COLUMN IF NOT EXISTS call_root INTEGER'],
    version: 6,
  },
]

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version
