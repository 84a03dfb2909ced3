/**
 * The snapshot manifest: what was taken and how to bring it back. Versioned; validated against
 * its JSON schema (json-schema.ts) whenever it is read; carries a checksum over its own
 * content so that an edit after writing is caught. Written last: a snapshot without one is
 * incomplete.
 */

export const MANIFEST_VERSION = 1
export const MANIFEST_FILE = 'manifest.json'

/** Built-in networks every engine has; endpoints may name them without a `networks` entry. */
export const BUILTIN_NETWORKS: readonly string[] = ['bridge', 'host', 'none']

export type Consistency = 'none' | 'pause' | 'stop'
export type Compression = 'zstd' | 'gzip'

/** One stored object of a snapshot (a volume archive, a saved image) and the proof of its bytes. */
export interface ArchiveRecord {
  /** Object name inside the snapshot, e.g. `volumes/pgdata.tar.zst`. */
  object: string
  /** `none` for a `docker save` tar that is stored as it is. */
  compression: Compression | 'none'
  /** sha256 of the stored (compressed) bytes, lowercase hex. */
  sha256: string
  /** Size of the stored bytes. */
  storedBytes: number
  /** Size of the tar before compression. */
  tarBytes: number
}

/** The owner, mode and modification time of a volume's root directory (the tar's `./`). */
export interface RootMetadata {
  uid: number
  gid: number
  /** Permission bits, e.g. 0o755 as 493. */
  mode: number
  /** Seconds since the epoch. */
  mtime: number
}

/** What recreates a volume: its name, driver, options and labels; and who mounts it. */
export interface VolumeConfigRecord {
  name: string
  driver: string
  driverOptions: Record<string, string>
  labels: Record<string, string>
  /** Containers (by name) that mount it. */
  usedBy: string[]
}

export interface VolumeRecord extends VolumeConfigRecord {
  /** True for a volume the engine named itself (a hex id), created by an image's VOLUME. */
  anonymous: boolean
  root: RootMetadata
  /** Count of tar entries (files, directories, links) below the root. */
  entries: number
  archive: ArchiveRecord
}

/**
 * A volume a container mounts that the snapshot left out (`exclude-volumes`, e.g. a cache): its
 * contents are not taken; a restore gives the containers a new empty volume of that name.
 */
export type ExcludedVolumeRecord = VolumeConfigRecord

export interface MountRecord {
  type: 'volume' | 'bind' | 'tmpfs'
  /** Volume name (type volume) or host path (type bind); empty for tmpfs. */
  source: string
  destination: string
  readOnly: boolean
  /** Present when a bind mount's contents were captured (only when asked). */
  archive?: ArchiveRecord
}

export interface EndpointRecord {
  /** Network name as the original container used it. */
  network: string
  /** User-given aliases only (never the engine's container-id aliases). */
  aliases: string[]
  /** Static addresses the user asked for, if any. */
  ipv4Address?: string
  ipv6Address?: string
}

export interface ContainerRecord {
  name: string
  /** The original container id, for reference only. */
  id: string
  /** The image the container was created from (`Config.Image`), as the user wrote it. */
  sourceImage: string
  /** Key into `images` of the image to recreate it from (the commit, or the source image). */
  image: string
  consistency: Consistency
  /** Whether it was running when the snapshot began; restore starts only those that were. */
  running: boolean
  /** Names of containers that must be started before this one. */
  dependsOn: string[]
  mounts: MountRecord[]
  endpoints: EndpointRecord[]
  /**
   * Names of environment variables whose values were left out because they look secret; on
   * restore they come from the committed image's config, or must be supplied.
   */
  redactedEnv: string[]
  /**
   * The engine's create body (`Config` fields with `HostConfig`), minus runtime state, secrets
   * and the engine-chosen hostname. Restore maps names (prefix) and passes it back.
   */
  create: ContainerCreateBody
}

/** The subset of the engine's container-create body that we capture. */
export interface ContainerCreateBody {
  Hostname?: string
  Domainname?: string
  User?: string
  WorkingDir?: string
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Env?: string[]
  Labels?: Record<string, string>
  ExposedPorts?: Record<string, Record<string, never>>
  Tty?: boolean
  OpenStdin?: boolean
  StdinOnce?: boolean
  AttachStdin?: boolean
  AttachStdout?: boolean
  AttachStderr?: boolean
  StopSignal?: string
  StopTimeout?: number
  Healthcheck?: Record<string, unknown>
  Volumes?: Record<string, Record<string, never>>
  HostConfig: Record<string, unknown>
}

/**
 * Removes what a container on `container:<other>` network mode shows but does not own: the
 * other container's hostname and domain, and the ports its image exposes. The engine refuses
 * them at create, so they are neither recorded nor given back.
 */
export function dropSharedNetworkFields(
  body: Pick<ContainerCreateBody, 'Hostname' | 'Domainname' | 'ExposedPorts'>
): void {
  delete body.Hostname
  delete body.Domainname
  delete body.ExposedPorts
}

export interface ImageRecord {
  /** Stable key containers refer to, e.g. `commit:web` or `source:sha256:…`. */
  key: string
  role: 'commit' | 'source'
  /** Container whose filesystem it holds (role commit). */
  container?: string
  /** Local image id (`sha256:…`) when the snapshot was taken. */
  id: string
  /**
   * Where to get it back: `registry` pulls `reference` (pinned by `digest`), `store` loads the
   * `docker save` tar from the snapshot's `archive`, `local` expects it on the engine already.
   */
  location: 'registry' | 'store' | 'local'
  /** A reference to pull or to tag the loaded image with. */
  reference: string
  /** Registry manifest digest (`sha256:…`) for location `registry`. */
  digest?: string
  archive?: ArchiveRecord
}

export interface IpamConfigRecord {
  subnet?: string
  ipRange?: string
  gateway?: string
}

export interface NetworkRecord {
  name: string
  driver: string
  internal: boolean
  attachable: boolean
  enableIPv6: boolean
  labels: Record<string, string>
  options: Record<string, string>
  ipam: { driver: string; config: IpamConfigRecord[]; options: Record<string, string> }
}

/** Which containers a snapshot takes, as the user chose them. */
export interface Selection {
  /** Names or ids. */
  containers: string[]
  composeProject?: string
  /** `key` or `key=value`; a container must carry all of them. */
  labels: string[]
  all: boolean
}

export interface Manifest {
  schemaVersion: typeof MANIFEST_VERSION
  snapshotId: string
  /** ISO 8601 times: when capture began and when the manifest was written. */
  createdAt: string
  completedAt: string
  tool: { name: 'docker-snapshot'; version: string }
  engine: { version: string; apiVersion: string; os: string; arch: string }
  /** How the targets were chosen, as given. */
  selection: Selection
  consistency: Consistency
  containers: ContainerRecord[]
  images: ImageRecord[]
  volumes: VolumeRecord[]
  /** Volumes the containers mount whose contents were left out; absent when there are none. */
  excludedVolumes?: ExcludedVolumeRecord[]
  networks: NetworkRecord[]
  /** sha256 (hex) of the canonical JSON of every other field: see schema.ts. */
  checksum: string
}
