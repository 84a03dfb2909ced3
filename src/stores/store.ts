import type { Readable } from 'node:stream'

/** A published snapshot as a store sees it; whether its manifest is valid is not its concern. */
export interface StoredSnapshot {
  snapshotId: string
  /** Whether a manifest object exists (a snapshot without one was never finished). */
  hasManifest: boolean
  /** When the store last changed the snapshot. */
  modifiedAt: Date
  /** Bytes of every object of the snapshot. */
  bytes: number
}

/** What `delete` did: a snapshot that a reader holds is left alone. */
export type DeleteOutcome = 'deleted' | 'held'

/**
 * A snapshot being written aside: nothing under its id changes, and no reader sees it, until
 * `publish`. A run that fails discards it; one that dies leaves it for `discardStaged`.
 */
export interface SnapshotWriter {
  readonly snapshotId: string
  /**
   * Streams `data` into object `name`. The object appears whole or not at all. Resolves with the
   * number of bytes written.
   */
  put(name: string, data: Readable): Promise<number>
  /**
   * Makes the written objects the snapshot `snapshotId`, all at once. Without `replace`, an
   * existing snapshot of that id makes it fail (StoreError) and stay unchanged; with it, the
   * existing one is removed only once the new one stands in its place, and one a reader holds
   * makes it fail. On failure the staged objects are still there to discard.
   */
  publish(options: { replace: boolean }): Promise<void>
  /** Removes what was written; published snapshots are untouched. */
  discard(): Promise<void>
}

/** A mark that a snapshot is being read: prune leaves it alone until `release`. */
export interface SnapshotHold {
  release(): Promise<void>
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
   * Set when `list` cannot see every snapshot (the Actions cache finds only the newest, by key):
   * what it sees and why, for `ls` to say.
   */
  readonly listLimit?: string
  /** Starts writing snapshot `snapshotId` aside, owned by this process. */
  begin(snapshotId: string): Promise<SnapshotWriter>
  /**
   * Removes what `owner` (a `host:pid`, see owner.ts) began writing for `snapshotId` and never
   * published: a killed run's leftovers. Published snapshots are never touched. Resolves with
   * how many were removed.
   */
  discardStaged(snapshotId: string, owner: string): Promise<number>
  /**
   * Removes what runs that are gone (a `host:pid` of this host no longer running) began writing
   * and never published. Resolves with the snapshot id of each.
   */
  discardAbandoned(): Promise<string[]>
  /** A stream of the object's bytes. Rejects with StoreError (naming the object) if absent. */
  get(snapshotId: string, name: string): Promise<Readable>
  /** Whether the object exists. */
  has(snapshotId: string, name: string): Promise<boolean>
  /** Every published snapshot, in no particular order. */
  list(): Promise<StoredSnapshot[]>
  /**
   * Marks `snapshotId` as being read by this process, whether or not it exists yet: a `delete`
   * after this leaves it alone until the hold is released.
   */
  hold(snapshotId: string): Promise<SnapshotHold>
  /** Removes a snapshot and all its objects, unless a live process holds it. */
  delete(snapshotId: string): Promise<DeleteOutcome>
}
