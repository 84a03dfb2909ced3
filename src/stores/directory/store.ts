/**
 * A store in a local directory, kept as an OCI image layout (layout.ts): each snapshot is an
 * artifact (oci/format.ts) whose manifest index.json names by the snapshot id, and whose objects
 * are blobs, each stored once. Snapshots of the older layout (`<root>/<id>/<object>`, legacy.ts)
 * are still listed, read and deleted. `<root>/.staging/` holds snapshots being written
 * (staging.ts), `<root>/.holds/` marks snapshots being read, and `<root>/.lock` (lock.ts) orders
 * holds, deletes, publishing and garbage collection.
 */
import { mkdir, open, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { MANIFEST_FILE } from '../../manifest/manifest.js'
import { ownerAlive, processOwner } from '../../shared/owner.js'
import { DamagedSnapshotError, type Descriptor } from '../oci/format.js'
import type { DeleteOutcome, SnapshotHold, SnapshotStore, StoredSnapshot } from '../store.js'
import { errorCode, isMissing, namesIn, token, writeFailure } from './files.js'
import { collectGarbage } from './garbage.js'
import { blobPath, entryId, findEntry, readArtifact, readIndex, writeIndex } from './layout.js'
import {
  checkObjectName,
  checkSnapshotId,
  describeLegacy,
  hasLegacyObject,
  isLegacySnapshot,
  legacyIds,
  openLegacyObject
} from './legacy.js'
import { dropHolds, holdSnapshot, liveHolders } from './holds.js'
import { withLock } from './lock.js'
import { openStore } from './open.js'
import { STAGING, parseAreaName, stagingPrefix } from './staging.js'
import { DirectoryWriter, removeAreas } from './writer.js'

export class DirectoryStore implements SnapshotStore {
  readonly root: string
  readonly description: string
  readonly canDelete = true

  /** No I/O: `begin` creates directories as it needs them. Use `open` to check the root up front. */
  constructor(root: string) {
    this.root = resolve(root)
    this.description = `directory ${this.root}`
  }

  /**
   * A store at `root`, checked up front: created if missing when `create` (to write a snapshot;
   * `beforeCreate` may refuse first), else it must exist (to read one: a mistyped path should
   * say so, not look empty) and be readable; reading needs no write access (a read-only mount
   * will do). Rejects with StoreError if it cannot be used.
   */
  static async open(
    root: string,
    create = true,
    beforeCreate?: () => Promise<void>
  ): Promise<DirectoryStore> {
    const store = new DirectoryStore(root)
    await openStore(store.root, create, beforeCreate)
    return store
  }

  async begin(snapshotId: string): Promise<DirectoryWriter> {
    checkSnapshotId(snapshotId)
    const area = join(this.root, STAGING, `${stagingPrefix(snapshotId, processOwner)}${token()}`)
    try {
      await mkdir(area, { recursive: true })
    } catch (error) {
      throw writeFailure(error, { root: this.root, object: snapshotId, bytesWritten: 0 })
    }
    return new DirectoryWriter(this, snapshotId, area)
  }

  async discardStaged(snapshotId: string, owner: string): Promise<number> {
    checkSnapshotId(snapshotId)
    const prefix = stagingPrefix(snapshotId, owner)
    return (await this.discardStagedWhere(name => name.startsWith(prefix))).length
  }

  async discardAbandoned(): Promise<string[]> {
    return this.discardStagedWhere(name => {
      const { owner } = parseAreaName(name)
      return owner !== undefined && !ownerAlive(owner)
    })
  }

  /** Removes the staging areas whose names `chosen` picks; resolves with their snapshot ids. */
  private async discardStagedWhere(chosen: (name: string) => boolean): Promise<string[]> {
    const areas = (await namesIn(join(this.root, STAGING))).filter(chosen).map(name => ({
      path: join(this.root, STAGING, name),
      snapshotId: parseAreaName(name).snapshotId
    }))
    await removeAreas(this, areas)
    return areas.map(area => area.snapshotId)
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const blob = await this.locate(snapshotId, name)
    if (typeof blob !== 'string') {
      const stream =
        blob.legacy && (await openLegacyObject(this.root, snapshotId, name, this.description))
      if (stream) return stream
      throw this.absent(snapshotId, name, blob.listed)
    }
    try {
      return (await open(blob, 'r')).createReadStream()
    } catch (error) {
      throw isMissing(error)
        ? this.missingBlob(snapshotId, name, blob, error)
        : new StoreError(
            `cannot read object ${name} of snapshot ${snapshotId} from ${this.description}: ${errorMessage(error)}`,
            { cause: error }
          )
    }
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    const blob = await this.locate(snapshotId, name)
    if (typeof blob !== 'string') {
      return blob.legacy && hasLegacyObject(this.root, snapshotId, name, this.description)
    }
    try {
      await stat(blob)
      return true
    } catch (error) {
      if (isMissing(error)) throw this.missingBlob(snapshotId, name, blob, error)
      throw new StoreError(
        `cannot check object ${name} of snapshot ${snapshotId} in ${this.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    }
  }

  /** The file that holds an object (its blob, or an older snapshot's file), for tools that read files. */
  async pathOf(snapshotId: string, name: string): Promise<string> {
    const blob = await this.locate(snapshotId, name)
    if (typeof blob === 'string') return blob
    if (blob.legacy) return join(this.root, snapshotId, name)
    throw this.absent(snapshotId, name, blob.listed)
  }

  /**
   * Index → artifact manifest → layer titled `name` → the path of its blob. Otherwise: whether
   * the snapshot is listed at all, and whether it is one of the older layout.
   */
  private async locate(
    snapshotId: string,
    name: string
  ): Promise<string | { listed: boolean; legacy: boolean }> {
    checkSnapshotId(snapshotId)
    checkObjectName(name)
    const entry = findEntry(await readIndex(this.root), snapshotId)
    if (entry === undefined) {
      const legacy = await isLegacySnapshot(this.root, snapshotId)
      return { listed: legacy, legacy }
    }
    const artifact = await readArtifact(this.root, entry, `${snapshotId} in ${this.description}`)
    const object = artifact.objects.find(candidate => candidate.name === name)
    return object ? blobPath(this.root, object.digest) : { listed: true, legacy: false }
  }

  private absent(snapshotId: string, name: string, listed: boolean): StoreError {
    return new StoreError(
      listed
        ? `object ${name} of snapshot ${snapshotId} is not in ${this.description}; the snapshot is incomplete or damaged`
        : `snapshot ${snapshotId} is not in ${this.description} (looking for object ${name}); check the snapshot id and the store`
    )
  }

  private missingBlob(snapshotId: string, name: string, path: string, cause: unknown) {
    return new DamagedSnapshotError(
      `snapshot ${snapshotId} in ${this.description} is damaged: the blob of its object ${name} ` +
        `is missing (${path}); restore another snapshot`,
      { cause }
    )
  }

  async list(): Promise<StoredSnapshot[]> {
    const index = await readIndex(this.root)
    const snapshots = new Map<string, StoredSnapshot>()
    for (const entry of index.manifests) {
      const snapshotId = entryId(entry)
      if (snapshotId === undefined) continue
      snapshots.set(snapshotId, await this.describe(snapshotId, entry as unknown as Descriptor))
    }
    let ids: string[]
    try {
      ids = await legacyIds(this.root)
    } catch (error) {
      // A store whose root does not exist yet holds nothing.
      if (errorCode(error) === 'ENOENT') return [...snapshots.values()]
      throw new StoreError(`cannot list ${this.description}: ${errorMessage(error)}`, {
        cause: error
      })
    }
    for (const snapshotId of ids.filter(id => !snapshots.has(id))) {
      try {
        snapshots.set(snapshotId, await describeLegacy(this.root, snapshotId))
      } catch (error) {
        // Deleted while we looked: it is no longer there to list.
        if (errorCode(error) === 'ENOENT') continue
        throw new StoreError(
          `cannot read snapshot ${snapshotId} in ${this.description}: ${errorMessage(error)}`,
          { cause: error }
        )
      }
    }
    return [...snapshots.values()]
  }

  /** A snapshot of the layout; a damaged one is listed with a manifest, for reading to tell. */
  private async describe(snapshotId: string, entry: Descriptor): Promise<StoredSnapshot> {
    const manifestBlob = blobPath(this.root, entry.digest)
    try {
      const artifact = await readArtifact(this.root, entry, `${snapshotId} in ${this.description}`)
      const created = artifact.created ? new Date(artifact.created) : undefined
      return {
        snapshotId,
        hasManifest: artifact.objects.some(object => object.name === MANIFEST_FILE),
        modifiedAt:
          created && !Number.isNaN(created.getTime()) ? created : (await stat(manifestBlob)).mtime,
        bytes: artifact.objects.reduce((total, object) => total + object.size, 0)
      }
    } catch (error) {
      if (!(error instanceof DamagedSnapshotError)) throw error
      const index = await stat(join(this.root, 'index.json'))
      return { snapshotId, hasManifest: true, modifiedAt: index.mtime, bytes: 0 }
    }
  }

  async hold(snapshotId: string): Promise<SnapshotHold> {
    checkSnapshotId(snapshotId)
    return holdSnapshot(this, snapshotId)
  }

  /** Removes the index entry (or older snapshot directory), then every blob nothing reaches. */
  async delete(snapshotId: string): Promise<DeleteOutcome> {
    checkSnapshotId(snapshotId)
    return this.locked(async () => {
      if ((await this.liveHolders(snapshotId)).length > 0) return 'held'
      const index = await readIndex(this.root)
      const kept = index.manifests.filter(entry => entryId(entry) !== snapshotId)
      if (kept.length < index.manifests.length) {
        await this.storeCall(`remove snapshot ${snapshotId} from index.json`, () =>
          writeIndex(this.root, { ...index, manifests: kept })
        )
      }
      if (await isLegacySnapshot(this.root, snapshotId)) {
        await this.removeTree(join(this.root, snapshotId), `snapshot ${snapshotId}`)
      }
      await this.storeCall('remove the blobs no snapshot uses', () => collectGarbage(this.root))
      // Every hold left on it is a dead process's.
      await this.storeCall(`remove the holds on ${snapshotId}`, () =>
        dropHolds(this.root, snapshotId)
      )
      return 'deleted'
    })
  }

  /** The `host:pid` of every live process that holds `snapshotId`. */
  liveHolders(snapshotId: string): Promise<string[]> {
    return liveHolders(this.root, snapshotId)
  }

  /** Runs `fn` holding the store's lock. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return withLock(this.root, this.description, fn)
  }

  private async removeTree(path: string, what: string): Promise<void> {
    await this.storeCall(`remove ${what}`, () => rm(path, { recursive: true, force: true }))
  }

  private async storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      if (error instanceof StoreError) throw error
      throw new StoreError(`cannot ${what} in ${this.description}: ${errorMessage(error)}`, {
        cause: error
      })
    }
  }
}
