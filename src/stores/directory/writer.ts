/**
 * Writes one snapshot into the image layout: `put` stores each object as a blob (once, whoever
 * else uses it) and lists it in the staging area's record; `publish` stores the artifact manifest
 * and adds it to index.json under the lock, the moment the snapshot appears whole.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { EMPTY_CONFIG, EMPTY_CONFIG_BYTES, buildArtifactManifest } from '../oci/format.js'
import type { SnapshotWriter } from '../store.js'
import { errorCode, isDirectory, isFile, writeFailure } from './files.js'
import { collectGarbage } from './garbage.js'
import {
  blobPath,
  ensureLayout,
  entryId,
  findEntry,
  readIndex,
  snapshotEntry,
  writeIndex
} from './layout.js'
import { checkObjectName, isLegacySnapshot } from './legacy.js'
import { commitBlob, readRecord, storeBytes, streamToArea } from './staging.js'

/** What a writer needs of its store. */
export interface WriterStore {
  readonly root: string
  readonly description: string
  locked<T>(fn: () => Promise<T>): Promise<T>
  /** The `host:pid` of every live process that holds `snapshotId`. */
  liveHolders(snapshotId: string): Promise<string[]>
}

/** Failures that say what to do whatever was being written. */
const TELLING_CODES = ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS']

export class DirectoryWriter implements SnapshotWriter {
  constructor(
    private readonly store: WriterStore,
    readonly snapshotId: string,
    /** The staging area, `<root>/.staging/<id>@<owner>@<token>`. */
    private readonly area: string
  ) {}

  async put(name: string, data: Readable): Promise<number> {
    try {
      checkObjectName(name)
    } catch (error) {
      data.destroy()
      throw error
    }
    const { root } = this.store
    const context = { root, object: `${this.snapshotId}/${name}`, bytesWritten: 0 }
    const blob = await streamToArea(this.area, data, context)
    try {
      await this.store.locked(() => commitBlob(root, this.area, name, blob))
    } catch (error) {
      await rm(blob.partial, { force: true }).catch(() => undefined)
      throw error instanceof StoreError ? error : writeFailure(error, context)
    }
    return blob.size
  }

  async publish({ replace }: { replace: boolean }): Promise<void> {
    const { root, description } = this.store
    const id = this.snapshotId
    try {
      await this.store.locked(async () => {
        if (!(await isDirectory(this.area))) {
          throw new StoreError(
            `cannot publish snapshot ${id} in ${description}: what was written for it is gone ` +
              `(${this.area} was removed); take it again`
          )
        }
        const objects = await readRecord(this.area)
        const index = await readIndex(root)
        if (findEntry(index, id) !== undefined || (await isLegacySnapshot(root, id))) {
          await this.checkReplaceable(replace)
        }
        for (const object of objects) {
          if (!(await isFile(blobPath(root, object.digest)))) {
            throw new StoreError(
              `cannot publish snapshot ${id} in ${description}: the blob of object ` +
                `${object.name} (${object.digest}) is gone; take it again`
            )
          }
        }
        const artifact = buildArtifactManifest(objects, new Date().toISOString())
        await ensureLayout(root)
        await storeBytes(root, this.area, EMPTY_CONFIG.digest, EMPTY_CONFIG_BYTES)
        await storeBytes(root, this.area, artifact.digest, artifact.bytes)
        index.manifests = [
          ...index.manifests.filter(entry => entryId(entry) !== id),
          snapshotEntry(id, artifact) as unknown as Record<string, unknown>
        ]
        // The snapshot stands from here: what follows costs space if it fails, never it.
        await writeIndex(root, index)
        await this.tidyAfterPublish()
      })
    } catch (error) {
      if (error instanceof StoreError) throw error
      const context = { root, object: `${id} (its artifact manifest)`, bytesWritten: 0 }
      if (TELLING_CODES.includes(errorCode(error) ?? '')) throw writeFailure(error, context)
      throw new StoreError(
        `cannot publish snapshot ${id} in ${description}: ${errorMessage(error)}`,
        {
          cause: error
        }
      )
    }
  }

  async discard(): Promise<void> {
    await removeAreas(this.store, [{ path: this.area, snapshotId: this.snapshotId }])
  }

  /** Throws unless an existing snapshot of this id may be replaced. */
  private async checkReplaceable(replace: boolean): Promise<void> {
    const { description } = this.store
    const id = this.snapshotId
    if (!replace) {
      throw new StoreError(
        `snapshot ${id} appeared in ${description} while this one was taken; ` +
          'it was left as it is and this snapshot was not kept. Take it again under another id.'
      )
    }
    const holders = await this.store.liveHolders(id)
    if (holders.length > 0) {
      throw new StoreError(
        `snapshot ${id} in ${description} is being read by ${holders.join(', ')} ` +
          '(a restore or verify); it was left as it is and the new snapshot was not kept. ' +
          'Take it again once that run is done.'
      )
    }
  }

  /** The staging area, a replaced snapshot of the older layout and unreached blobs go. */
  private async tidyAfterPublish(): Promise<void> {
    const { root } = this.store
    await rm(this.area, { recursive: true, force: true }).catch(() => undefined)
    if (await isLegacySnapshot(root, this.snapshotId).catch(() => false)) {
      await rm(join(root, this.snapshotId), { recursive: true, force: true }).catch(() => undefined)
    }
    await collectGarbage(root).catch(() => undefined)
  }
}

/** Removes staging areas (`path` of snapshot `snapshotId`), then the blobs only they used. */
export async function removeAreas(
  store: WriterStore,
  areas: { path: string; snapshotId: string }[]
): Promise<void> {
  for (const { path, snapshotId } of areas) {
    await rm(path, { recursive: true, force: true }).catch((error: unknown) => {
      throw new StoreError(
        `cannot remove the unfinished snapshot ${snapshotId} in ${store.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    })
  }
  if (areas.length === 0) return
  await store
    .locked(() => collectGarbage(store.root))
    .catch((error: unknown) => {
      if (error instanceof StoreError) throw error
      throw new StoreError(
        `cannot remove the blobs no snapshot uses in ${store.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    })
}
