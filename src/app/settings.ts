import { randomBytes } from 'node:crypto'
import type { CompressorChoice } from '../archive/index.js'
import { COMPRESSION_LEVELS } from '../archive/index.js'
import { checkEngineAddress } from '../docker/connection.js'
import type { CopyMethodChoice } from '../docker/helper-image.js'
import { InvalidSettingsError, invalidInput } from '../shared/errors.js'
import { type StoreSpec, parseStoreSpec } from '../stores/spec.js'
import { MAX_TIMEOUT_SECONDS } from '../shared/timeouts.js'
import type { InputName } from './inputs.js'
import { INPUTS } from './inputs.js'
import type { Consistency } from '../manifest/manifest.js'
import { isValidSnapshotId } from '../manifest/schema.js'

export type Mode = 'snapshot' | 'restore' | 'verify' | 'prune'
export const MODES: readonly Mode[] = ['snapshot', 'restore', 'verify', 'prune']

export interface RegistrySettings {
  /** `host[:port]` */
  address: string
  repository: string
  username?: string
  password?: string
}

/** Every setting of a run, from action inputs or CLI flags alike, validated once. */
export interface Settings {
  mode: Mode
  /** Empty: DOCKER_HOST or the default socket. */
  dockerHost?: string
  store: StoreSpec
  /** For snapshot, the id to write; for restore and verify, an id or `latest`. */
  snapshotId: string
  registry?: RegistrySettings
  snapshot: {
    containers: string[]
    composeProject?: string
    labels: string[]
    all: boolean
    volumes: string[]
    excludeVolumes: string[]
    consistency: Consistency
    commit: boolean
    keepImages: boolean
    captureBindMounts: boolean
    compression: CompressorChoice
    compressionLevel?: number
    /** How volumes are copied: a helper container next to the data, or the archive API. */
    copyMethod: CopyMethodChoice
    hookTimeoutMs: number
    /** Replace a snapshot of the same id, once the new one is whole. */
    replaceExisting: boolean
  }
  restore: {
    onConflict: 'fail' | 'replace' | 'skip'
    prefix: string
    containers?: string[]
    volumes?: string[]
    start: boolean
    waitTimeoutMs: number
    ports: 'keep' | 'ephemeral' | 'none'
    env: Record<string, string>
    keepOnFailure: boolean
    copyMethod: CopyMethodChoice
  }
  verify: {
    restoreCheck: boolean
    drill?: { container: string; command: string[] }
  }
  prune: {
    keep?: number
    olderThanMs?: number
  }
  /** Values that must be masked wherever output goes (those long enough: isMaskable). */
  secrets: string[]
}

/**
 * Values shorter than this are not registered for masking (in the action and the CLI): one to
 * three characters are no secret worth the name, and masking them would blank unrelated text
 * (`x` inside `busybox`) and the tool's own words. Longer values are masked wherever they appear.
 */
const MIN_MASKED_LENGTH = 4

/** Whether a secret value is long enough to be masked (see MIN_MASKED_LENGTH). */
export function isMaskable(value: string): boolean {
  return value.length >= MIN_MASKED_LENGTH
}

/** Reads one raw input by its action.yml name; '' when not given. */
export type InputSource = (name: InputName) => string

/**
 * A value as an error message shows it: quoted, control characters escaped, and a long one cut
 * short with its length. Never used for secrets.
 */
function invalid(name: InputName, value: string, expected: string): InvalidSettingsError {
  return invalidInput(name, value, expected)
}

function oneOf<T extends string>(name: InputName, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw invalid(name, value, `Expected one of: ${allowed.join(', ')}.`)
}

function bool(name: InputName, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true
  if (/^(false|no|0)$/i.test(value)) return false
  throw invalid(name, value, 'Expected true or false.')
}

function list(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map(item => item.trim())
    .filter(Boolean)
}

