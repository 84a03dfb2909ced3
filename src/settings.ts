import { randomBytes } from 'node:crypto'
import type { CompressorChoice } from './archive/index.js'
import { checkEngineAddress } from './docker/connection.js'
import { InvalidSettingsError } from './errors.js'
import type { InputName } from './generated/inputs.js'
import { INPUTS } from './generated/inputs.js'
import type { Consistency } from './manifest.js'
import { isValidSnapshotId } from './manifest-schema.js'

export type Mode = 'snapshot' | 'restore' | 'verify' | 'prune'
export const MODES: readonly Mode[] = ['snapshot', 'restore', 'verify', 'prune']

export interface StoreSpec {
  kind: 'directory'
  path: string
}

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
export const MIN_MASKED_LENGTH = 4

/** Whether a secret value is long enough to be masked (see MIN_MASKED_LENGTH). */
export function isMaskable(value: string): boolean {
  return value.length >= MIN_MASKED_LENGTH
}

/** Reads one raw input by its action.yml name; '' when not given. */
export type InputSource = (name: InputName) => string

function oneOf<T extends string>(name: InputName, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new InvalidSettingsError(
    `Invalid ${name} '${value}'. Expected one of: ${allowed.join(', ')}.`
  )
}

function bool(name: InputName, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true
  if (/^(false|no|0)$/i.test(value)) return false
  throw new InvalidSettingsError(`Invalid ${name} '${value}'. Expected true or false.`)
}

function list(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map(item => item.trim())
    .filter(Boolean)
}

function positiveInteger(name: InputName, value: string, unit: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new InvalidSettingsError(
      `Invalid ${name} '${value}'. Expected a positive whole number of ${unit}.`
    )
  }
  return Number(value)
}

/** The longest timeout Node.js timers take (2^31-1 ms); a longer one fires at once. */
export const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000)

/** A timeout in whole seconds, to milliseconds; within what a Node.js timer can wait. */
function timeoutSeconds(name: InputName, value: string): number {
  const seconds = positiveInteger(name, value, 'seconds')
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw new InvalidSettingsError(
      `Invalid ${name} '${value}'. Expected at most ${MAX_TIMEOUT_SECONDS} seconds (about 24 ` +
        'days), the longest timeout Node.js can wait.'
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

/** `90s`, `30m`, `12h`, `7d`, `2w` to milliseconds. */
export function parseDuration(name: InputName, value: string): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(value.trim())
  if (!match || Number(match[1]) === 0) {
    throw new InvalidSettingsError(
      `Invalid ${name} '${value}'. Expected a number and a unit, like 30m, 12h or 7d.`
    )
  }
  return Number(match[1]) * DURATION_UNITS[match[2]]
}

function parseStore(value: string): StoreSpec {
  const explicit = /^([a-z][a-z0-9+.-]*):(.*)$/.exec(value)
  if (explicit && explicit[1] !== 'dir' && explicit[1].length > 1) {
    throw new InvalidSettingsError(
      `Unknown store '${value}'. Expected a directory path, or dir:PATH.`
    )
  }
  const path = explicit && explicit[1] === 'dir' ? explicit[2] : value
  if (!path.trim()) throw new InvalidSettingsError('Invalid store: the directory path is empty.')
  return { kind: 'directory', path }
}

function parseRegistry(
  address: string,
  repository: string
): { address: string; repository: string } {
  if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(address) && !/^\[[0-9a-fA-F:]+\](:\d+)?$/.test(address)) {
    throw new InvalidSettingsError(
      `Invalid registry '${address}'. Expected host or host:port, like 127.0.0.1:5000 or ghcr.io.`
    )
  }
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new InvalidSettingsError(
      `Invalid repository '${repository}'. Expected lowercase path components like team/snapshots.`
    )
  }
  return { address, repository }
}

