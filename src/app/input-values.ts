/**
 * Raw input values (action inputs, CLI flags) to typed ones. Each throws InvalidSettingsError that
 * names the input, shows the value (never a secret's) and says what was expected.
 */
import type { CompressorChoice } from '../archive/index.js'
import { COMPRESSION_LEVELS } from '../archive/index.js'
import { InvalidSettingsError, invalidInput } from '../shared/errors.js'
import { ENGINE_NAME_PATTERN } from '../manifest/patterns.js'
import { isValidSnapshotId } from '../manifest/schema.js'
import { LATEST } from '../restore/index.js'
import { MAX_TIMEOUT_SECONDS } from '../shared/timeouts.js'
import type { InputName } from './inputs.js'

export function oneOf<T extends string>(name: InputName, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw invalidInput(name, value, `Expected one of: ${allowed.join(', ')}.`)
}

export function bool(name: InputName, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true
  if (/^(false|no|0)$/i.test(value)) return false
  throw invalidInput(name, value, 'Expected true or false.')
}

function list(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map(item => item.trim())
    .filter(Boolean)
}

const ENGINE_NAME_REGEXP = new RegExp(ENGINE_NAME_PATTERN)

/** A list of container or volume names; each must be one the engine could have. */
export function names(name: InputName, value: string, what: 'container' | 'volume'): string[] {
  const items = list(value)
  const bad = items.find(item => !ENGINE_NAME_REGEXP.test(item))
  if (bad !== undefined) {
    throw invalidInput(
      name,
      bad,
      `No ${what} can have that name: expected ${what} names${what === 'container' ? ' or ids' : ''} ` +
        "(letters, digits, '_', '.' or '-', starting with a letter or digit), separated by " +
        'commas or newlines.'
    )
  }
  return items
}

export function positiveInteger(name: InputName, value: string, unit: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw invalidInput(name, value, `Expected a positive whole number of ${unit}.`)
  }
  if (!Number.isSafeInteger(Number(value))) {
    throw invalidInput(
      name,
      value,
      `Too large: expected at most ${Number.MAX_SAFE_INTEGER} ${unit}.`
    )
  }
  return Number(value)
}

/** A timeout in whole seconds, to milliseconds; within what a Node.js timer can wait. */
export function timeoutSeconds(name: InputName, value: string): number {
  const seconds = positiveInteger(name, value, 'seconds')
  if (seconds > MAX_TIMEOUT_SECONDS) {
    throw invalidInput(
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
    throw invalidInput(name, value, 'Expected a number and a unit, like 30m, 12h or 7d.')
  }
  const ms = Number(match[1]) * DURATION_UNITS[match[2]]
  if (ms > MAX_DURATION_MS) {
    throw invalidInput(name, value, 'Too long: expected at most 36500d (a hundred years).')
  }
  return ms
}

export function parseRegistry(address: string): string {
  const expected = 'Expected host or host:port, like 127.0.0.1:5000 or ghcr.io.'
  const match =
    /^[A-Za-z0-9.-]+(?::(\d+))?$/.exec(address) ?? /^\[[0-9a-fA-F:]+\](?::(\d+))?$/.exec(address)
  if (!match) throw invalidInput('registry', address, expected)
  const port = match[1]
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalidInput('registry', address, `Port ${port} is out of range: ${expected}`)
  }
  return address
}

export function checkRepository(repository: string): string {
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(repository)) {
    throw invalidInput(
      'repository',
      repository,
      'Expected lowercase path components like team/snapshots.'
    )
  }
  return repository
}

export function parseEnv(value: string): Record<string, string> {
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

/** A snapshot id, or `latest` (LATEST) where an existing one is meant. */
export function checkSnapshotId(snapshotId: string): string {
  if (snapshotId !== LATEST && !isValidSnapshotId(snapshotId)) {
    throw invalidInput(
      'snapshot-id',
      snapshotId,
      `It cannot name a snapshot: ${snapshotIdFault(snapshotId)}. Expected lowercase letters, ` +
        "digits, '.', '_' or '-', starting with a letter or digit, at most 128 characters."
    )
  }
  return snapshotId
}

/** A compose project name, as compose allows it; '' for none. */
export function composeProject(project: string): string {
  if (project && !/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw invalidInput(
      'compose-project',
      project,
      "No compose project has that name: expected lowercase letters, digits, '_' or '-', " +
        'starting with a letter or digit.'
    )
  }
  return project
}

/** A registry user name, as registries take it; '' for none. */
export function registryUsername(username: string): string {
  if (username && !/^[^\s:]+$/.test(username)) {
    throw invalidInput(
      'registry-username',
      username,
      "Expected a user name without ':' or white space, as registries take it."
    )
  }
  return username
}

/** `key` or `key=value` entries; a key is never empty nor holds white space. */
export function labels(value: string): string[] {
  const items = list(value)
  for (const item of items) {
    const key = item.split('=')[0]
    if (!key || /\s/.test(key)) {
      throw invalidInput(
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
export function compressionLevel(value: string, compression: CompressorChoice): number | undefined {
  if (!value) return undefined
  const range = COMPRESSION_LEVELS[compression === 'gzip' ? 'gzip' : 'zstd']
  const level = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(level >= range.min && level <= range.max)) {
    throw invalidInput(
      'compression-level',
      value,
      `Expected a whole number from ${range.min} to ${range.max} for compression ${compression} ` +
        `(zstd ${COMPRESSION_LEVELS.zstd.min}-${COMPRESSION_LEVELS.zstd.max}, gzip ` +
        `${COMPRESSION_LEVELS.gzip.min}-${COMPRESSION_LEVELS.gzip.max}).`
    )
  }
  return level
}