/** The engine's rule for container and volume names (ids are such names too). */
const ENGINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** A list of container or volume names; each must be one the engine could have. */
function names(name: InputName, value: string, what: 'container' | 'volume'): string[] {
  const items = list(value)
  const bad = items.find(item => !ENGINE_NAME.test(item))
  if (bad !== undefined) {
    throw invalid(
      name,
      bad,
      `No ${what} can have that name: expected ${what} names${what === 'container' ? ' or ids' : ''} ` +
        "(letters, digits, '_', '.' or '-', starting with a letter or digit), separated by " +
        'commas or newlines.'
    )
  }
  return items
}

function positiveInteger(name: InputName, value: string, unit: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw invalid(name, value, `Expected a positive whole number of ${unit}.`)
  }
  if (!Number.isSafeInteger(Number(value))) {
    throw invalid(name, value, `Too large: expected at most ${Number.MAX_SAFE_INTEGER} ${unit}.`)
  }
  return Number(value)
}

/** A timeout in whole seconds, to milliseconds; within what a Node.js timer can wait. */
function timeoutSeconds(name: InputName, value: string): number {
  const seconds = positiveInteger(name, value, 'seconds')
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw invalid(
      name,
      value,
      `Expected at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 days), the longest timeout ` +
        'Node.js can wait.'
    )
  }
  return seconds * 1000
}

const DURATION_UNITS: Record<string, number> = {
  s: 1e3,
  m: 60e3,
  h: 3600e3,
  d: 86400e3,
  w: 604800e3
}

/** The longest age older-than takes: a hundred years, well inside what a Date can hold. */
const MAX_DURATION_MS = 36_500 * DURATION_UNITS.d

/** `90s`, `30m`, `12h`, `7d`, `2w` to milliseconds. */
export function parseDuration(name: InputName, value: string): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(value.trim())
  if (!match || Number(match[1]) === 0) {
    throw invalid(name, value, 'Expected a number and a unit, like 30m, 12h or 7d.')
  }
  const ms = Number(match[1]) * DURATION_UNITS[match[2]]
  if (ms > MAX_DURATION_MS) {
    throw invalid(name, value, 'Too long: expected at most 36500d (a hundred years).')
  }
  return ms
}

function parseRegistry(address: string): string {
  const expected = 'Expected host or host:port, like 127.0.0.1:5000 or ghcr.io.'
  const match =
    /^[A-Za-z0-9.-]+(?::(\d+))?$/.exec(address) ?? /^\[[0-9a-fA-F:]+\](?::(\d+))?$/.exec(address)
  if (!match) throw invalid('registry', address, expected)
  const port = match[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalid('registry', address, `Port ${port} is out of range: ${expected}`)
  }
  return address
}

function checkRepository(repository: string): string {
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) {
    throw invalid(
      'repository',
      repository,
      'Expected lowercase path components like team/snapshots.'
    )
  }
  return repository
}

function parseEnv(value: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [index, raw] of value.split('\n').entries()) {
    const line = raw.replace(/\r$/, '')
    if (!line.trim()) continue
    const eq = line.indexOf('=')
    const name = eq > 0 ? line.slice(0, eq).trim() : ''
    // The line may hold a secret: say what is wrong and where, never what it holds.
    const wrong =
      eq === -1
        ? "it has no '='"
        : !name
          ? "nothing comes before '='"
          : !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
            ? "what comes before '=' is not a variable name"
            : undefined
    if (wrong) {
      throw new InvalidSettingsError(
        `Invalid env line ${index + 1}: ${wrong} (the line is not shown: it may hold a secret). ` +
          "Expected NAME=VALUE lines, NAME of letters, digits and '_', not starting with a digit."
      )
    }
    env[name] = line.slice(eq + 1)
  }
  return env
}

