/**
 * The manifest's JSON schema, its checksum, and the only way to write or read a manifest:
 * `serializeManifest` and `parseManifest`. Reading checks, in order: JSON, schema version, schema,
 * checksum, then the cross-references the schema cannot express.
 */
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv'
import { ManifestError } from '../shared/errors.js'
import {
  MANIFEST_FILE,
  MANIFEST_VERSION,
  type ArchiveRecord,
  type ContainerCreateBody,
  type ContainerRecord,
  type EndpointRecord,
  type ExcludedVolumeRecord,
  type ImageRecord,
  type IpamConfigRecord,
  type Manifest,
  type MountRecord,
  type NetworkRecord,
  type RootMetadata,
  type VolumeRecord
} from './manifest.js'

/** A snapshot id: also a directory name and an OCI tag, so lowercase and no path separators. */
export const SNAPSHOT_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,127}$'

/**
 * An object name inside a snapshot: a relative path of non-empty segments, none of them `.` or
 * `..`, without backslashes or control characters, e.g. `volumes/pgdata.tar.zst`.
 */
export const OBJECT_NAME_PATTERN =
  '^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[^/\\\\\\u0000-\\u001f]+(?:/[^/\\\\\\u0000-\\u001f]+)*$'

export const SHA256_HEX_PATTERN = '^[a-f0-9]{64}$'

/** Built-in networks every engine has; endpoints may name them without a `networks` entry. */
export const BUILTIN_NETWORKS: readonly string[] = ['bridge', 'host', 'none']

const snapshotIdRegExp = new RegExp(SNAPSHOT_ID_PATTERN, 'u')
const objectNameRegExp = new RegExp(OBJECT_NAME_PATTERN, 'u')

export function isValidSnapshotId(snapshotId: string): boolean {
  return snapshotIdRegExp.test(snapshotId)
}

export function isValidObjectName(name: string): boolean {
  return objectNameRegExp.test(name)
}

// Engine object names: the engine's own rule for container and volume names.
const ENGINE_NAME_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$'
const IMAGE_ID_PATTERN = '^sha256:[a-f0-9]{64}$'
const CONTAINER_ID_PATTERN = '^[a-f0-9]{64}$'
const ISO_TIME_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$'
const IPV4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const IPV4_PATTERN = `^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`
const IPV6_PATTERN = '^[0-9a-fA-F.]*:[0-9a-fA-F:.]*$'

const nonEmptyString: JSONSchemaType<string> = { type: 'string', minLength: 1 }
const engineName: JSONSchemaType<string> = { type: 'string', pattern: ENGINE_NAME_PATTERN }
const stringList: JSONSchemaType<string[]> = { type: 'array', items: { type: 'string' } }
const nameList: JSONSchemaType<string[]> = { type: 'array', items: nonEmptyString }
const stringMap: JSONSchemaType<Record<string, string>> = {
  type: 'object',
  required: [],
  additionalProperties: { type: 'string' }
}
const byteCount: JSONSchemaType<number> = { type: 'integer', minimum: 0 }
const consistency: JSONSchemaType<Manifest['consistency']> = {
  type: 'string',
  enum: ['none', 'pause', 'stop']
}

const archiveSchema: JSONSchemaType<ArchiveRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['object', 'compression', 'sha256', 'storedBytes', 'tarBytes'],
  properties: {
    object: { type: 'string', pattern: OBJECT_NAME_PATTERN },
    compression: { type: 'string', enum: ['zstd', 'gzip', 'none'] },
    sha256: { type: 'string', pattern: SHA256_HEX_PATTERN },
    storedBytes: byteCount,
    tarBytes: byteCount
  }
}

const rootSchema: JSONSchemaType<RootMetadata> = {
  type: 'object',
  additionalProperties: false,
  required: ['uid', 'gid', 'mode', 'mtime'],
  properties: {
    uid: { type: 'integer', minimum: 0 },
    gid: { type: 'integer', minimum: 0 },
    mode: { type: 'integer', minimum: 0, maximum: 0o7777 },
    mtime: { type: 'integer' }
  }
}

