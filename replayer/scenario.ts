/**
 * Scenarios are data: JSON or YAML files, validated here with one clear error per problem
 * (`<file>: tenants[1].priority: must be "high" or "low" (got "mid")`). Sizes are strings in
 * cgroup convention, as the paper's scripts wrote memory.max: "1100M" = 1100 MiB, or "max".
 *
 *   name: my-scenario
 *   total: 1100M            # the budget (parent memory limit)
 *   speed: 50               # trace seconds per wall second
 *   policies: [none, agentcgroup]        # or policy: agentcgroup; default: all four
 *   repeat: 3               # runs per policy (mean and 95 % CI)
 *   params: {throttle_at: 0.9, freeze_at: 0.96, resume_at: 0.8, step: 8M}
 *   hugepages: true         # whole 2 MiB chunks as transparent huge pages
 *   warm_pool: auto         # keep freed memory warm outside the budget (README, Replay); true, false
 *   cpu: false              # also burn CPU to follow the CPU trace
 *   tenants:
 *     - {name: HIGH, run: all_images_haiku/dask__dask-11628/attempt_1, priority: high, base: 100M}
 *     - {name: LOW, trace: ./my-trace.json, priority: low, count: 2, start_s: 10, repeat: 1,
 *        mem_scale: 1.0, limit: 400M, high: 400M, drop_flagged: false}
 */
import {readFileSync} from 'node:fs'
import {parse as parseYaml} from 'yaml'

import {UserError} from '../datasets/errors.js'
import {parseCgroupSize} from '../datasets/formats/sizes.js'
import {DEFAULT_POLICY_PARAMS, POLICIES, type PolicyName, type PolicyParams, type Priority} from '../collector/control/types.js'

export interface TenantSpec {
  name: string
  /** a run id (store, or a shipped trace) */
  run: string | null
  /** a trace file */
  trace: string | null
  priority: Priority
  baseBytes: number
  /** trace seconds after the replay starts */
  startS: number
  /** plays of the trace back to back */
  repeat: number
  /** copies of this tenant (LOW x 2) */
  count: number
  /** multiplies the trace's memory (the paper's replayer read "MB" as MiB: 1.048576) */
  memScale: number
  /** static policy limit; null = total / number of tenants */
  limitBytes: number | null
  /** high policy value; null = max; undefined = the static share */
  highBytes: number | null | undefined
  /** drop the start-transient and exit-0B samples */
  dropFlagged: boolean
}

export interface Scenario {
  name: string
  /** where it came from: builtin or a file path */
  origin: string
  totalBytes: number
  speed: number
  policies: PolicyName[]
  repeat: number
  params: PolicyParams
  hugepages: boolean
  /** auto: on for up to 4 tenants per core (beyond, its own CPU costs more than it saves) */
  warmPool: boolean | 'auto'
  cpu: boolean
  tenants: TenantSpec[]
}

const MIB = 2 ** 20

/** The paper's experiment (paper-artifacts.md section 4.2): HIGH dask + 2 x LOW github3.py, 100 MB base each, 50x. */
function paperScenario(name: string, totalMiB: number): Scenario {
  const common = {baseBytes: 100 * MIB, count: 1, dropFlagged: false, limitBytes: null, memScale: 1.048576, repeat: 1, startS: 0, trace: null}
  return {
    cpu: false,
    hugepages: true,
    name,
    origin: 'builtin',
    params: {...DEFAULT_POLICY_PARAMS},
    policies: [...POLICIES],
    repeat: 1,
    speed: 50,
    tenants: [
      {...common, highBytes: null, name: 'HIGH', priority: 'high', run: 'all_images_haiku/dask__dask-11628/attempt_1'},
      {...common, highBytes: 400 * MIB, name: 'LOW1', priority: 'low', run: 'all_images_haiku/sigmavirus24__github3.py-673/attempt_1'},
      {...common, highBytes: 400 * MIB, name: 'LOW2', priority: 'low', run: 'all_images_haiku/sigmavirus24__github3.py-673/attempt_1'},
    ],
    totalBytes: totalMiB * MIB,
    warmPool: 'auto',
  }
}

export const BUILTIN_SCENARIOS: Record<string, () => Scenario> = {
  paper: () => paperScenario('paper', 1100),
  'paper-1300': () => paperScenario('paper-1300', 1300),
}

