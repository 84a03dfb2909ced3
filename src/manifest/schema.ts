/**
 * The only way to write or read a manifest: `serializeManifest` and `parseManifest`, with its
 * checksum. Reading checks, in order: JSON, schema version, schema (json-schema.ts), checksum,
 * then the cross-references the schema cannot express (consistency.ts).
 */
import { createHash } from 'node:crypto'
import type { ErrorObject } from 'ajv'
import { ManifestError, errorMessage } from '../shared/errors.js'
import { findInconsistencies } from './consistency.js'
import { validateManifestSchema } from './json-schema.js'
import { MANIFEST_VERSION, type Manifest } from './manifest.js'
import { OBJECT_NAME_PATTERN, SNAPSHOT_ID_PATTERN } from './patterns.js'

const snapshotIdRegExp = new RegExp(SNAPSHOT_ID_PATTERN, 'u')
const objectNameRegExp = new RegExp(OBJECT_NAME_PATTERN, 'u')

export function isValidSnapshotId(snapshotId: string): boolean {
  return snapshotIdRegExp.test(snapshotId)
}

export function isValidObjectName(name: string): boolean {
  return objectNameRegExp.test(name)
}

/** How many schema errors or inconsistencies one message lists. */
const MAX_LISTED = 5

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no whitespace; members
 * whose value is `undefined` are left out, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(item => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`)
    return `{${members.join(',')}}`
  }
  const text = JSON.stringify(value) as string | undefined
  if (text === undefined) throw new TypeError(`cannot represent ${typeof value} in JSON`)
  return text
}

/** sha256 (lowercase hex) of the canonical JSON of every field but `checksum`. */
export function computeChecksum(manifest: Omit<Manifest, 'checksum'>): string {
  const content: Record<string, unknown> = { ...manifest }
  delete content.checksum
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex')
}

/**
 * The text of `manifest.json`: the manifest with its checksum filled in, 2-space JSON and a final
 * newline. Throws ManifestError if the result would not pass `parseManifest`.
 */
export function serializeManifest(manifest: Omit<Manifest, 'checksum'>): string {
  const content: Record<string, unknown> = { ...manifest }
  delete content.checksum
  const text = `${JSON.stringify({ ...content, checksum: computeChecksum(manifest) }, null, 2)}\n`
  parseManifest(text, `the manifest of snapshot '${manifest.snapshotId}' being written`)
  return text
}

/**
 * Reads and fully checks a manifest. `source` says where the text came from (a path, or the
 * snapshot and store) and starts every error message.
 */
export function parseManifest(text: string, source: string): Manifest {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    const reason = errorMessage(error)
    throw new ManifestError(
      `${source}: not valid JSON (${reason}); the manifest is damaged or is not a manifest: ` +
        'restore it from an unmodified copy or take a new snapshot',
      { cause: error }
    )
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ManifestError(
      `${source}: not a docker-snapshot manifest (expected a JSON object, found ${describeJsonType(parsed)})`
    )
  }

  checkSchemaVersion(parsed, source)

  if (!validateManifestSchema(parsed)) {
    const errors = validateManifestSchema.errors ?? []
    throw new ManifestError(
      `${source}: does not match manifest schema version ${MANIFEST_VERSION}: ` +
        `${listFirst(errors.map(formatSchemaError))}; ` +
        'the manifest was edited or written by a faulty tool: restore it from an unmodified copy or take a new snapshot'
    )
  }
  const manifest = parsed

  const computed = computeChecksum(manifest)
  if (computed !== manifest.checksum) {
    throw new ManifestError(
      `${source}: checksum mismatch: the manifest was modified after it was written: ` +
        `expected ${manifest.checksum}, computed ${computed}; restore from an unmodified copy`
    )
  }

  const inconsistencies = findInconsistencies(manifest)
  if (inconsistencies.length > 0) {
    throw new ManifestError(
      `${source}: inconsistent manifest: ${listFirst(inconsistencies)}; ` +
        'it cannot be restored: take a new snapshot'
    )
  }
  return manifest
}

function checkSchemaVersion(parsed: object, source: string): void {
  const version: unknown = 'schemaVersion' in parsed ? parsed.schemaVersion : undefined
  if (version === MANIFEST_VERSION) return
  if (version === undefined) {
    throw new ManifestError(
      `${source}: no schemaVersion: this is not a docker-snapshot manifest, or it was truncated`
    )
  }
  if (typeof version === 'number' && Number.isInteger(version) && version > MANIFEST_VERSION) {
    throw new ManifestError(
      `${source}: schemaVersion ${version} was written by a newer docker-snapshot ` +
        `(this one reads schemaVersion ${MANIFEST_VERSION}); upgrade docker-snapshot to restore it`
    )
  }
  const older = typeof version === 'number' && Number.isInteger(version) && version < 1
  throw new ManifestError(
    `${source}: schemaVersion ${JSON.stringify(version)} is ${older ? 'older than any' : 'not a'} ` +
      `version this docker-snapshot reads (it reads schemaVersion ${MANIFEST_VERSION})`
  )
}

function describeJsonType(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

function listFirst(items: string[]): string {
  const listed = items.slice(0, MAX_LISTED).join('; ')
  const more = items.length - MAX_LISTED
  return more > 0 ? `${listed}; and ${more} more` : listed
}

function formatSchemaError(error: ErrorObject): string {
  const path = error.instancePath === '' ? '(root)' : error.instancePath
  let message = error.message ?? `fails ${error.keyword}`
  const params: Record<string, unknown> = error.params
  if (error.keyword === 'additionalProperties') {
    message += ` (${String(params.additionalProperty)})`
  } else if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message += `: ${params.allowedValues.map(value => JSON.stringify(value)).join(', ')}`
  } else if (error.keyword === 'const') {
    message += ` ${JSON.stringify(params.allowedValue)}`
  }
  return `${path}: ${message}`
}
