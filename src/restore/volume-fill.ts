import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { addAbortSignal } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { DigestCounter, rootEntryTar } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { NOT_SHARED_EXIT, helperFolder, notShared, sharedCheck } from '../docker/helper-image.js'
import type { HelperMethod, VolumeCopyMethod } from '../docker/helper-image.js'
import type { Logger } from '../shared/log.js'
import { ArchiveIntegrityError, SnapshotError } from '../shared/errors.js'
import type { ArchiveRecord, Compression, VolumeRecord } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { TAR_KEEP_ALL } from '../snapshot/volume-copy.js'
import { openArchiveTar } from './archives.js'

/** The helper's script: unpack /in/archive into /data, failing when either side did. */
export function restoreScript(compression: Exclude<Compression, 'none'>): string {
  const decompress = compression === 'gzip' ? 'gzip -d -c' : 'zstd -d -q -c'
  return (
    sharedCheck('/in', false) +
    `{ ${decompress} /in/archive; echo $? > /decompress-status; } | ` +
    `tar -x ${TAR_KEEP_ALL} -C /data -f - ; t=$?; read z < /decompress-status; ` +
    `[ "$t" = 0 ] && [ "$z" = 0 ]`
  )
}

/**
 * Writes a stored volume archive (already verified) into volume `target`: unpacked by a helper
 * container next to the data, which keeps xattrs, ACLs and holes, or put through the engine's
 * archive API. The helper reads a copy in a fresh folder of `workRoot`, whose digest is checked
 * against the manifest before anything is unpacked.
 */
export async function fillVolume(
  engine: Engine,
  method: VolumeCopyMethod,
  source: { store: SnapshotStore; snapshotId: string },
  record: VolumeRecord & { archive: ArchiveRecord },
  target: string,
  options: { log: Logger; signal?: AbortSignal }
): Promise<VolumeCopyMethod> {
  const what = `volume ${record.name}`
  const { archive } = record
  const { signal } = options
  if (method.method === 'helper') {
    if (await fillWithHelper(engine, method, source, record, target, signal)) return method
    method = notShared(method, options.log)
  }
  const { tar, check } = openArchiveTar(source.store, source.snapshotId, archive, what)
  await engine.writeVolume(
    target,
    signal ? addAbortSignal(signal, tar) : tar,
    rootEntryTar(record.root, 'volume')
  )
  check()
  return method
}

/** The helper's side of fillVolume; false when the helper found that it runs elsewhere. */
async function fillWithHelper(
  engine: Engine,
  method: HelperMethod,
  source: { store: SnapshotStore; snapshotId: string },
  record: VolumeRecord & { archive: ArchiveRecord },
  target: string,
  signal?: AbortSignal
): Promise<boolean> {
  const what = `volume ${record.name}`
  const { archive } = record
  if (archive.compression === 'none') {
    throw new ArchiveIntegrityError(`Archive ${archive.object} (${what}) is not compressed.`)
  }
  await engine.inspectVolume(target)
  const dir = await helperFolder(method.workRoot, 'fill')
  try {
    const digest = new DigestCounter()
    const stored = await source.store.get(source.snapshotId, archive.object)
    await pipeline(stored, digest, createWriteStream(join(dir, 'archive')), { signal })
    if (digest.bytes !== archive.storedBytes || digest.sha256 !== archive.sha256) {
      throw new ArchiveIntegrityError(
        `Archive ${archive.object} (${what}) changed in the store since it was verified: it ` +
          `now is ${digest.bytes} bytes with sha256 ${digest.sha256}, the manifest recorded ` +
          `${archive.storedBytes} bytes with sha256 ${archive.sha256}. Nothing was written; ` +
          'restore from another snapshot.'
      )
    }
    const run = await engine.runHelper(
      {
        name: `docker-snapshot-fill-${process.pid}-${Date.now().toString(36)}`,
        Image: method.image,
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: [restoreScript(archive.compression)],
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [
            { Type: 'volume', Source: target, Target: '/data' },
            { Type: 'bind', Source: dir, Target: '/in', ReadOnly: true }
          ]
        }
      },
      signal
    )
    if (run.exitCode === NOT_SHARED_EXIT) return false
    if (run.exitCode !== 0) {
      throw new SnapshotError(
        `Writing volume ${target} failed in the helper container (exit ${run.exitCode}): ` +
          `${run.output.trim() || 'no output'}. Restore again, or set copy-method archive.`
      )
    }
    return true
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