function parseEnv(value: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [index, raw] of value.split('\n').entries()) {
    const line = raw.replace(/\r$/, '')
    if (!line.trim()) continue
    const eq = line.indexOf('=')
    const name = eq > 0 ? line.slice(0, eq).trim() : ''
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      // The line may hold a secret: name its position, never its content.
      throw new InvalidSettingsError(`Invalid env line ${index + 1}: expected NAME=VALUE.`)
    }
    env[name] = line.slice(eq + 1)
  }
  return env
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
        "Invalid snapshot-id 'latest': a new snapshot needs its own id."
      )
    }
    snapshotId ||= newSnapshotId()
  } else {
    snapshotId ||= 'latest'
  }
  if (snapshotId !== 'latest' && !isValidSnapshotId(snapshotId)) {
    throw new InvalidSettingsError(
      `Invalid snapshot-id '${snapshotId}'. Expected lowercase letters, digits, '.', '_' or '-', ` +
        'starting with a letter or digit, at most 128 characters.'
    )
  }

  const secrets: string[] = []
  let registry: RegistrySettings | undefined
  const address = get('registry')
  if (address) {
    registry = parseRegistry(address, get('repository'))
    const username = get('registry-username')
    const password = source('registry-password')
    if (username) registry.username = username
    if (password) {
      registry.password = password
      if (isMaskable(password)) secrets.push(password)
    }
  } else if (source('registry-password')) {
    throw new InvalidSettingsError(
      'registry-password is set but registry is empty: name the registry.'
    )
  }

  const level = get('compression-level')
  const compression = oneOf('compression', get('compression'), ['auto', 'zstd', 'gzip'] as const)
  const env = parseEnv(source('env'))
  secrets.push(...Object.values(env).filter(isMaskable))

  const drillContainer = get('drill-container')
  const drillCommand = get('drill-command')
  if (Boolean(drillContainer) !== Boolean(drillCommand)) {
    throw new InvalidSettingsError(
      'drill-container and drill-command go together: name the container and the command to run in it.'
    )
  }
  const keep = get('keep')
  const olderThan = get('older-than')
  if (mode === 'prune' && !keep && !olderThan) {
    throw new InvalidSettingsError('prune needs keep (a count), older-than (a duration), or both.')
  }
  const onlyContainers = list(get('only-containers'))
  const onlyVolumes = list(get('only-volumes'))
  const prefix = get('prefix')
  if (prefix && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(prefix)) {
    throw new InvalidSettingsError(
      `Invalid prefix '${prefix}'. Expected letters, digits, '_', '.' or '-', starting with a letter or digit.`
    )
  }

  const settings: Settings = {
    mode,
    store: parseStore(get('store')),
    snapshotId,
    snapshot: {
      containers: list(get('containers')),
      labels: list(get('labels')),
      all: bool('all', get('all')),
      volumes: list(get('volumes')),
      excludeVolumes: list(get('exclude-volumes')),
      consistency: oneOf('consistency', get('consistency'), ['none', 'pause', 'stop'] as const),
      commit: bool('commit', get('commit')),
      keepImages: bool('keep-images', get('keep-images')),
      captureBindMounts:
        oneOf('bind-mounts', get('bind-mounts'), ['record', 'capture']) === 'capture',
      compression,
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
      keepOnFailure: bool('keep-on-failure', get('keep-on-failure'))
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
  if (project) settings.snapshot.composeProject = project
  if (level)
    settings.snapshot.compressionLevel = positiveInteger('compression-level', level, 'levels')
  if (onlyContainers.length) settings.restore.containers = onlyContainers
  if (onlyVolumes.length) settings.restore.volumes = onlyVolumes
  if (drillContainer) {
    settings.verify.drill = { container: drillContainer, command: ['sh', '-c', drillCommand] }
  }
  if (keep) settings.prune.keep = positiveInteger('keep', keep, 'snapshots')
  if (olderThan) settings.prune.olderThanMs = parseDuration('older-than', olderThan)
  return settings
}
