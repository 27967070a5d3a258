/**
 * What the paper prints in §3, as printed (its rounding, its lost minus signs, its
 * mislabels), keyed by the dataset folder it describes: all_images_haiku (the paper's
 * "Haiku"), all_images_local ("GLM"), and `all` for a pooled analysis. Some printed
 * numbers come from a dataset that is not shipped (batch_swebench_18tasks: 15.4x, 3 GB/s,
 * CV 147 %, 1.8x); they are shown beside every group because the paper presents them as
 * the study's. Only what the paper prints is here; paper-artifacts.md §3 explains each.
 */
import type {MetricData} from './types.js'

type Published = Record<string, MetricData>

const BATCH: Published = {
  cross_run_exec_time_ratio: 1.8,
  mem_change_rate_max_mb_s: 3000,
  peak_mem_cv: 147,
  peak_to_avg_max: 15.4,
}

const HAIKU: Published = {
  ...BATCH,
  avg_cpu_pct: 13.2,
  bash_category_shares: {package_install: 10, test_execution: 72.9},
  bash_category_spikes: {file_exploration: {mem_mean_mb: 4.5}, package_install: {mem_p95_mb: 233}, test_execution: {cpu_mean_pct: 3.2, mem_p95_mb: 518}},
  burst_fraction: 3.8,
  burst_tool_attribution: 98.5,
  cpu_burst_tool_attribution: 55.3,
  exec_time_s: 5.8 * 60,
  high_cpu_sample_pct: 8.2,
  latency_breakdown: {view1: {init: 45}, view2: {init: 48, llm: 26, os: 74, tool: 26}},
  mem_baseline_mb: 183,
  mem_change_over_100mb_s_pct: 3.8,
  mem_peak_position_pct: 65,
  retry_task_pct: 85,
  retry_time_pct: 7.4,
  token_correlations: {output_tokens_vs_peak_mem: 0.14, turns_vs_exec_time: 0.57},
  tool_mean_duration_s: {Task: 100},
  tool_sample_share: 50.6,
  tool_time_ratio: 42.5,
  tool_time_ratio_median: 34.7,
  // printed as "Bash and the sub-agent tool ... 47.8% and 43.2% respectively" (swapped)
  tool_time_shares: {Bash: 47.8, Task: 43.2},
}

const GLM: Published = {
  ...BATCH,
  avg_cpu_pct: 7.6,
  bash_category_shares: {package_install: 10, python_snippet: 26.9, test_execution: 43.7},
  bash_category_spikes: {git: {mem_mean_mb: 13.5}, package_install: {mem_p95_mb: 233}, test_execution: {mem_p95_mb: 234}},
  burst_concentration: 1.9,
  burst_fraction: 1.7,
  burst_tool_attribution: 67.3,
  cpu_burst_tool_attribution: 30.2,
  // printed "0.39" and "0.84 to 0.50": the minus signs were lost
  cpu_mem_correlation: 0.39,
  cpu_mem_correlation_max: 0.5,
  cpu_mem_correlation_min: 0.84,
  exec_time_s: 10.8 * 60,
  high_cpu_sample_pct: 0.5,
  latency_breakdown: {view1: {init: 29}, view2: {init: 31, llm: 44, os: 56, tool: 26}},
  mem_baseline_mb: 188,
  mem_change_over_100mb_s_pct: 1.7,
  mem_peak_position_pct: 65,
  retry_group_max_len: 56,
  retry_groups_mean: 3.9,
  retry_mem_accum_max_mb: 502,
  retry_task_pct: 97,
  retry_time_pct: 20.5,
  token_correlations: {turns_vs_exec_time: 0.82, turns_vs_peak_mem: 0.11},
  tool_sample_share: 35.9,
  tool_time_ratio: 36.4,
  tool_time_ratio_max: 86,
  tool_time_ratio_median: 36.5,
  tool_time_shares: {Bash: 98.1},
}

const ALL: Published = {
  ...BATCH,
  exec_time_median_s: 8.1 * 60,
  mem_baseline_mb: 185,
}

const BY_GROUP: Record<string, Published> = {all: ALL, all_images_haiku: HAIKU, all_images_local: GLM}

export function publishedValue(group: string, metricName: string): MetricData | undefined {
  return BY_GROUP[group]?.[metricName]
}

/** The metric names the paper prints a value of for a group. */
export function publishedNames(group: string): string[] {
  return Object.keys(BY_GROUP[group] ?? {})
}
