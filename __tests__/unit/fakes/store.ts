/**
 * An in-memory SnapshotStore for unit tests: objects appear whole or not at all, as in the
 * directory store, and its errors are StoreErrors worded like the directory store's. Every call
 * is logged in `events` (`put snap-1/volumes/data.tar.zst`); `failOn` and `before` work as on
 * the fake engine.
 */
import { Readable } from 'node:stream'
import { StoreError } from '../../../src/errors.js'
import { MANIFEST_FILE } from '../../../src/manifest.js'
import type { SnapshotStore, StoredSnapshot } from '../../../src/stores/store.js'
import { CallLog, type Call, type CallMatch, type FaultOptions } from './faults.js'

export type StoreCall = 'put' | 'get' | 'has' | 'list' | 'delete'

interface FakeSnapshot {
  objects: Map<string, Buffer>
  /** When the store first saw the snapshot (a counter, so that order is stable). */
  firstSeen: Date
}

export class FakeStore implements SnapshotStore {
  readonly description = 'fake store'
  readonly canDelete = true
  private readonly log = new CallLog()
  private readonly snapshots = new Map<string, FakeSnapshot>()
  private clock = Date.parse('2026-01-01T00:00:00Z')

  /** Every call in order, e.g. `put snap-1/manifest.json`, `delete snap-1`, `list store`. */
  get events(): string[] {
    return this.log.events
  }

  /**
   * Makes `call` reject with `error` (default: a StoreError naming the object) when `match` fits
   * it: the subject is `snapshotId/name` for put, get and has, the snapshot id for delete, and
   * `store` for list. `options.afterBytes` makes a put fail after reading so many bytes (nothing
   * is kept); `nth` and `times` pick which calls fail.
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

  /** The snapshot ids the store holds, sorted. */
  get snapshotIds(): string[] {
    return [...this.snapshots.keys()].sort()
  }

  /** The object names of a snapshot, sorted (empty when there is no such snapshot). */
  objects(snapshotId: string): string[] {
    return [...(this.snapshots.get(snapshotId)?.objects.keys() ?? [])].sort()
  }

  /** An object's bytes, or undefined. */
  object(snapshotId: string, name: string): Buffer | undefined {
    return this.snapshots.get(snapshotId)?.objects.get(name)
  }

  async put(snapshotId: string, name: string, data: Readable): Promise<number> {
    const object = `${snapshotId}/${name}`
    const fault = await this.log.enter('put', object)
    const failure = () =>
      fault?.error ??
      new StoreError(`cannot write ${object} to ${this.description}: injected fault`)
    if (fault && fault.afterBytes === undefined) {
      data.destroy()
      throw failure()
    }
    // Like the directory store, the snapshot exists (empty, incomplete) from its first write on.
    const snapshot = this.snapshot(snapshotId)
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
    snapshot.objects.set(name, Buffer.concat(chunks))
    return bytes
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const fault = await this.log.enter('get', `${snapshotId}/${name}`)
    if (fault) {
      throw (
        fault.error ??
        new StoreError(
          `cannot read object ${name} of snapshot ${snapshotId} from ${this.description}: injected fault`
        )
      )
    }
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
    const fault = await this.log.enter('has', `${snapshotId}/${name}`)
    if (fault) {
      throw (
        fault.error ??
        new StoreError(
          `cannot check object ${name} of snapshot ${snapshotId} in ${this.description}: injected fault`
        )
      )
    }
    return this.snapshots.get(snapshotId)?.objects.has(name) ?? false
  }

  async list(): Promise<StoredSnapshot[]> {
    const fault = await this.log.enter('list', 'store')
    if (fault) {
      throw fault.error ?? new StoreError(`cannot list ${this.description}: injected fault`)
    }
    return [...this.snapshots.entries()]
      .map(([snapshotId, snapshot]) => {
        const manifest = snapshot.objects.get(MANIFEST_FILE)
        let bytes = 0
        for (const content of snapshot.objects.values()) bytes += content.length
        return {
          snapshotId,
          complete: manifest !== undefined,
          createdAt: (manifest && createdAtOf(manifest)) ?? snapshot.firstSeen,
          bytes
        }
      })
      .sort(
        (a, b) =>
          b.createdAt.getTime() - a.createdAt.getTime() || b.snapshotId.localeCompare(a.snapshotId)
      )
  }

  async delete(snapshotId: string): Promise<void> {
    const fault = await this.log.enter('delete', snapshotId)
    if (fault) {
      throw (
        fault.error ??
        new StoreError(
          `cannot delete snapshot ${snapshotId} from ${this.description}: injected fault`
        )
      )
    }
    this.snapshots.delete(snapshotId)
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

/** The manifest's `createdAt`, when it parses. */
function createdAtOf(manifest: Buffer): Date | undefined {
  try {
    const createdAt = (JSON.parse(manifest.toString()) as { createdAt?: unknown }).createdAt
    return typeof createdAt === 'string' ? new Date(createdAt) : undefined
  } catch {
    return undefined
  }
}