/** A builtin name or a JSON/YAML file. */
export function loadScenario(nameOrFile: string): Scenario {
  const builtin = BUILTIN_SCENARIOS[nameOrFile]
  if (builtin) return builtin()
  let text: string
  try {
    text = readFileSync(nameOrFile, 'utf8')
  } catch {
    throw new UserError(`${nameOrFile}: no such scenario (builtin: ${Object.keys(BUILTIN_SCENARIOS).join(', ')}; or a .json/.yaml file)`)
  }
  let raw: unknown
  try {
    raw = /\.ya?ml$/i.test(nameOrFile) ? parseYaml(text) : JSON.parse(text)
  } catch (error) {
    throw new UserError(`${nameOrFile}: cannot parse: ${(error as Error).message.split('\n')[0]}`)
  }
  return validateScenario(raw, nameOrFile)
}

class Check {
  constructor(readonly file: string) {}
  fail(path: string, msg: string): never {
    throw new UserError(`${this.file}: ${path}: ${msg}`)
  }
}

const TOP_KEYS = ['name', 'total', 'speed', 'policies', 'policy', 'repeat', 'params', 'hugepages', 'warm_pool', 'cpu', 'tenants']
const TENANT_KEYS = ['name', 'run', 'trace', 'priority', 'base', 'start_s', 'repeat', 'count', 'mem_scale', 'limit', 'high', 'drop_flagged']
const PARAM_KEYS = ['throttle_at', 'freeze_at', 'resume_at', 'step', 'recheck_ms']

/** Schema validation of a parsed scenario document. */
export function validateScenario(raw: unknown, file: string): Scenario {
  const c: Check = new Check(file)
  const doc = obj(c, raw, 'top level')
  unknownKeys(c, doc, TOP_KEYS, '')
  const totalBytes = size(c, doc.total, 'total', false) ?? 0
  if (totalBytes <= 0) c.fail('total', `must be a positive size such as 1100M (got ${JSON.stringify(doc.total)})`)
  const speed = num(c, doc.speed ?? 50, 'speed', 0.01, 100_000)
  const repeat = int(c, doc.repeat ?? 1, 'repeat', 1, 1000)
  let policies: PolicyName[] = [...POLICIES]
  if (doc.policy !== undefined && doc.policies !== undefined) c.fail('policy', 'give policy or policies, not both')
  if (doc.policy !== undefined) policies = [policyName(c, doc.policy, 'policy')]
  if (doc.policies !== undefined) {
    const list = doc.policies
    if (!Array.isArray(list) || list.length === 0) c.fail('policies', 'must be a non-empty list')
    policies = list.map((p, i) => policyName(c, p, `policies[${i}]`))
  }
  const params = {...DEFAULT_POLICY_PARAMS}
  if (doc.params !== undefined) {
    const p = obj(c, doc.params, 'params')
    unknownKeys(c, p, PARAM_KEYS, 'params.')
    if (p.throttle_at !== undefined) params.throttleAt = num(c, p.throttle_at, 'params.throttle_at', 0.05, 1)
    if (p.freeze_at !== undefined) params.freezeAt = num(c, p.freeze_at, 'params.freeze_at', 0.05, 1)
    if (p.resume_at !== undefined) params.resumeAt = num(c, p.resume_at, 'params.resume_at', 0.01, 1)
    if (p.step !== undefined) params.stepBytes = size(c, p.step, 'params.step', false) ?? c.fail('params.step', 'must be a size')
    if (p.recheck_ms !== undefined) params.recheckMs = num(c, p.recheck_ms, 'params.recheck_ms', 0.1, 10_000)
    if (!(params.resumeAt < params.throttleAt && params.throttleAt <= params.freezeAt)) c.fail('params', `need resume_at < throttle_at <= freeze_at (got ${params.resumeAt}, ${params.throttleAt}, ${params.freezeAt})`)
  }
  const list = doc.tenants
  if (!Array.isArray(list) || list.length === 0) c.fail('tenants', 'must be a non-empty list')
  const tenants = list.map((t, i) => tenantSpec(c, t, `tenants[${i}]`))
  return {
    cpu: bool(c, doc.cpu ?? false, 'cpu'),
    hugepages: bool(c, doc.hugepages ?? true, 'hugepages'),
    name: doc.name === undefined ? (file.split('/').pop() ?? file).replace(/\.(json|ya?ml)$/i, '') : str(c, doc.name, 'name'),
    origin: file,
    params,
    policies,
    repeat,
    speed,
    tenants,
    totalBytes,
    warmPool: doc.warm_pool === undefined || doc.warm_pool === 'auto' ? 'auto' : bool(c, doc.warm_pool, 'warm_pool'),
  }
}