/** Why `snapshotId` is no snapshot id (see SNAPSHOT_ID_PATTERN). */
function snapshotIdFault(snapshotId: string): string {
  if (snapshotId.length > 128) return `it has ${snapshotId.length} characters`
  if (!/^[a-z0-9]/.test(snapshotId)) return `it starts with '${snapshotId[0]}'`
  const bad = [...snapshotId].find(char => !/[a-z0-9._-]/.test(char)) ?? ''
  return `it holds ${/\s/.test(bad) ? 'white space' : `'${bad}'`}`
}

/** `key` or `key=value` entries; a key is never empty nor holds white space. */
function labels(value: string): string[] {
  const items = list(value)
  for (const item of items) {
    const key = item.split('=')[0]
    if (!key || /\s/.test(key)) {
      throw invalid(
        'labels',
        item,
        `${key ? 'The key holds white space' : 'The key is empty'}: expected key or key=value ` +
          'entries, separated by commas or newlines.'
      )
    }
  }
  return items
}

/** A level within what the chosen compression takes; `auto` may pick either, so zstd's range. */
function compressionLevel(value: string, compression: CompressorChoice): number | undefined {
  if (!value) return undefined
  const range = COMPRESSION_LEVELS[compression === 'gzip' ? 'gzip' : 'zstd']
  const level = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(level >= range.min && level <= range.max)) {
    throw invalid(
      'compression-level',
      value,
      `Expected a whole number from ${range.min} to ${range.max} for compression ${compression} ` +
        `(zstd ${COMPRESSION_LEVELS.zstd.min}-${COMPRESSION_LEVELS.zstd.max}, gzip ` +
        `${COMPRESSION_LEVELS.gzip.min}-${COMPRESSION_LEVELS.gzip.max}).`
    )
  }
  return level
}

/** A fresh snapshot id: UTC time plus a random suffix, e.g. `20261122-063012-a1b2`. */
export function newSnapshotId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
  return `${stamp}-${randomBytes(2).toString('hex')}`
}

