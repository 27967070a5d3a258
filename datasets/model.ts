/** Row shapes of the store's tables (see schema.ts for units and meaning). */

export interface RunRow {
  run_id: string
  task_id: string
  dataset: string
  source_path: string
  kind: 'agent' | 'transcript'
  layout: string
  agent?: string | null
  agent_version?: string | null
  model?: string | null
  model_actual?: string | null
  runtime?: string | null
  image?: string | null
  image_bytes?: number | null
  attempt: number
  host?: string | null
  kernel?: string | null
  cgroup_version?: string | null
  sampler?: string | null
  interval_ms?: number | null
  started_at_us?: number | null
  ended_at_us?: number | null
  status: RunStatus
  exit_code?: number | null
  tests_passed?: boolean | null
  success_heuristic?: boolean | null
  issue_present?: boolean | null
  valid: boolean
  sampler_overhead_pct?: number | null
  ringbuf_drops?: number | null
  bpf_clock_offset_ns?: number | null
  error?: string | null
  notes?: string | null
  imported_at_us?: number | null
  claude_time_s?: number | null
  pull_time_s?: number | null
  permission_fix_time_s?: number | null
  /** how the invocation controlled memory (run-benchmark --control); null for imported runs */
  control?: RunControl | null
  node_memory_bytes?: number | null
  memory_limit_bytes?: number | null
}

export type RunControl = 'none' | 'static' | 'observe' | 'agentcgroup'

export type RunStatus = 'done' | 'failed' | 'timeout' | 'interrupted' | 'oom_killed' | 'not_started'

export interface PhaseRow {
  run_id?: string
  phase: 'image_prepare' | 'container_create' | 'agent_start' | 'agent_active' | 'tests' | 'teardown'
  start_us: number
  end_us: number
  source: string
}

export interface SampleRow {
  run_id?: string
  t_us: number
  mem_bytes: number | null
  mem_anon_bytes?: number | null
  mem_file_bytes?: number | null
  mem_limit_bytes?: number | null
  cpu_usec?: number | null
  cpu_pct?: number | null
  cpu_pct_kind?: 'instant' | 'lifetime_avg' | null
  flags?: string | null
  source: string
  mem_peak_bytes?: number | null
  psi_mem_some_usec?: number | null
  psi_mem_full_usec?: number | null
}

export interface ToolCallRow {
  run_id?: string
  call_id: string
  seq: number
  tool: string
  start_us: number | null
  end_us: number | null
  is_sidechain: boolean | null
  parent_call_id?: string | null
  command?: string | null
  description?: string | null
  bash_category?: string | null
  exit_code?: number | null
  is_error?: boolean | null
  result_bytes?: number | null
  input_json?: string | null
  source: string
  peak_mem_bytes?: number | null
  cpu_usec?: number | null
  /** its own cgroup (tool-<seq>), when it had one; the four fields below come from it */
  domain?: string | null
  throttled_ms?: number | null
  frozen_ms?: number | null
  oom_kills?: number | null
}

export interface ProcessRow {
  run_id?: string
  pid: number
  ppid?: number | null
  comm?: string | null
  argv?: string | null
  start_us?: number | null
  end_us?: number | null
  exit_code?: number | null
  peak_rss_bytes?: number | null
  cgroup?: string | null
  call_id?: string | null
  source: string
  cpu_usec?: number | null
  /** pid of the tool call's root process, as the kernel marked it (bpf sampler; null: none) */
  call_root?: number | null
}

export interface LlmTurnRow {
  run_id?: string
  turn: number
  message_id?: string | null
  start_us: number | null
  end_us: number | null
  model?: string | null
  is_sidechain?: boolean | null
  input_tokens?: number | null
  output_tokens?: number | null
  cache_read_tokens?: number | null
  cache_creation_tokens?: number | null
  stop_reason?: string | null
}

export interface EventRow {
  run_id?: string
  t_us: number
  kind: string
  detail?: string | null
}

export interface TranscriptRow {
  run_id?: string
  file: string
  content: string
}

/** Everything one run writes, replaced as a unit. */
export interface RunRecord {
  run: RunRow
  phases: PhaseRow[]
  samples: SampleRow[]
  toolCalls: ToolCallRow[]
  processes: ProcessRow[]
  llmTurns: LlmTurnRow[]
  events: EventRow[]
  transcripts: TranscriptRow[]
}

export function emptyRunRecord(run: RunRow): RunRecord {
  return {events: [], llmTurns: [], phases: [], processes: [], run, samples: [], toolCalls: [], transcripts: []}
}