const volumeSchema: JSONSchemaType<VolumeRecord> = {
  type: 'object',
  additionalProperties: false,
  required: [
    'name',
    'driver',
    'driverOptions',
    'labels',
    'anonymous',
    'usedBy',
    'root',
    'entries',
    'archive'
  ],
  properties: {
    name: engineName,
    driver: nonEmptyString,
    driverOptions: stringMap,
    labels: stringMap,
    anonymous: { type: 'boolean' },
    usedBy: nameList,
    root: rootSchema,
    entries: byteCount,
    archive: archiveSchema
  }
}

const excludedVolumeSchema: JSONSchemaType<ExcludedVolumeRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'driver', 'driverOptions', 'labels', 'usedBy'],
  properties: {
    name: engineName,
    driver: nonEmptyString,
    driverOptions: stringMap,
    labels: stringMap,
    usedBy: nameList
  }
}

// Optional members are `$ref`s: JSONSchemaType would otherwise demand `nullable: true`, and a
// manifest that says `null` where the type says "absent" is not one we wrote.
const mountSchema: JSONSchemaType<MountRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'source', 'destination', 'readOnly'],
  properties: {
    type: { type: 'string', enum: ['volume', 'bind', 'tmpfs'] },
    source: { type: 'string' },
    destination: { type: 'string', pattern: '^/' },
    readOnly: { type: 'boolean' },
    archive: { $ref: '#/definitions/archive' }
  }
}

const endpointSchema: JSONSchemaType<EndpointRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['network', 'aliases'],
  properties: {
    network: nonEmptyString,
    aliases: nameList,
    ipv4Address: { $ref: '#/definitions/ipv4Address' },
    ipv6Address: { $ref: '#/definitions/ipv6Address' }
  }
}

const createBodySchema: JSONSchemaType<ContainerCreateBody> = {
  type: 'object',
  additionalProperties: false,
  required: ['HostConfig'],
  properties: {
    Hostname: { $ref: '#/definitions/string' },
    Domainname: { $ref: '#/definitions/string' },
    User: { $ref: '#/definitions/string' },
    WorkingDir: { $ref: '#/definitions/string' },
    Entrypoint: { type: 'array', items: { type: 'string' }, nullable: true },
    Cmd: { type: 'array', items: { type: 'string' }, nullable: true },
    Env: { $ref: '#/definitions/stringList' },
    Labels: { $ref: '#/definitions/stringMap' },
    ExposedPorts: { $ref: '#/definitions/emptyObjectMap' },
    Tty: { $ref: '#/definitions/boolean' },
    OpenStdin: { $ref: '#/definitions/boolean' },
    StdinOnce: { $ref: '#/definitions/boolean' },
    AttachStdin: { $ref: '#/definitions/boolean' },
    AttachStdout: { $ref: '#/definitions/boolean' },
    AttachStderr: { $ref: '#/definitions/boolean' },
    StopSignal: { $ref: '#/definitions/string' },
    StopTimeout: { $ref: '#/definitions/integer' },
    Healthcheck: { $ref: '#/definitions/freeObject' },
    Volumes: { $ref: '#/definitions/emptyObjectMap' },
    HostConfig: { type: 'object', required: [], additionalProperties: true }
  }
}

const containerSchema: JSONSchemaType<ContainerRecord> = {
  type: 'object',
  additionalProperties: false,
  required: [
    'name',
    'id',
    'sourceImage',
    'image',
    'consistency',
    'running',
    'dependsOn',
    'mounts',
    'endpoints',
    'redactedEnv',
    'create'
  ],
  properties: {
    name: engineName,
    id: { type: 'string', pattern: CONTAINER_ID_PATTERN },
    sourceImage: nonEmptyString,
    image: nonEmptyString,
    consistency,
    running: { type: 'boolean' },
    dependsOn: nameList,
    mounts: { type: 'array', items: mountSchema },
    endpoints: { type: 'array', items: endpointSchema },
    redactedEnv: nameList,
    create: createBodySchema
  }
}

const imageSchema: JSONSchemaType<ImageRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'role', 'id', 'location', 'reference'],
  properties: {
    key: nonEmptyString,
    role: { type: 'string', enum: ['commit', 'source'] },
    container: { $ref: '#/definitions/engineName' },
    id: { type: 'string', pattern: IMAGE_ID_PATTERN },
    location: { type: 'string', enum: ['registry', 'store', 'local'] },
    reference: nonEmptyString,
    digest: { $ref: '#/definitions/imageDigest' },
    archive: { $ref: '#/definitions/archive' }
  }
}