/** Fills and validates Settings from raw inputs; an empty input takes action.yml's default. */
export function readSettings(source: InputSource): Settings {
  const get = (name: InputName): string => source(name).trim() || INPUTS[name].default
  const mode = oneOf('mode', get('mode'), MODES)

  let snapshotId = get('snapshot-id')
  if (mode === 'snapshot') {
    if (snapshotId === 'latest') {
      throw new InvalidSettingsError(
        "Invalid snapshot-id 'latest': a new snapshot needs its own id. Expected a new id, or " +
          'nothing for a time-based one.'
      )
    }
    snapshotId ||= newSnapshotId()
  } else {
    snapshotId ||= 'latest'
  }
  if (snapshotId !== 'latest' && !isValidSnapshotId(snapshotId)) {
    throw invalid(
      'snapshot-id',
      snapshotId,
      `It cannot name a snapshot: ${snapshotIdFault(snapshotId)}. Expected lowercase letters, ` +
        "digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters."
    )
  }

  const secrets: string[] = []
  let registry: RegistrySettings | undefined
  const address = get('registry')
  const repository = checkRepository(get('repository'))
  const username = get('registry-username')
  const password = source('registry-password')
  if (username && !/^[^\s:]+$/.test(username)) {
    throw invalid(
      'registry-username',
      username,
      "Expected a user name without ':' or white space, as registries take it."
    )
  }
  if (address) {
    registry = { address: parseRegistry(address), repository }
    if (username) registry.username = username
    if (password) {
      registry.password = password
      if (isMaskable(password)) secrets.push(password)
    }
  } else if (password || username) {
    const given = password ? 'registry-password' : 'registry-username'
    throw new InvalidSettingsError(
      `${given} is set but registry is empty: credentials for no registry. Expected registry ` +
        `(host:port) as well, or no ${given}.`
    )
  }

  const compression = oneOf('compression', get('compression'), ['auto', 'zstd', 'gzip'] as const)
  const level = compressionLevel(get('compression-level'), compression)
  const copyMethod = oneOf('copy-method', get('copy-method'), [
    'auto',
    'helper',
    'archive'
  ] as const)
  const env = parseEnv(source('env'))
  secrets.push(...Object.values(env).filter(isMaskable))

  const drillContainer = get('drill-container')
  const drillCommand = get('drill-command')
  if (Boolean(drillContainer) !== Boolean(drillCommand)) {
    throw new InvalidSettingsError(
      `${drillContainer ? 'drill-command' : 'drill-container'} is empty, but ` +
        `${drillContainer ? 'drill-container' : 'drill-command'} is set: they go together. ` +
        'Expected the container and the command to run in it, or neither.'
    )
  }
  if (drillContainer) names('drill-container', drillContainer, 'container')
  const keep = get('keep')
  const olderThan = get('older-than')
  if (mode === 'prune' && !keep && !olderThan) {
    throw new InvalidSettingsError(
      'prune needs a rule, but keep and older-than are both empty. Expected keep (a count), ' +
        'older-than (a duration), or both.'
    )
  }
  const onlyContainers = names('only-containers', get('only-containers'), 'container')
  const onlyVolumes = names('only-volumes', get('only-volumes'), 'volume')
  const prefix = get('prefix')
  if (prefix && !ENGINE_NAME.test(prefix)) {
    throw invalid(
      'prefix',
      prefix,
      "Expected letters, digits, '_', '.' or '-', starting with a letter or digit."
    )
  }

  const settings: Settings = {
    mode,
    store: parseStoreSpec(get('store')),
    snapshotId,
    snapshot: {
      containers: names('containers', get('containers'), 'container'),
      labels: labels(get('labels')),
      all: bool('all', get('all')),
      volumes: names('volumes', get('volumes'), 'volume'),
      excludeVolumes: names('exclude-volumes', get('exclude-volumes'), 'volume'),
      consistency: oneOf('consistency', get('consistency'), ['none', 'pause', 'stop'] as const),
      commit: bool('commit', get('commit')),
      keepImages: bool('keep-images', get('keep-images')),
      captureBindMounts:
        oneOf('bind-mounts', get('bind-mounts'), ['record', 'capture']) === 'capture',
      compression,
      copyMethod,
      hookTimeoutMs: timeoutSeconds('hook-timeout', get('hook-timeout')),
      replaceExisting: bool('replace-snapshot', get('replace-snapshot'))
    },
    restore: {
      onConflict: oneOf('on-conflict', get('on-conflict'), ['fail', 'replace', 'skip'] as const),
      prefix,
      start: bool('start', get('start')),
      waitTimeoutMs: timeoutSeconds('wait-timeout', get('wait-timeout')),
      ports: oneOf('ports', get('ports'), ['keep', 'ephemeral', 'none'] as const),
      env,
      keepOnFailure: bool('keep-on-failure', get('keep-on-failure')),
      copyMethod
    },
    verify: {
      restoreCheck: bool('restore-check', get('restore-check')) || Boolean(drillContainer)
    },
    prune: {},
    secrets
  }
  const dockerHost = get('docker-host')
  if (dockerHost) {
    checkEngineAddress(dockerHost)
    settings.dockerHost = dockerHost
  }
  if (registry) settings.registry = registry
  const project = get('compose-project')
  if (project && !/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw invalid(
      'compose-project',
      project,
      "No compose project has that name: expected lowercase letters, digits, '_' or '-', " +
        'starting with a letter or digit.'
    )
  }
  if (project) settings.snapshot.composeProject = project
  if (level !== undefined) settings.snapshot.compressionLevel = level
  if (onlyContainers.length) settings.restore.containers = onlyContainers
  if (onlyVolumes.length) settings.restore.volumes = onlyVolumes
  if (drillContainer) {
    settings.verify.drill = { container: drillContainer, command: ['sh', '-c', drillCommand] }
  }
  if (keep) settings.prune.keep = positiveInteger('keep', keep, 'snapshots')
  if (olderThan) settings.prune.olderThanMs = parseDuration('older-than', olderThan)
  return settings
}
