/**
 * The stored archives a restore reads: proven against the manifest before anything is changed,
 * then streamed a second time into the engine, with the digest checked again on the way.
 */
import { Readable, Writable, pipeline } from 'node:stream'
import { pipeline as pipelineAsync } from 'node:stream/promises'
import { extract } from 'tar-stream'
import {
  DigestCounter,
  createDecompressor,
  inspectArchive,
  type ArchiveInspection
} from '../archive/index.js'
import { ArchiveIntegrityError, SnapshotError, StoreError, errorMessage } from '../shared/errors.js'
import type { ArchiveRecord, ImageRecord, VolumeRecord } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'

/**
 * Reads the volume's archive to its end: digest, size, decompression and every tar entry (none may
 * land outside the volume), and that it holds what the manifest says it holds.
 */
export async function verifyVolumeArchive(
  store: SnapshotStore,
  snapshotId: string,
  volume: VolumeRecord
): Promise<ArchiveInspection> {
  const { archive } = volume
  if (archive.compression === 'none') {
    throw new ArchiveIntegrityError(
      `Archive ${archive.object} of volume ${volume.name} is recorded as uncompressed; ` +
        'docker-snapshot never writes volumes so. The manifest does not describe a volume ' +
        'archive; restore from another snapshot.'
    )
  }
  const inspection = await inspectArchive(await store.get(snapshotId, archive.object), {
    sha256: archive.sha256,
    storedBytes: archive.storedBytes,
    compression: archive.compression,
    object: archive.object
  })
  const differences: string[] = []
  if (inspection.entries !== volume.entries) {
    differences.push(`${inspection.entries} entries where it recorded ${volume.entries}`)
  }
  if (inspection.tarBytes !== archive.tarBytes) {
    differences.push(`a ${inspection.tarBytes}-byte tar where it recorded ${archive.tarBytes}`)
  }
  for (const field of ['uid', 'gid', 'mode', 'mtime'] as const) {
    if (inspection.root[field] !== volume.root[field]) {
      differences.push(
        `root ${field} ${inspection.root[field]} where it recorded ${volume.root[field]}`
      )
    }
  }
  if (differences.length > 0) {
    throw new ArchiveIntegrityError(
      `Archive ${archive.object} of volume ${volume.name} does not hold what the manifest ` +
        `says: ${differences.join(', ')}. Restore from another snapshot.`
    )
  }
  return inspection
}

/**
 * Reads a stored object to its end and checks its size and sha256. For an image archive this is
 * the whole proof: its tar was scanned when it was packed, and the digest pins those bytes.
 */
export async function verifyStoredDigest(
  store: SnapshotStore,
  snapshotId: string,
  archive: ArchiveRecord,
  what: string
): Promise<void> {
  const digest = new DigestCounter()
  try {
    await pipelineAsync(await store.get(snapshotId, archive.object), digest, discard())
  } catch (error) {
    if (error instanceof SnapshotError) throw error
    throw new StoreError(`Reading ${archive.object} (${what}) failed: ${errorMessage(error)}`, {
      cause: error
    })
  }
  checkDigest(digest, archive, what, 'is')
}

/** The largest manifest.json of a `docker save` tar that is read (it lists configs and layers). */
const MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * Reads an image's `docker save` archive to its end: its size and sha256, and that it holds the
 * recorded image (the config its manifest.json names is the image id), so an archive of another
 * image (a tag that moved before the save) cannot pass.
 */
