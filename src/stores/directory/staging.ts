/**
 * Snapshots being written: `<root>/.staging/<id>@<owner>@<token>/`, one area per writer. An
 * object streams into a `.partial` file there while it is hashed; once whole and synced it moves
 * into blobs/sha256 (or is dropped, when that blob is there already), and the area's record
 * (`objects.json`) lists it, so that garbage collection leaves the blob alone while the writer
 * lives. A dead writer's area is removed by discardStaged or discardAbandoned.
 */
import { createHash } from 'node:crypto'
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { ownerAlive } from '../../shared/owner.js'
import { type ArtifactObject, isDigest } from '../oci/format.js'
import {
  type WriteFailureContext,
  isFile,
  isMissing,
  namesIn,
  replaceFile,
  syncDirectory,
  toBytes,
  token,
  writeAll,
  writeFailure
} from './files.js'
import { BLOBS, blobPath, ensureLayout } from './layout.js'

export const STAGING = '.staging'
export const PARTIAL_SUFFIX = '.partial'
const RECORD_FILE = 'objects.json'

/** How the staging areas of `owner`'s runs for `snapshotId` begin ('@' is in neither). */
export function stagingPrefix(snapshotId: string, owner: string): string {
  return `${snapshotId}@${encodeURIComponent(owner)}@`
}

/** The snapshot id and owner (`host:pid`) of a staging area's name. */
export function parseAreaName(name: string): { snapshotId: string; owner?: string } {
  const [snapshotId, owner] = name.split('@')
  return { snapshotId, ...(owner !== undefined && { owner: decodeURIComponent(owner) }) }
}

/** The objects a staging area's writer has put, in the order it put them first. */
export async function readRecord(area: string): Promise<ArtifactObject[]> {
  const path = join(area, RECORD_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (isMissing(error)) return []
    throw new StoreError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error })
  }
  let objects: unknown
  try {
    objects = (JSON.parse(text) as { objects?: unknown } | null)?.objects
  } catch {
    objects = undefined
  }
  if (
    !Array.isArray(objects) ||
    !objects.every(o => typeof o?.name === 'string' && isDigest(o?.digest))
  ) {
    throw new StoreError(`${path} does not list objects: it was not written by docker-snapshot`)
  }
  return objects as ArtifactObject[]
}

/**
 * The digest of every blob that a staging area of a live writer (or one of another host, which
 * nothing here can check) lists. Call it holding the lock.
 */
export async function stagedDigests(root: string): Promise<Set<string>> {
  const digests = new Set<string>()
  const staging = join(root, STAGING)
  for (const name of await namesIn(staging)) {
    const { owner } = parseAreaName(name)
    if (owner !== undefined && !ownerAlive(owner)) continue
    for (const object of await readRecord(join(staging, name))) digests.add(object.digest)
  }
  return digests
}

/** A blob streamed into a staging area, hashed, synced, not yet in blobs/sha256. */
export interface StagedBlob {
  partial: string
  digest: string
  size: number
}

/**
 * Streams `data` into a `.partial` file of `area`, hashing it. On failure the partial file is
 * removed; a failure of the source itself is passed on as it is, a write failure as the
 * StoreError of `writeFailure`.
 */
export async function streamToArea(
  area: string,
  data: Readable,
  context: WriteFailureContext
): Promise<StagedBlob> {
  const partial = join(area, `${token()}${PARTIAL_SUFFIX}`)
  const hash = createHash('sha256')
  let handle: FileHandle | undefined
  let sourceFailed = false
  try {
    handle = await open(partial, 'w')
    const iterator = data[Symbol.asyncIterator]()
    for (;;) {
      let next: IteratorResult<unknown>
      try {
        next = await iterator.next()
      } catch (error) {
        sourceFailed = true
        throw error
      }
      if (next.done) break
      const bytes = toBytes(next.value)
      hash.update(bytes)
      await writeAll(handle, bytes, context)
    }
    await handle.sync()
    await handle.close()
    handle = undefined
    return { partial, digest: `sha256:${hash.digest('hex')}`, size: context.bytesWritten }
  } catch (error) {
    if (!data.destroyed) data.destroy()
    // Cleanup is best effort: the failure that caused it is what the user needs to see.
    await handle?.close().catch(() => undefined)
    await rm(partial, { force: true }).catch(() => undefined)
    // The source's own failure (an engine or archive error) is not the store's to rename.
    if (sourceFailed) throw error
    throw writeFailure(error, context)
  }
}

/**
 * Makes a staged blob object `name` of the area's record, and moves it into blobs/sha256, or
 * drops it when that blob is stored already: a blob is stored once. Call it holding the lock.
 */
export async function commitBlob(
  root: string,
  area: string,
  name: string,
  blob: StagedBlob
): Promise<void> {
  const objects = await readRecord(area)
  const object = { name, digest: blob.digest, size: blob.size }
  const at = objects.findIndex(existing => existing.name === name)
  if (at === -1) objects.push(object)
  else objects[at] = object
  await ensureLayout(root)
  // Listed first, so that no collection takes the blob from under the writer once it is in.
  await replaceFile(join(area, RECORD_FILE), JSON.stringify({ objects }))
  const target = blobPath(root, blob.digest)
  if (await isFile(target)) {
    await rm(blob.partial, { force: true })
    return
  }
  await rename(blob.partial, target)
  await syncDirectory(join(root, BLOBS))
}

/** Stores `bytes` as the blob of `digest` unless it is there, through a file of `area`. */
export async function storeBytes(
  root: string,
  area: string,
  digest: string,
  bytes: Buffer
): Promise<void> {
  const target = blobPath(root, digest)
  if (await isFile(target)) return
  const partial = join(area, `${token()}${PARTIAL_SUFFIX}`)
  try {
    const handle = await open(partial, 'w')
    try {
      await handle.writeFile(bytes)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(partial, target)
  } finally {
    await rm(partial, { force: true })
  }
  await syncDirectory(join(root, BLOBS))
}