const ipamConfigSchema: JSONSchemaType<IpamConfigRecord> = {
  type: 'object',
  additionalProperties: false,
  required: [],
  properties: {
    subnet: { $ref: '#/definitions/nonEmptyString' },
    ipRange: { $ref: '#/definitions/nonEmptyString' },
    gateway: { $ref: '#/definitions/nonEmptyString' }
  }
}

const networkSchema: JSONSchemaType<NetworkRecord> = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'driver', 'internal', 'attachable', 'enableIPv6', 'labels', 'options', 'ipam'],
  properties: {
    name: nonEmptyString,
    driver: nonEmptyString,
    internal: { type: 'boolean' },
    attachable: { type: 'boolean' },
    enableIPv6: { type: 'boolean' },
    labels: stringMap,
    options: stringMap,
    ipam: {
      type: 'object',
      additionalProperties: false,
      required: ['driver', 'config', 'options'],
      properties: {
        driver: nonEmptyString,
        config: { type: 'array', items: ipamConfigSchema },
        options: stringMap
      }
    }
  }
}

/** The JSON schema (draft-07) of manifest version 1. */
export const manifestSchema: JSONSchemaType<Manifest> = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'docker-snapshot manifest',
  definitions: {
    archive: archiveSchema,
    string: { type: 'string' },
    nonEmptyString,
    engineName,
    integer: { type: 'integer' },
    boolean: { type: 'boolean' },
    stringList,
    stringMap,
    emptyObjectMap: {
      type: 'object',
      required: [],
      additionalProperties: { type: 'object', required: [], maxProperties: 0 }
    },
    freeObject: { type: 'object', required: [], additionalProperties: true },
    imageDigest: { type: 'string', pattern: '^sha256:[a-f0-9]{64}$' },
    ipv4Address: { type: 'string', pattern: IPV4_PATTERN },
    ipv6Address: { type: 'string', pattern: IPV6_PATTERN },
    excludedVolumes: { type: 'array', items: excludedVolumeSchema }
  },
  type: 'object',
  additionalProperties: false,
  required: [
    'schemaVersion',
    'snapshotId',
    'createdAt',
    'completedAt',
    'tool',
    'engine',
    'selection',
    'consistency',
    'containers',
    'images',
    'volumes',
    'networks',
    'checksum'
  ],
  properties: {
    schemaVersion: { type: 'integer', const: MANIFEST_VERSION },
    snapshotId: { type: 'string', pattern: SNAPSHOT_ID_PATTERN },
    createdAt: { type: 'string', pattern: ISO_TIME_PATTERN },
    completedAt: { type: 'string', pattern: ISO_TIME_PATTERN },
    tool: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version'],
      properties: {
        name: { type: 'string', const: 'docker-snapshot' },
        version: nonEmptyString
      }
    },
    engine: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'apiVersion', 'os', 'arch'],
      properties: {
        version: nonEmptyString,
        apiVersion: nonEmptyString,
        os: nonEmptyString,
        arch: nonEmptyString
      }
    },
    selection: {
      type: 'object',
      additionalProperties: false,
      required: ['containers', 'labels', 'all'],
      properties: {
        containers: nameList,
        composeProject: { $ref: '#/definitions/nonEmptyString' },
        labels: nameList,
        all: { type: 'boolean' }
      }
    },
    consistency,
    containers: { type: 'array', items: containerSchema },
    images: { type: 'array', items: imageSchema },
    volumes: { type: 'array', items: volumeSchema },
    excludedVolumes: { $ref: '#/definitions/excludedVolumes' },
    networks: { type: 'array', items: networkSchema },
    checksum: { type: 'string', pattern: SHA256_HEX_PATTERN }
  }
}

const ajv = new Ajv({ allErrors: true, strict: true })
const validateManifestSchema = ajv.compile(manifestSchema)

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
    const reason = error instanceof Error ? error.message : String(error)
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

