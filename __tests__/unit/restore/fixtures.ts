import type {
  ContainerRecord,
  ImageRecord,
  Manifest,
  NetworkRecord,
  VolumeRecord
} from '../../../src/manifest/manifest.js'
import { serializeManifest } from '../../../src/manifest/schema.js'

/** Records shaped as the snapshot side writes them, with only what a test cares about given. */
export function containerRecord(
  name: string,
  overrides: Partial<ContainerRecord> = {}
): ContainerRecord {
  return {
    name,
    id: idFor(name),
    sourceImage: 'docker-snapshot-test/busybox:1',
    image: `commit:${name}`,
    consistency: 'stop',
    running: true,
    dependsOn: [],
    mounts: [],
    endpoints: [],
    redactedEnv: [],
    create: { Cmd: ['sleep', '3600'], Env: ['PATH=/bin'], HostConfig: {} },
    ...overrides
  }
}

export function volumeRecord(name: string, overrides: Partial<VolumeRecord> = {}): VolumeRecord {
  return {
    name,
    driver: 'local',
    driverOptions: {},
    labels: {},
    anonymous: false,
    usedBy: [],
    root: { uid: 0, gid: 0, mode: 0o755, mtime: 1_600_000_000 },
    entries: 3,
    archive: {
      object: `volumes/${name}.tar.zst`,
      compression: 'zstd',
      sha256: 'a'.repeat(64),
      storedBytes: 100,
      tarBytes: 2048
    },
    ...overrides
  }
}

export function networkRecord(name: string, overrides: Partial<NetworkRecord> = {}): NetworkRecord {
  return {
    name,
    driver: 'bridge',
    internal: false,
    attachable: false,
    enableIPv6: false,
    labels: {},
    options: {},
    ipam: { driver: 'default', config: [], options: {} },
    ...overrides
  }
}

export function imageRecord(key: string, overrides: Partial<ImageRecord> = {}): ImageRecord {
  return {
    key,
    role: 'commit',
    container: key.replace(/^commit:/, ''),
    id: `sha256:${'b'.repeat(64)}`,
    location: 'store',
    reference: `docker-snapshot/commits:${key.replace(':', '-')}`,
    ...overrides
  }
}

export function manifestOf(parts: {
  containers?: ContainerRecord[]
  volumes?: VolumeRecord[]
  networks?: NetworkRecord[]
  images?: ImageRecord[]
}): Manifest {
  const containers = parts.containers ?? []
  return {
    schemaVersion: 1,
    snapshotId: 'snap-1',
    createdAt: '2026-01-01T00:00:00Z',
    completedAt: '2026-01-01T00:01:00Z',
    tool: { name: 'docker-snapshot', version: '0.1.0' },
    engine: { version: '20.10.24', apiVersion: '1.41', os: 'linux', arch: 'amd64' },
    selection: { containers: [], labels: [], all: true },
    consistency: 'stop',
    containers,
    images: parts.images ?? containers.map(c => imageRecord(c.image)),
    volumes: parts.volumes ?? [],
    networks: parts.networks ?? [],
    checksum: '0'.repeat(64)
  }
}

/** A stable fake container id per name. */
export function idFor(name: string): string {
  let hex = ''
  for (const char of name) hex += char.charCodeAt(0).toString(16)
  return hex
    .padEnd(64, '0')
    .slice(0, 64)
    .replace(/[^0-9a-f]/g, '0')
}

/** The text of a valid `manifest.json` of an empty snapshot, as the snapshot side writes it. */
export function manifestText(snapshotId: string, createdAt: Date): string {
  const at = createdAt.toISOString()
  return serializeManifest({ ...manifestOf({}), snapshotId, createdAt: at, completedAt: at })
}
