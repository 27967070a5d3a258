/**
 * results.json of the paper's runner (all its key sets, paper-artifacts.md §1.2 and §1.8):
 * complete runs, errors before the agent ran, errors before image info, study runs
 * (model_requested/model_actual, resource_monitor_interval_s), batch runs (no model,
 * real pull_time). start_time/end_time are naive local time; times are seconds.
 * The embedded copies of resources.json and tool_calls.json are not read from here.
 */
import {RecordingError} from '../errors.js'
import {Fields, readJsonFile} from './json-file.js'

export interface RunnerResults {
  image: string | null
  startTime: string | null
  endTime: string | null
  model: string | null
  modelActual: string | null
  pullTimeS: number | null
  permissionFixTimeS: number | null
  claudeTimeS: number | null
  totalTimeS: number | null
  imageBytes: number | null
  exitCode: number | null
  stdout: string | null
  stderr: string | null
  error: string | null
  memoryLimit: string | null
  intervalS: number | null
  /** results.json of a tool-call replay, not an agent run */
  isToolReplay: boolean
}

export function readResultsJson(file: string): RunnerResults {
  const f = Fields.of(file, readJsonFile(file))
  const out = f.obj_('claude_output')
  const info = f.obj_('image_info')
  const memLimit = f.obj['memory_limit']
  return {
    claudeTimeS: seconds(f, 'claude_time'),
    endTime: f.str('end_time'),
    // a string ('' too: one real run has an empty message); anything else is not a runner error
    error: f.str('error'),
    exitCode: out?.int('exit_code', 2 ** 31 - 1) ?? null,
    image: f.str('image'),
    imageBytes: info?.int('size_bytes') ?? null,
    intervalS: f.num('resource_monitor_interval_s'),
    isToolReplay: f.has('replay_results'),
    memoryLimit: memLimit === null || memLimit === undefined ? null : String(memLimit),
    model: f.str('model') ?? f.str('model_requested'),
    modelActual: f.str('model_actual'),
    permissionFixTimeS: seconds(f, 'permission_fix_time'),
    pullTimeS: seconds(f, 'pull_time'),
    startTime: f.str('start_time'),
    stderr: out?.str('stderr') ?? null,
    stdout: out?.str('stdout') ?? null,
    totalTimeS: seconds(f, 'total_time'),
  }
}

/** swerebench/sweb.eval.x86_64.<owner>_1776_<repo>-<n>[:tag] -> <owner>__<repo>-<n> */
export function instanceIdFromImage(image: string | null): string | null {
  if (!image) return null
  const m = /sweb\.eval\.x86_64\.([^:/]+?)(?::[^/]*)?$/.exec(image)
  if (!m) return null
  return m[1].replace('_1776_', '__')
}

/** A duration in seconds: non-negative and below a year, else the field is named as wrong. */
function seconds(f: Fields, key: string): number | null {
  const v = f.num(key)
  if (v !== null && (v < 0 || v > 3.2e7)) {
    throw new RecordingError({field: key, file: f.file}, `duration out of range: ${v} s`)
  }
  return v
}