/** Cross-references the schema cannot express; each message names the entry at fault. */
export function findInconsistencies(manifest: Manifest): string[] {
  const problems: string[] = []

  for (const field of ['createdAt', 'completedAt'] as const) {
    if (Number.isNaN(Date.parse(manifest[field]))) {
      problems.push(`${field} '${manifest[field]}' is not a valid time`)
    }
  }

  const containerNames = reportDuplicates(
    manifest.containers.map(container => container.name),
    'container name',
    problems
  )
  const imageKeys = reportDuplicates(
    manifest.images.map(image => image.key),
    'image key',
    problems
  )
  const volumeNames = reportDuplicates(
    [...manifest.volumes, ...(manifest.excludedVolumes ?? [])].map(volume => volume.name),
    'volume name',
    problems
  )
  const networkNames = reportDuplicates(
    manifest.networks.map(network => network.name),
    'network name',
    problems
  )

  const archiveOwners = new Map<string, string>()
  const claimArchive = (archive: ArchiveRecord | undefined, owner: string): void => {
    if (archive === undefined) return
    if (archive.object === MANIFEST_FILE) {
      problems.push(`${owner}: archive object '${MANIFEST_FILE}' is reserved for the manifest`)
    }
    const previous = archiveOwners.get(archive.object)
    if (previous === undefined) archiveOwners.set(archive.object, owner)
    else
      problems.push(`archive object '${archive.object}' is used by both ${previous} and ${owner}`)
  }

  manifest.volumes.forEach((volume, index) => {
    claimArchive(volume.archive, `volumes[${index}] '${volume.name}'`)
  })

  manifest.containers.forEach((container, index) => {
    const entry = `containers[${index}] '${container.name}'`
    if (!imageKeys.has(container.image)) {
      problems.push(`${entry}: image '${container.image}' is not in images`)
    }
    const destinations = new Set<string>()
    container.mounts.forEach((mount, mountIndex) => {
      const where = `${entry} mounts[${mountIndex}] (${mount.destination})`
      if (destinations.has(mount.destination)) {
        problems.push(`${where}: destination is mounted twice`)
      }
      destinations.add(mount.destination)
      if (mount.type === 'volume' && !volumeNames.has(mount.source)) {
        problems.push(`${where}: volume '${mount.source}' is not in volumes`)
      }
      if (mount.type === 'bind' && !posix.isAbsolute(mount.source)) {
        problems.push(`${where}: bind source '${mount.source}' is not an absolute path`)
      }
      if (mount.type === 'tmpfs' && mount.source !== '') {
        problems.push(`${where}: tmpfs mount has source '${mount.source}' (expected none)`)
      }
      claimArchive(mount.archive, where)
    })
    const attached = new Set<string>()
    container.endpoints.forEach((endpoint, endpointIndex) => {
      const where = `${entry} endpoints[${endpointIndex}]`
      if (attached.has(endpoint.network)) {
        problems.push(`${where}: network '${endpoint.network}' is attached twice`)
      }
      attached.add(endpoint.network)
      if (!networkNames.has(endpoint.network) && !BUILTIN_NETWORKS.includes(endpoint.network)) {
        problems.push(`${where}: network '${endpoint.network}' is not in networks`)
      }
    })
  })

  manifest.images.forEach((image, index) => {
    const entry = `images[${index}] '${image.key}'`
    if (image.role === 'commit') {
      if (image.container === undefined) {
        problems.push(`${entry}: a commit image must name its container`)
      } else if (!containerNames.has(image.container)) {
        problems.push(`${entry}: container '${image.container}' is not in containers`)
      }
    }
    if (image.location === 'store' && image.archive === undefined) {
      problems.push(`${entry}: location 'store' but no archive`)
    }
    if (image.location === 'registry' && image.digest === undefined) {
      problems.push(`${entry}: location 'registry' but no digest to pin the pull`)
    }
    claimArchive(image.archive, entry)
  })

  return problems
}

/** The set of names; each name that appears more than once is reported once. */
function reportDuplicates(names: string[], what: string, problems: string[]): Set<string> {
  const seen = new Set<string>()
  const reported = new Set<string>()
  for (const name of names) {
    if (seen.has(name) && !reported.has(name)) {
      problems.push(`duplicate ${what} '${name}'`)
      reported.add(name)
    }
    seen.add(name)
  }
  return seen
}
