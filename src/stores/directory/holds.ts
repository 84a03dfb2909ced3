/**
 * Holds on snapshots: `<root>/.holds/<id>/<owner>@<token>`, an empty file per process reading
 * the snapshot. A delete leaves a snapshot alone while a live process holds it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { ownerAlive, processOwner } from '../../shared/owner.js'
import type { SnapshotHold } from '../store.js'
import { isWritable, namesIn, token, writeFailure } from './files.js'

const HOLDS = '.holds'

/** What a hold needs of its store. */
interface HeldStore {
  readonly root: string
  readonly description: string
  locked<T>(fn: () => Promise<T>): Promise<T>
}

/** Marks `snapshotId` as read by this process; a no-op on a store it cannot write to. */
export async function holdSnapshot(store: HeldStore, snapshotId: string): Promise<SnapshotHold> {
  const { root } = store
  const path = join(root, HOLDS, snapshotId, `${encodeURIComponent(processOwner)}@${token()}`)
  // A store this process cannot write to (a read-only mount) cannot be held, only read.
  if (!(await isWritable(root))) return { release: async () => undefined }
  // Under the lock, so that a delete either sees this hold or has finished before it.
  await store.locked(async () => {
    try {
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, '')
    } catch (error) {
      throw writeFailure(error, { root, object: relative(root, path), bytesWritten: 0 })
    }
  })
  return {
    release: () =>
      rm(path, { force: true }).catch((error: unknown) => {
        throw new StoreError(
          `cannot remove the hold on snapshot ${snapshotId} in ${store.description}: ${errorMessage(error)}`,
          { cause: error }
        )
      })
  }
}

/** The `host:pid` of every live process that holds `snapshotId`. */
export async function liveHolders(root: string, snapshotId: string): Promise<string[]> {
  const names = await namesIn(join(root, HOLDS, snapshotId))
  return names
    .map(name => decodeURIComponent(name.slice(0, name.lastIndexOf('@'))))
    .filter(ownerAlive)
}

/** Removes every hold on `snapshotId` (call it once the snapshot is deleted: they are dead). */
export async function dropHolds(root: string, snapshotId: string): Promise<void> {
  await rm(join(root, HOLDS, snapshotId), { recursive: true, force: true })
}
