import { randomBytes } from 'node:crypto'
import { checkEngineAddress } from '../docker/connection.js'
import { InvalidSettingsError } from '../shared/errors.js'
import { type StoreSpec, readStoreSpec, secretsOf } from '../stores/spec.js'
import { type RestoreChoices, LATEST } from '../restore/index.js'
import { checkPrefix } from '../restore/names.js'
import type { SnapshotChoices } from '../snapshot/types.js'
import type { DrillCommand } from '../verify/index.js'
import type { PruneOptions } from './prune.js'
import { type EncryptionSpec, parseEncryptionSpec } from '../stores/encryption-spec.js'
import type { InputName } from './inputs.js'
import { INPUTS } from './inputs.js'
import {
  bool,
  checkRepository,
  checkSnapshotId,
  composeProject,
  compressionLevel,
  labels,
  names,
  oneOf,
  parseDuration,
  parseEnv,
  parseRegistry,
  positiveInteger,
  registryUsername,
  timeoutSeconds
} from './input-values.js'

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
  /** Keys to encrypt new snapshots with and to open encrypted ones. */
  encryption: EncryptionSpec
  /** For snapshot, the id to write; for restore and verify, an id or `latest`. */
  snapshotId: string
  registry?: RegistrySettings
  /**
   * registry-username and registry-password, for a registry store whose spec says `inputs`
   * (the image registry's are in `registry`).
   */
  storeCredentials?: { username?: string; password?: string }
  snapshot: SnapshotChoices
  restore: RestoreChoices
  verify: {
    restoreCheck: boolean
    drill?: DrillCommand
  }
  prune: Pick<PruneOptions, 'keep' | 'olderThanMs'>
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
    if (snapshotId === LATEST) {
      throw new InvalidSettingsError(
        "Invalid snapshot-id 'latest': a new snapshot needs its own id. Expected a new id, or " +
          'nothing for a time-based one.'
      )
    }
    snapshotId ||= newSnapshotId()
  } else {
    snapshotId ||= LATEST
  }
  checkSnapshotId(snapshotId)

  const secrets: string[] = []
  let registry: RegistrySettings | undefined
  const address = get('registry')
  const repository = checkRepository(get('repository'))
  const username = registryUsername(get('registry-username'))
  const password = source('registry-password')
  const store = readStoreSpec(source)
  secrets.push(...secretsOf(store).filter(isMaskable))
  if (password && isMaskable(password)) secrets.push(password)
  if (address) {
    registry = { address: parseRegistry(address), repository }
    if (username) registry.username = username
    if (password) registry.password = password
  } else if ((password || username) && store.kind !== 'registry') {
    const given = password ? 'registry-password' : 'registry-username'
    throw new InvalidSettingsError(
      `${given} is set but registry is empty: credentials for no registry. Expected registry ` +
        `(host:port) or an oci:// store as well, or no ${given}.`
    )
  }
  // The inputs are for the image registry; an oci:// store on the same host (or alone) uses them too.
  const storeCredentials =
    store.kind === 'registry' &&
    (password || username) &&
    (!registry || registry.address === store.host)
  if (storeCredentials) store.credentials = 'inputs'

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
  checkPrefix(prefix)

  const encryption = parseEncryptionSpec(source)
  secrets.push(...[encryption.passphrase ?? '', ...encryption.identities].filter(isMaskable))

  const settings: Settings = {
    mode,
    store,
    encryption,
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
  if (storeCredentials) {
    settings.storeCredentials = {
      ...(username && { username }),
      ...(password && { password })
    }
  }
  const project = composeProject(get('compose-project'))
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