export async function verifyImageArchive(
  store: SnapshotStore,
  snapshotId: string,
  image: ImageRecord & { archive: ArchiveRecord }
): Promise<void> {
  const { archive } = image
  const what = `image ${image.reference}`
  const { tar, check } = openArchiveTar(store, snapshotId, archive, what)
  let held: string[]
  try {
    held = await savedImageIds(tar)
  } catch (error) {
    if (error instanceof SnapshotError) throw error
    throw new ArchiveIntegrityError(
      `Archive ${archive.object} (${what}) is not a readable image archive: ` +
        `${errorMessage(error)}. Restore from another snapshot.`,
      { cause: error }
    )
  }
  check()
  if (!held.includes(image.id)) {
    throw new ArchiveIntegrityError(
      `Archive ${archive.object} (${what}) holds image ${held.join(', ') || '(none)'}, not the ` +
        `recorded ${image.id}: the image was saved under a tag that had moved. Restore from ` +
        'another snapshot, or take a new one.'
    )
  }
}

/**
 * The ids of the images a `docker save` tar holds: its manifest.json names each image's config
 * by digest (`<hex>.json`, or `blobs/sha256/<hex>` in the OCI layout).
 */
async function savedImageIds(tar: Readable): Promise<string[]> {
  let manifest: string | undefined
  const entries = extract()
  const reading = (async () => {
    for await (const entry of entries) {
      const { name, size, type } = entry.header
      if (type !== 'file' || name.replace(/^\.\//, '') !== 'manifest.json') {
        entry.resume()
        continue
      }
      if ((size ?? 0) > MANIFEST_BYTES) throw new Error('its manifest.json is too large')
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      manifest = Buffer.concat(chunks).toString('utf8')
    }
  })()
  await Promise.all([
    pipelineAsync(tar, entries),
    reading.catch((error: unknown) => {
      entries.destroy(error instanceof Error ? error : new Error(String(error)))
      throw error
    })
  ])
  if (manifest === undefined) throw new Error('it has no manifest.json')
  const parsed: unknown = JSON.parse(manifest)
  if (!Array.isArray(parsed)) throw new Error('its manifest.json is not a list')
  return parsed.map(item => {
    const config = (item as { Config?: unknown } | null)?.Config
    const hex =
      typeof config === 'string' ? /([a-f0-9]{64})(\.json)?$/.exec(config)?.[1] : undefined
    if (hex === undefined) throw new Error('its manifest.json names no image config')
    return `sha256:${hex}`
  })
}

/**
 * The archive's tar as a stream (decompressed), for a second pass into the engine. Nothing is read
 * before the consumer reads, so a failure reaches it as an error of this stream, whenever it
 * happens. Call `check` once the stream was consumed: it throws when the bytes differ from the
 * first pass.
 */
export function openArchiveTar(
  store: SnapshotStore,
  snapshotId: string,
  archive: ArchiveRecord,
  what: string
): { tar: Readable; check: () => void } {
  const digest = new DigestCounter()
  async function* tarBytes(): AsyncGenerator<Buffer> {
    const source = await store.get(snapshotId, archive.object)
    const ignore = () => undefined
    const tar =
      archive.compression === 'none'
        ? pipeline(source, digest, ignore)
        : pipeline(source, digest, createDecompressor(archive.compression), ignore)
    // Errors of any stage destroy the last one, and so end this iteration with them.
    yield* tar as AsyncIterable<Buffer>
  }
  return {
    tar: Readable.from(tarBytes(), { objectMode: false }),
    check: () => checkDigest(digest, archive, what, 'changed in the store and now is')
  }
}

function checkDigest(digest: DigestCounter, archive: ArchiveRecord, what: string, verb: string) {
  const sha256 = digestOf(digest)
  if (digest.bytes === archive.storedBytes && sha256 === archive.sha256) return
  throw new ArchiveIntegrityError(
    `Archive ${archive.object} (${what}) does not match its manifest: it ${verb} ` +
      `${digest.bytes} bytes with sha256 ${sha256}, the manifest recorded ` +
      `${archive.storedBytes} bytes with sha256 ${archive.sha256}. The archive was modified or ` +
      'corrupted; restore from another snapshot.'
  )
}

/** The digest, or `(unread)` when the stream stopped before its end. */
function digestOf(digest: DigestCounter): string {
  try {
    return digest.sha256
  } catch {
    return '(unread)'
  }
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() })
}
