/**
 * An in-memory SnapshotStore for unit tests: a snapshot is written aside and appears under its id
 * only when published, objects appear whole or not at all, as in the directory store, and its
 * errors are StoreErrors worded like the directory store's. Every call is logged in `events`
 * (`put snap-1/volumes/data.tar.zst`, `publish snap-1`); `failOn` and `before` work as on the fake
 * engine.
 */
import { Readable } from 'node:stream'
import { StoreError } from '../../../src/shared/errors.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import { processOwner } from '../../../src/shared/owner.js'
import type {
  DeleteOutcome,
  SnapshotHold,
  SnapshotStore,
  SnapshotWriter,
  StoredSnapshot
} from '../../../src/stores/store.js'
import { CallLog, type Call, type CallMatch, type FaultOptions } from './faults.js'

export type StoreCall =
  | 'begin'
  | 'put'
  | 'publish'
  | 'discard'
  | 'discardStaged'
  | 'discardAbandoned'
  | 'get'
  | 'has'
  | 'list'
  | 'hold'
  | 'delete'

interface FakeSnapshot {
  objects: Map<string, Buffer>
  /** When the store first saw the snapshot (a counter, so that order is stable). */
  firstSeen: Date
}

/** A snapshot being written: its id, its writer's `host:pid`, and its objects so far. */
interface StagedSnapshot {
  snapshotId: string
  owner: string
  objects: Map<string, Buffer>
}

export class FakeStore implements SnapshotStore {
  readonly description = 'fake store'
  readonly canDelete = true
  private readonly log = new CallLog()
  private readonly snapshots = new Map<string, FakeSnapshot>()
  private readonly staging = new Set<StagedSnapshot>()
  private readonly holds = new Map<string, number>()
  private clock = Date.parse('2026-01-01T00:00:00Z')

  /** Every call in order, e.g. `put snap-1/manifest.json`, `delete snap-1`, `list store`. */
  get events(): string[] {
    return this.log.events
  }

  /**
   * Makes `call` reject with `error` (default: a StoreError naming the object) when `match` fits
   * it: the subject is `snapshotId/name` for put, get and has, the snapshot id for begin, publish,
   * discard, discardStaged, hold and delete, and `store` for list and discardAbandoned.
   * `options.afterBytes` makes a put fail after reading so many bytes (nothing is kept); `nth`
   * and `times` pick which calls fail.
   */
  failOn(call: StoreCall, match?: CallMatch, error?: Error, options: FaultOptions = {}): this {
    this.log.fail(call, match, error, options)
    return this
  }

  /** Runs `fn` as `call` begins (before any fault fires). */
  before(call: StoreCall, fn: (call: Call) => void | Promise<void>, match?: CallMatch): this {
    this.log.before(call, fn, match)
    return this
  }

  /** Stores an object directly (not logged), e.g. a snapshot that existed before the test. */
  seed(snapshotId: string, name: string, content: Buffer | string): this {
    this.snapshot(snapshotId).objects.set(name, Buffer.from(content))
    return this
  }

  /** The published snapshot ids the store holds, sorted. */
  get snapshotIds(): string[] {
    return [...this.snapshots.keys()].sort()
  }

  /** The ids of snapshots being written (or left half written), sorted. */
  get stagedIds(): string[] {
    return [...this.staging].map(staged => staged.snapshotId).sort()
  }

  /** The object names of a published snapshot, sorted (empty when there is no such snapshot). */
  objects(snapshotId: string): string[] {
    return [...(this.snapshots.get(snapshotId)?.objects.keys() ?? [])].sort()
  }