function tenantSpec(c: Check, raw: unknown, at: string): TenantSpec {
  const t = obj(c, raw, at)
  unknownKeys(c, t, TENANT_KEYS, `${at}.`)
  const run = t.run === undefined ? null : str(c, t.run, `${at}.run`)
  const trace = t.trace === undefined ? null : str(c, t.trace, `${at}.trace`)
  if ((run === null) === (trace === null)) c.fail(at, 'give exactly one of run (a run id) or trace (a file)')
  const priority = t.priority ?? 'low'
  if (priority !== 'high' && priority !== 'low') c.fail(`${at}.priority`, `must be "high" or "low" (got ${JSON.stringify(priority)})`)
  const high = t.high === undefined ? undefined : size(c, t.high, `${at}.high`, true)
  return {
    baseBytes: size(c, t.base ?? '0', `${at}.base`, false) ?? 0,
    count: int(c, t.count ?? 1, `${at}.count`, 1, 100_000),
    dropFlagged: bool(c, t.drop_flagged ?? false, `${at}.drop_flagged`),
    highBytes: high,
    limitBytes: t.limit === undefined ? null : size(c, t.limit, `${at}.limit`, false),
    memScale: num(c, t.mem_scale ?? 1, `${at}.mem_scale`, 0.0001, 1000),
    name: t.name === undefined ? (run ?? trace ?? `t${at}`).split('/').slice(-2)[0] : str(c, t.name, `${at}.name`),
    priority,
    repeat: int(c, t.repeat ?? 1, `${at}.repeat`, 1, 1000),
    run,
    startS: num(c, t.start_s ?? 0, `${at}.start_s`, 0, 1e7),
    trace,
  }
}

function obj(c: Check, v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) c.fail(at, `must be an object (got ${Array.isArray(v) ? 'a list' : JSON.stringify(v)})`)
  return v as Record<string, unknown>
}

function unknownKeys(c: Check, o: Record<string, unknown>, known: string[], prefix: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) c.fail(`${prefix}${k}`, `unknown key (known: ${known.join(', ')})`)
}

function str(c: Check, v: unknown, at: string): string {
  if (typeof v !== 'string' || v.trim() === '') c.fail(at, `must be a non-empty string (got ${JSON.stringify(v)})`)
  return v
}

function bool(c: Check, v: unknown, at: string): boolean {
  if (typeof v !== 'boolean') c.fail(at, `must be true or false (got ${JSON.stringify(v)})`)
  return v
}

function num(c: Check, v: unknown, at: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) c.fail(at, `must be a number (got ${JSON.stringify(v)})`)
  if (v < min || v > max) c.fail(at, `must be between ${min} and ${max} (got ${v})`)
  return v
}

function int(c: Check, v: unknown, at: string, min: number, max: number): number {
  const n = num(c, v, at, min, max)
  if (!Number.isInteger(n)) c.fail(at, `must be a whole number (got ${n})`)
  return n
}

/** A cgroup-convention size ("1100M", "4G", bytes as a number); "max" only where allowed (null). */
function size(c: Check, v: unknown, at: string, allowMax: boolean): number | null {
  if (allowMax && v === 'max') return null
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) c.fail(at, `must be a size >= 0 (got ${v})`)
    return Math.round(v)
  }
  if (typeof v !== 'string') c.fail(at, `must be a size such as 1100M${allowMax ? ' or max' : ''} (got ${JSON.stringify(v)})`)
  if (/^\s*-/.test(v)) c.fail(at, `must not be negative (got ${JSON.stringify(v)})`)
  try {
    return parseCgroupSize(v)
  } catch {
    return c.fail(at, `not a size: ${JSON.stringify(v)} (use 1100M = 1100 MiB, 4G, or bytes${allowMax ? ', or max' : ''})`)
  }
}

function policyName(c: Check, v: unknown, at: string): PolicyName {
  if (typeof v !== 'string' || !(POLICIES as readonly string[]).includes(v)) c.fail(at, `unknown policy ${JSON.stringify(v)} (one of ${POLICIES.join(', ')})`)
  return v as PolicyName
}
