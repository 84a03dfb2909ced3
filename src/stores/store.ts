import type { Readable } from 'node:stream'

/** A snapshot as a store lists it. */
export interface StoredSnapshot {
  snapshotId: string
  /** False when the manifest is missing: the snapshot was interrupted and cannot be restored. */
  complete: boolean
  /** From the manifest when complete, else the time the store saw first. */
  createdAt: Date
  /** Bytes of every object of the snapshot. */
  bytes: number
}

/**
 * Where snapshots live: named objects grouped by snapshot id. Every store (directory, workflow
 * artifact, Actions cache, OCI registry) implements this; the rest of the code knows no other.
 */
export interface SnapshotStore {
  /** Human description for logs and errors, e.g. `directory /srv/snapshots`. */
  readonly description: string
  /** Whether `delete` works (prune needs it). */
  readonly canDelete: boolean
  /**
   * Streams `data` into object `name` of snapshot `snapshotId`. The object appears whole or not
   * at all. Resolves with the number of bytes written.
   */
  put(snapshotId: string, name: string, data: Readable): Promise<number>
  /** A stream of the object's bytes. Rejects with StoreError (naming the object) if absent. */
  get(snapshotId: string, name: string): Promise<Readable>
  /** Whether the object exists. */
  has(snapshotId: string, name: string): Promise<boolean>
  /** Every snapshot, complete or not, newest first. */
  list(): Promise<StoredSnapshot[]>
  /** Removes a snapshot and all its objects. */
  delete(snapshotId: string): Promise<void>
}
