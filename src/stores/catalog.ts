import { ManifestError, NotFoundError } from '../shared/errors.js'
import { MANIFEST_FILE, type Manifest } from '../manifest/manifest.js'
import { parseManifest } from '../manifest/schema.js'
import { DamagedSnapshotError } from './oci/format.js'
import type { SnapshotStore } from './store.js'

/** A manifest larger than this is not one docker-snapshot wrote. */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024

/** The id `latest` stands for: the newest complete snapshot in the store. */
export const LATEST = 'latest'

/**
 * `complete`: its manifest parses and its checksum holds. `incomplete`: it has no manifest (a run
 * cut short). `damaged`: its manifest is there but invalid, or the store cannot read it whole (a
 * blob gone); restore cannot use it.
 */
export type SnapshotStatus = 'complete' | 'incomplete' | 'damaged'

/** A snapshot of a store, with its manifest checked. */
export interface ListedSnapshot {
  snapshotId: string
  status: SnapshotStatus
  /** From the manifest when complete, else when the store last changed it. */
  createdAt: Date
  bytes: number
  /** Why a damaged snapshot is damaged. */
  problem?: string
}

/** Every snapshot of the store, newest first, each manifest read and checked as restore does. */
export async function listSnapshots(store: SnapshotStore): Promise<ListedSnapshot[]> {
  const listed: ListedSnapshot[] = []
  for (const { snapshotId, hasManifest, modifiedAt, bytes } of await store.list()) {
    if (!hasManifest) {
      listed.push({ snapshotId, status: 'incomplete', createdAt: modifiedAt, bytes })
      continue
    }
    try {
      const manifest = await readManifest(store, snapshotId)
      listed.push({
        snapshotId,
        status: 'complete',
        createdAt: new Date(manifest.createdAt),
        bytes
      })
    } catch (error) {
      if (!(error instanceof ManifestError || error instanceof DamagedSnapshotError)) throw error
      listed.push({
        snapshotId,
        status: 'damaged',
        createdAt: modifiedAt,
        bytes,
        problem: error.message
      })
    }
  }
  return listed.sort(
    (a, b) =>
      b.createdAt.getTime() - a.createdAt.getTime() ||
      (a.snapshotId < b.snapshotId ? 1 : a.snapshotId > b.snapshotId ? -1 : 0)
  )
}

/** The id of the newest complete snapshot in the store, if there is one. */
export async function newestComplete(store: SnapshotStore): Promise<string | undefined> {
  return (await listSnapshots(store)).find(snapshot => snapshot.status === 'complete')?.snapshotId
}

/** `snapshotId` itself, or for `latest` the newest complete snapshot's id. */
export async function resolveSnapshotId(store: SnapshotStore, snapshotId: string): Promise<string> {
  if (snapshotId !== LATEST) return snapshotId
  const newest = await newestComplete(store)
  if (newest === undefined) {
    throw new NotFoundError(
      `There is no complete snapshot in ${store.description} to restore as 'latest'. Take a ` +
        'snapshot first, or check the store.'
    )
  }
  return newest
}

/**
 * Reads and fully checks the snapshot's manifest (schema, version, checksum, cross-references).
 * A snapshot without one was interrupted: ManifestError says so.
 */
export async function readManifest(store: SnapshotStore, snapshotId: string): Promise<Manifest> {
  const source = `the manifest of snapshot ${snapshotId} in ${store.description}`
  if (!(await store.has(snapshotId, MANIFEST_FILE))) {
    const listed = await listSnapshots(store)
    if (listed.some(snapshot => snapshot.snapshotId === snapshotId)) {
      throw new ManifestError(
        `Snapshot ${snapshotId} in ${store.description} has no manifest: it was interrupted ` +
          'while it was taken and cannot be restored. Restore another snapshot.'
      )
    }
    const known = listed
      .filter(s => s.status === 'complete')
      .slice(0, 5)
      .map(s => s.snapshotId)
    throw new NotFoundError(
      `No snapshot ${snapshotId} in ${store.description}. ` +
        (known.length > 0
          ? `The newest complete snapshots there: ${known.join(', ')}.`
          : 'The store holds no complete snapshot.')
    )
  }
  const stream = await store.get(snapshotId, MANIFEST_FILE)
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    bytes += buffer.length
    if (bytes > MAX_MANIFEST_BYTES) {
      stream.destroy()
      throw new ManifestError(
        `${source}: larger than ${MAX_MANIFEST_BYTES} bytes; this is not a manifest ` +
          'docker-snapshot wrote'
      )
    }
    chunks.push(buffer)
  }
  const manifest = parseManifest(Buffer.concat(chunks).toString('utf8'), source)
  if (manifest.snapshotId !== snapshotId) {
    throw new ManifestError(
      `${source}: it describes snapshot ${manifest.snapshotId}, so it was copied or moved from ` +
        'another snapshot; restore from an unmodified copy'
    )
  }
  return manifest
}
