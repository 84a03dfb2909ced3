import type { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { InvalidSettingsError, StoreError } from '../../src/errors.js'
import { silentLogger } from '../../src/log.js'
import type { PruneOptions } from '../../src/prune.js'
import { choosePrunable, pruneSnapshots } from '../../src/prune.js'
import type { SnapshotStore, StoredSnapshot } from '../../src/stores/store.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** A snapshot `hoursAgo` old; `c` complete, `i` incomplete. */
function snap(id: string, hoursAgo: number, complete = true): StoredSnapshot {
  return {
    snapshotId: id,
    complete,
    createdAt: new Date(NOW.getTime() - hoursAgo * HOUR),
    bytes: 1000
  }
}

// Newest first, as stores list them: complete a (1 h), b (1 d), c (3 d), d (10 d); incomplete
// x (10 min, maybe still running) and y (2 h, a failed run).
const LIST = [
  snap('x', 1 / 6, false),
  snap('a', 1),
  snap('y', 2, false),
  snap('b', 24),
  snap('c', 72),
  snap('d', 240)
]

describe('choosePrunable', () => {
  it.each<{ name: string; options: Omit<PruneOptions, 'now'>; removed: string[] }>([
    { name: 'neither: only stale incomplete', options: {}, removed: ['y'] },
    { name: 'keep 2', options: { keep: 2 }, removed: ['y', 'c', 'd'] },
    { name: 'keep 10', options: { keep: 10 }, removed: ['y'] },
    { name: 'older than 2 days', options: { olderThanMs: 2 * DAY }, removed: ['y', 'c', 'd'] },
    {
      name: 'older than 1 hour',
      options: { olderThanMs: HOUR / 2 },
      removed: ['a', 'y', 'b', 'c', 'd']
    },
    {
      name: 'keep 3 protects the newest even when old',
      options: { keep: 3, olderThanMs: HOUR / 2 },
      removed: ['y', 'd']
    },
    {
      name: 'keep 1 and older than 2 days: b is beyond the count but young',
      options: { keep: 1, olderThanMs: 2 * DAY },
      removed: ['y', 'c', 'd']
    }
  ])('$name', ({ options, removed }) => {
    const plan = choosePrunable(LIST, { ...options, now: NOW })
    expect(plan.remove.map(choice => choice.snapshot.snapshotId)).toEqual(removed)
    // Everything is either kept or removed, once.
    expect([...plan.keep.map(s => s.snapshotId), ...removed].sort()).toEqual(
      LIST.map(s => s.snapshotId).sort()
    )
  })

  it('counts only complete snapshots toward keep, whatever the order given', () => {
    const plan = choosePrunable([...LIST].reverse(), { keep: 2, now: NOW })
    expect(plan.keep.map(s => s.snapshotId)).toEqual(['x', 'a', 'b'])
  })

  it('says why each goes', () => {
    const plan = choosePrunable(LIST, { keep: 3, olderThanMs: 7 * DAY, now: NOW })
    expect(plan.remove.map(choice => choice.reason)).toEqual([
      'incomplete (a failed run) and older than an hour',
      'older than 7d'
    ])
  })
})

class FakeStore implements SnapshotStore {
  readonly description = 'fake store'
  readonly deleted: string[] = []
  constructor(
    private readonly snapshots: StoredSnapshot[],
    readonly canDelete = true,
    private readonly failing: string[] = []
  ) {}
  put(): Promise<number> {
    throw new Error('not used')
  }
  get(): Promise<Readable> {
    throw new Error('not used')
  }
  has(): Promise<boolean> {
    throw new Error('not used')
  }
  async list(): Promise<StoredSnapshot[]> {
    return this.snapshots
  }
  async delete(snapshotId: string): Promise<void> {
    if (this.failing.includes(snapshotId)) throw new Error('permission denied')
    this.deleted.push(snapshotId)
  }
}

describe('pruneSnapshots', () => {
  it('removes what the plan picks and reports both sides', async () => {
    const store = new FakeStore(LIST)
    const result = await pruneSnapshots(store, { keep: 2, now: NOW }, silentLogger)
    expect(result).toEqual({ removed: ['y', 'c', 'd'], kept: ['x', 'a', 'b'] })
    expect(store.deleted).toEqual(['y', 'c', 'd'])
  })

  it('refuses a store that cannot delete, before touching anything', async () => {
    const store = new FakeStore(LIST, false)
    await expect(pruneSnapshots(store, { keep: 1, now: NOW }, silentLogger)).rejects.toThrow(
      InvalidSettingsError
    )
    await expect(pruneSnapshots(store, { keep: 1, now: NOW }, silentLogger)).rejects.toThrow(
      'Cannot prune fake store: this store cannot delete snapshots.'
    )
    expect(store.deleted).toEqual([])
  })

  it('tries every removal, then names the ones that failed', async () => {
    const store = new FakeStore(LIST, true, ['c'])
    const error = await pruneSnapshots(store, { keep: 2, now: NOW }, silentLogger).catch(
      (e: unknown) => e
    )
    expect(store.deleted).toEqual(['y', 'd'])
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).message).toBe(
      'Could not remove c (permission denied) from fake store (removed: y, d). Check the store and run prune again.'
    )
  })
})
