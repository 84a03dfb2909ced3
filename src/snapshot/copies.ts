/** What a snapshot copies into its store: volumes and bind mounts, packed and counted. */
import { type Codec, type PackResult, packArchive } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { ARCHIVE_API_LOSSES } from '../docker/helper-image.js'
import type { CopyMethod, VolumeCopyMethod } from '../docker/helper-image.js'
import type { ContainerDetails, VolumeDetails } from '../docker/types.js'
import { SnapshotError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { formatBytes } from '../shared/format.js'
import type { TransferListener } from '../shared/transfer.js'
import type { ArchiveRecord, VolumeRecord } from '../manifest/manifest.js'
import type { SnapshotWriter } from '../stores/store.js'
import { type CapturedContainer, containerName } from './capture.js'
import { copyVolume } from './volume-copy.js'

export interface VolumeResult {
  name: string
  tarBytes: number
  storedBytes: number
  seconds: number
  /** How it was copied: a helper container next to the data, or the engine's archive API. */
  method: CopyMethod
  /** What that copy did not keep (the archive API loses xattrs, ACLs and sparseness). */
  notKept: string[]
}

export function secondsSince(since: number): number {
  return (Date.now() - since) / 1000
}

/** The object a tar is stored as, e.g. `volumes/pgdata.tar.zst`. */
export function archiveObject(folder: string, name: string, codec: Codec): string {
  return `${folder}/${name}.tar.${codec.algorithm === 'zstd' ? 'zst' : 'gz'}`
}

export function archiveRecord(object: string, packed: PackResult): ArchiveRecord {
  return {
    object,
    compression: packed.compression,
    sha256: packed.sha256,
    storedBytes: packed.storedBytes,
    tarBytes: packed.tarBytes
  }
}

/** What copying needs of a snapshot run. */
export interface CopyContext {
  engine: Engine
  writer: SnapshotWriter
  codec: Codec
  log: Logger
  onTransfer?: TransferListener
  signal?: AbortSignal
  /** How volumes are copied; a helper that finds it runs elsewhere switches it to the archive API. */
  volumeCopy: { method: VolumeCopyMethod }
}

/** Copies each volume into the store; `results` hears how each went. */
export async function copyVolumes(
  context: CopyContext,
  containers: ContainerDetails[],
  volumeTargets: VolumeDetails[],
  results: VolumeResult[]
): Promise<VolumeRecord[]> {
  const { engine, writer, codec, log, onTransfer, signal } = context
  const usedBy = new Map<string, string[]>()
  for (const details of containers) {
    for (const mount of details.Mounts ?? []) {
      if (mount.Name)
        usedBy.set(mount.Name, [...(usedBy.get(mount.Name) ?? []), containerName(details)])
    }
  }
  const records: VolumeRecord[] = []
  for (const volume of volumeTargets) {
    const object = archiveObject('volumes', volume.Name, codec)
    const started = Date.now()
    signal?.throwIfAborted()
    const { packed, method } = await copyVolume(
      engine,
      context.volumeCopy.method,
      volume.Name,
      codec,
      { writer, object },
      {
        log,
        signal,
        onProgress: bytes => onTransfer?.({ kind: 'volume', name: volume.Name, bytes, done: false })
      }
    )
    context.volumeCopy.method = method
    onTransfer?.({ kind: 'volume', name: volume.Name, bytes: packed.tarBytes, done: true })
    if (!packed.root) {
      throw new SnapshotError(`the engine's archive of volume ${volume.Name} has no root entry`)
    }
    const took = secondsSince(started)
    results.push({
      name: volume.Name,
      tarBytes: packed.tarBytes,
      storedBytes: packed.storedBytes,
      seconds: took,
      method: method.method,
      notKept: method.method === 'archive' ? ARCHIVE_API_LOSSES : []
    })
    log.info(
      `${volume.Name}: ${formatBytes(packed.tarBytes)} -> ${formatBytes(packed.storedBytes)} ` +
        `in ${took.toFixed(1)} s (${formatBytes(packed.tarBytes / Math.max(took, 0.001))}/s) ` +
        `by ${method.method === 'helper' ? 'a helper container' : "the engine's archive API"}`
    )
    records.push({
      name: volume.Name,
      driver: volume.Driver,
      driverOptions: volume.Options ?? {},
      labels: volume.Labels ?? {},
      anonymous: /^[0-9a-f]{64}$/.test(volume.Name),
      usedBy: usedBy.get(volume.Name) ?? [],
      root: packed.root,
      entries: packed.entries,
      archive: archiveRecord(object, packed)
    })
  }
  return records
}

/** Copies the contents of each container's bind mounts, recording the archive on its mount. */
export async function copyBindMounts(
  context: CopyContext,
  inOrder: CapturedContainer[]
): Promise<void> {
  const { engine, writer, codec, log } = context
  for (const { details, record } of inOrder) {
    for (const [index, mount] of record.mounts.entries()) {
      if (mount.type !== 'bind') continue
      const object = archiveObject('binds', `${record.name}-${index}`, codec)
      const packed = await engine.readContainerPath(details.Id, mount.destination, tar =>
        packArchive(tar, codec, compressed => writer.put(object, compressed))
      )
      mount.archive = archiveRecord(object, packed)
      log.info(`${record.name}: bind mount ${mount.source} -> ${formatBytes(packed.storedBytes)}`)
    }
  }
}
