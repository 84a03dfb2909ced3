import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { InvalidSettingsError, StoreError } from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import type { PruneOptions } from '../../../src/app/prune.js'
import { choosePrunable, pruneSnapshots } from '../../../src/app/prune.js'
import type { ListedSnapshot, SnapshotStatus } from '../../../src/stores/catalog.js'
import type { DeleteOutcome, SnapshotStore, StoredSnapshot } from '../../../src/stores/store.js'
import { manifestText } from '../restore/fixtures.js'

const NOW = new Date('2026-11-22T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

/** A snapshot `hoursAgo` old. */
function snap(id: string, hoursAgo: number, status: SnapshotStatus = 'complete'): ListedSnapshot {
  return {
    snapshotId: id,
    status,
    createdAt: new Date(NOW.getTime() - hoursAgo * HOUR),
    bytes: 1000,
    ...(status === 'damaged' && { problem: 'not valid JSON' })
  }
}

// Newest first, as stores list them: complete a (1 h), b (1 d), c (3 d), d (10 d); incomplete
// x (10 min, maybe still running) and y (2 h, a failed run).
const LIST = [
  snap('x', 1 / 6, 'incomplete'),
  snap('a', 1),
  snap('y', 2, 'incomplete'),
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

  it.each<{ name: string; options: Omit<PruneOptions, 'now'> }>([
    { name: 'keep 1', options: { keep: 1 } },
    { name: 'older than 1 minute', options: { olderThanMs: 60_000 } },
    { name: 'keep 1 and older than 1 minute', options: { keep: 1, olderThanMs: 60_000 } }
  ])('a damaged newest snapshot neither counts nor goes ($name)', ({ options }) => {
    // The case: the newest manifest was truncated; `valid` is the only good snapshot.
    const list = [
      snap('truncated', 1, 'damaged'),
      snap('valid', 2),
      snap('old-damaged', 900, 'damaged')
    ]
    const plan = choosePrunable(list, { ...options, now: NOW })
    expect(plan.keep.map(s => s.snapshotId)).toContain('truncated')
    expect(plan.keep.map(s => s.snapshotId)).toContain('old-damaged')
    const removed = plan.remove.map(choice => choice.snapshot.snapshotId)
    expect(removed).not.toContain('truncated')
    expect(removed).not.toContain('old-damaged')
    if (options.keep) expect(removed).not.toContain('valid')
  })

  it('says why each goes', () => {
    const plan = choosePrunable(LIST, { keep: 3, olderThanMs: 7 * DAY, now: NOW })
    expect(plan.remove.map(choice => choice.reason)).toEqual([
      'incomplete (a failed run) and older than an hour',
      'older than 7d'
    ])
  })
})

/** The store as it lists what choosePrunable sees: damaged ones with a truncated manifest. */
class FakeStore implements SnapshotStore {
  readonly description = 'fake store'
  readonly deleted: string[] = []
  constructor(
    private readonly snapshots: ListedSnapshot[],
    readonly canDelete = true,
    private readonly failing: string[] = [],
    private readonly held: string[] = [],
    private readonly abandoned: string[] = []
  ) {}
  begin(): never {
    throw new Error('not used')
  }
  discardStaged(): never {
    throw new Error('not used')
  }
  async discardAbandoned(): Promise<string[]> {
    return this.abandoned
  }
  hold(): never {
    throw new Error('not used')
  }
  async get(snapshotId: string): Promise<Readable> {
    const { status, createdAt } = this.find(snapshotId)
    const text = manifestText(snapshotId, createdAt)
    return Readable.from([status === 'damaged' ? text.slice(0, 100) : text])
  }
  async has(snapshotId: string): Promise<boolean> {
    return this.find(snapshotId).status !== 'incomplete'
  }
  async list(): Promise<StoredSnapshot[]> {
    return this.snapshots
      .filter(s => !this.deleted.includes(s.snapshotId))
      .map(s => ({
        snapshotId: s.snapshotId,
        hasManifest: s.status !== 'incomplete',
        modifiedAt: s.createdAt,
        bytes: s.bytes
      }))
  }
  async delete(snapshotId: string): Promise<DeleteOutcome> {
    if (this.failing.includes(snapshotId)) throw new Error('permission denied')
    if (this.held.includes(snapshotId)) return 'held'
    this.deleted.push(snapshotId)
    return 'deleted'
  }
  private find(snapshotId: string): ListedSnapshot {
    const found = this.snapshots.find(s => s.snapshotId === snapshotId)
    if (!found) throw new Error(`${snapshotId} is not in the fake store`)
    return found
  }
}

describe('pruneSnapshots', () => {
  it('removes what the plan picks and reports both sides', async () => {
    const store = new FakeStore(LIST)
    const result = await pruneSnapshots(store, { keep: 2, now: NOW }, silentLogger)
    expect(result).toEqual({ removed: ['y', 'c', 'd'], kept: ['x', 'a', 'b'], skipped: [] })
    expect(store.deleted).toEqual(['y', 'c', 'd'])
  })

  it('keeps the only valid snapshot when the newest manifest is truncated, and says so', async () => {
    const store = new FakeStore([snap('truncated', 1, 'damaged'), snap('valid', 2)])
    const warnings: string[] = []
    const result = await pruneSnapshots(
      store,
      { keep: 1, now: NOW },
      { ...silentLogger, warn: message => warnings.push(message) }
    )
    expect(store.deleted).toEqual([])
    expect(result.removed).toEqual([])
    expect(result.kept.sort()).toEqual(['truncated', 'valid'])
    expect(result.skipped).toEqual([
      {
        snapshotId: 'truncated',
        reason: expect.stringMatching(
          /^damaged, left for you to inspect and remove by hand: the manifest of snapshot truncated in fake store: not valid JSON/
        )
      }
    ])
    expect(warnings).toEqual([`truncated is ${result.skipped[0].reason}`])
  })

  it('first removes what dead runs left half written, and says so', async () => {
    const store = new FakeStore(LIST, true, [], [], ['killed'])
    const lines: string[] = []
    await pruneSnapshots(
      store,
      { keep: 10, now: NOW },
      { ...silentLogger, info: message => lines.push(message) }
    )
    expect(lines[0]).toBe('removed an unfinished snapshot killed left by a run that is gone')
  })

  it('skips a snapshot a restore or verify holds, and says so', async () => {
    const store = new FakeStore(LIST, true, [], ['c'])
    const warnings: string[] = []
    const result = await pruneSnapshots(
      store,
      { keep: 2, now: NOW },
      { ...silentLogger, warn: message => warnings.push(message) }
    )
    expect(store.deleted).toEqual(['y', 'd'])
    expect(result.removed).toEqual(['y', 'd'])
    expect(result.kept).toEqual(['x', 'a', 'b', 'c'])
    expect(result.skipped).toEqual([
      { snapshotId: 'c', reason: 'a restore or verify is reading it now; run prune again later' }
    ])
    expect(warnings).toEqual([
      'skipped c: a restore or verify is reading it now; run prune again later'
    ])
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
