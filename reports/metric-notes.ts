/**
 * One line per metric on why the paper's printed value, our value under the paper's rules and
 * the corrected value differ (paper-artifacts.md §3). analyze's own note wins when it has one.
 */
export const METRIC_NOTES: Record<string, string> = {
  active_time_s: 'Transcript span; the corrected rules use the absolute clock and drop the container-start transient.',
  bash_category_shares: 'Paper sums overlapping calls and takes the first regex match; corrected merges overlapping calls as intervals.',
  burst_fraction: 'Paper counts the container-start pair and the exit 0B drop as bursts, on lifetime-average CPU; corrected drops both and uses instantaneous CPU.',
  burst_tool_attribution: 'The paper\'s 98.5 %/67.3 % used a parser that misread integer MB; with a correct parser GLM is 65.4 %. Corrected merges overlapping calls.',
  cpu_mem_correlation: 'Negative under podman\'s lifetime-average CPU (it decays as memory grows); positive once instantaneous CPU is recovered.',
  exec_time_s: 'claude_time includes ~160 s of container creation; the paper\'s "5-11 min" are the two dataset means.',
  latency_breakdown: 'Paper quotes View 2 (claude_time) for most shares and View 1 for "init 29-45 %"; LLM time can go negative when overlapping tool time is summed.',
  mem_baseline_mb: 'No paper script computes it; mean of the first 60 samples reproduces 183/188 MB. Corrected drops the start transient.',
  peak_mem_cv: 'The paper\'s CV 147 % comes from a batch dataset that is not in the shipped data; the shipped runs give 111 %/63 %.',
  peak_to_avg_max: 'The paper\'s 15.4x is a batch run not in the shipped data; the shipped max is 6.6x (Haiku) / 11.3x (GLM). Corrected drops the start and exit samples.',
  spike_duration_s: 'Paper counts samples as seconds; corrected weighs each interval by its real length.',
  tool_time_ratio: 'Paper sums overlapping and sub-agent calls (Haiku can exceed 100 %); corrected merges them as time intervals.',
}