  /** An object's bytes, or undefined. */
  object(snapshotId: string, name: string): Buffer | undefined {
    return this.snapshots.get(snapshotId)?.objects.get(name)
  }

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    await this.enter('begin', snapshotId, `cannot write ${snapshotId} to ${this.description}`)
    const staged: StagedSnapshot = { snapshotId, owner: processOwner, objects: new Map() }
    this.staging.add(staged)
    return {
      snapshotId,
      put: (name, data) => this.put(staged, name, data),
      publish: ({ replace }) => this.publish(staged, replace),
      discard: async () => {
        await this.enter('discard', snapshotId, `cannot remove ${snapshotId}`)
        this.staging.delete(staged)
      }
    }
  }

  async discardStaged(snapshotId: string, owner: string): Promise<number> {
    await this.enter('discardStaged', snapshotId, `cannot remove ${snapshotId}`)
    let removed = 0
    for (const staged of this.staging) {
      if (staged.snapshotId === snapshotId && staged.owner === owner) {
        this.staging.delete(staged)
        removed++
      }
    }
    return removed
  }

  /** Every writer of this fake runs in this process, alive: nothing is abandoned. */
  async discardAbandoned(): Promise<string[]> {
    await this.enter('discardAbandoned', 'store', 'cannot clean up')
    return []
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    await this.enter(
      'get',
      `${snapshotId}/${name}`,
      `cannot read object ${name} of snapshot ${snapshotId} from ${this.description}`
    )
    const snapshot = this.snapshots.get(snapshotId)
    const content = snapshot?.objects.get(name)
    if (content === undefined) {
      throw new StoreError(
        snapshot
          ? `object ${name} of snapshot ${snapshotId} is not in ${this.description}; the snapshot is incomplete or damaged`
          : `snapshot ${snapshotId} is not in ${this.description} (looking for object ${name}); check the snapshot id and the store`
      )
    }
    return Readable.from([content])
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    await this.enter(
      'has',
      `${snapshotId}/${name}`,
      `cannot check object ${name} of snapshot ${snapshotId} in ${this.description}`
    )
    return this.snapshots.get(snapshotId)?.objects.has(name) ?? false
  }

  async list(): Promise<StoredSnapshot[]> {
    await this.enter('list', 'store', `cannot list ${this.description}`)
    return [...this.snapshots.entries()].map(([snapshotId, snapshot]) => {
      let bytes = 0
      for (const content of snapshot.objects.values()) bytes += content.length
      return {
        snapshotId,
        hasManifest: snapshot.objects.has(MANIFEST_FILE),
        modifiedAt: snapshot.firstSeen,
        bytes
      }
    })
  }

  async hold(snapshotId: string): Promise<SnapshotHold> {
    await this.enter('hold', snapshotId, `cannot hold snapshot ${snapshotId}`)
    this.holds.set(snapshotId, (this.holds.get(snapshotId) ?? 0) + 1)
    let released = false
    return {
      release: async () => {
        if (released) return
        released = true
        this.holds.set(snapshotId, this.holds.get(snapshotId)! - 1)
      }
    }
  }

  /** Whether a hold on the snapshot is in force. */
  isHeld(snapshotId: string): boolean {
    return (this.holds.get(snapshotId) ?? 0) > 0
  }

  async delete(snapshotId: string): Promise<DeleteOutcome> {
    await this.enter(
      'delete',
      snapshotId,
      `cannot delete snapshot ${snapshotId} from ${this.description}`
    )
    if (this.isHeld(snapshotId)) return 'held'
    this.snapshots.delete(snapshotId)
    return 'deleted'
  }

  private async put(staged: StagedSnapshot, name: string, data: Readable): Promise<number> {
    const object = `${staged.snapshotId}/${name}`
    const fault = await this.log.enter('put', object)
    const failure = () =>
      fault?.error ??
      new StoreError(`cannot write ${object} to ${this.description}: injected fault`)
    if (fault && fault.afterBytes === undefined) {
      data.destroy()
      throw failure()
    }
    const chunks: Buffer[] = []
    let bytes = 0
    // A source error passes through as it is, as the directory store does.
    for await (const chunk of data as AsyncIterable<Buffer | string>) {
      const piece = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      chunks.push(piece)
      bytes += piece.length
      if (fault && bytes >= fault.afterBytes!) {
        data.destroy()
        throw failure()
      }
    }
    if (fault) throw failure()
    staged.objects.set(name, Buffer.concat(chunks))
    return bytes
  }

  private async publish(staged: StagedSnapshot, replace: boolean): Promise<void> {
    const { snapshotId } = staged
    await this.enter('publish', snapshotId, `cannot publish snapshot ${snapshotId}`)
    if (this.snapshots.has(snapshotId)) {
      if (!replace) {
        throw new StoreError(
          `snapshot ${snapshotId} appeared in ${this.description} while this one was taken; ` +
            'it was left as it is and this snapshot was not kept. Take it again under another id.'
        )
      }
      if (this.isHeld(snapshotId)) {
        throw new StoreError(
          `snapshot ${snapshotId} in ${this.description} is being read by ${processOwner} ` +
            '(a restore or verify); it was left as it is and the new snapshot was not kept. ' +
            'Take it again once that run is done.'
        )
      }
      this.snapshots.delete(snapshotId)
    }
    this.snapshot(snapshotId).objects = staged.objects
    this.staging.delete(staged)
  }

  /** Logs the call; rejects with its fault, or a StoreError saying `what` failed. */
  private async enter(call: StoreCall, subject: string, what: string): Promise<void> {
    const fault = await this.log.enter(call, subject)
    if (fault) throw fault.error ?? new StoreError(`${what}: injected fault`)
  }

  private snapshot(snapshotId: string): FakeSnapshot {
    let snapshot = this.snapshots.get(snapshotId)
    if (!snapshot) {
      this.clock += 1000
      snapshot = { objects: new Map(), firstSeen: new Date(this.clock) }
      this.snapshots.set(snapshotId, snapshot)
    }
    return snapshot
  }
}
