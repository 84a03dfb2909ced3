/** The manifest's JSON schema, version 1, and its validator (one schema: over 300 lines). */
import { Ajv, type JSONSchemaType } from 'ajv'
import {
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
import {
  CONTAINER_ID_PATTERN,
  ENGINE_NAME_PATTERN,
  IPV4_PATTERN,
  IPV6_PATTERN,
  ISO_TIME_PATTERN,
  OBJECT_NAME_PATTERN,
  SHA256_DIGEST_PATTERN,
  SHA256_HEX_PATTERN,
  SNAPSHOT_ID_PATTERN
} from './patterns.js'

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

/** What every volume record holds, kept or excluded. */
const volumeConfigRequired = ['name', 'driver', 'driverOptions', 'labels', 'usedBy'] as const
const volumeConfigProperties = {
  name: engineName,
  driver: nonEmptyString,
  driverOptions: stringMap,
  labels: stringMap,
  usedBy: nameList
}

const excludedVolumeSchema: JSONSchemaType<ExcludedVolumeRecord> = {
  type: 'object',
  additionalProperties: false,
  required: [...volumeConfigRequired],
  properties: volumeConfigProperties
}

const volumeSchema: JSONSchemaType<VolumeRecord> = {
  type: 'object',
  additionalProperties: false,
  required: [...volumeConfigRequired, 'anonymous', 'root', 'entries', 'archive'],
  properties: {
    ...volumeConfigProperties,
    anonymous: { type: 'boolean' },
    root: rootSchema,
    entries: byteCount,
    archive: archiveSchema
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
    id: { type: 'string', pattern: SHA256_DIGEST_PATTERN },
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
const manifestSchema: JSONSchemaType<Manifest> = {
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
    imageDigest: { type: 'string', pattern: SHA256_DIGEST_PATTERN },
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
export const validateManifestSchema = ajv.compile(manifestSchema)
