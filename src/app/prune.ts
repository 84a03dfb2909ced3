/**
 * Prune: removes old snapshots from a store. Shared by the CLI's `prune` and the action's
 * `mode: prune`.
 */
import { InvalidSettingsError, StoreError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { formatBytes } from '../shared/format.js'
import type { ListedSnapshot } from '../stores/catalog.js'
import { listSnapshots } from '../stores/catalog.js'
import type { SnapshotStore } from '../stores/store.js'

/** An incomplete snapshot younger than this may still be being written: it is left alone. */
export const INCOMPLETE_GRACE_MS = 60 * 60 * 1000

export interface PruneOptions {
  /** Never remove the newest `keep` complete snapshots; without `olderThanMs`, remove the rest. */
  keep?: number
  /** Remove complete snapshots created more than this long before `now` (except the kept newest). */
  olderThanMs?: number
  now: Date
  /** Stops the prune before its next removal; one under way finishes. */
  signal?: AbortSignal
}

export interface PruneChoice {
  snapshot: ListedSnapshot
  /** Why it goes, for the log. */
  reason: string
}

export interface PrunePlan {
  remove: PruneChoice[]
  keep: ListedSnapshot[]
}

/**
 * Which snapshots to remove. Complete snapshots: the newest `keep` always stay; of the others,
 * those older than `olderThanMs` go (all of them when no age is given, none when neither is).
 * Incomplete snapshots (failed runs) never count toward `keep`; they go once older than an hour.
 * Damaged snapshots (an invalid manifest) never count toward `keep` and are never removed:
 * what is left of them may still be worth saving by hand, and pruneSnapshots names them.
 */
export function choosePrunable(list: readonly ListedSnapshot[], options: PruneOptions): PrunePlan {
  const now = options.now.getTime()
  const age = (snapshot: ListedSnapshot) => now - snapshot.createdAt.getTime()
  const newestFirst = [...list].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
  const plan: PrunePlan = { remove: [], keep: [] }
  const byCount = options.keep !== undefined
  const byAge = options.olderThanMs !== undefined
  let complete = 0
  for (const snapshot of newestFirst) {
    if (snapshot.status === 'damaged') {
      plan.keep.push(snapshot)
      continue
    }
    if (snapshot.status === 'incomplete') {
      if (age(snapshot) > INCOMPLETE_GRACE_MS) {
        plan.remove.push({ snapshot, reason: 'incomplete (a failed run) and older than an hour' })
      } else {
        plan.keep.push(snapshot)
      }
      continue
    }
    complete++
    const protectedByCount = byCount && complete <= options.keep!
    const old = byAge && age(snapshot) > options.olderThanMs!
    if (protectedByCount || (!byCount && !byAge)) {
      plan.keep.push(snapshot)
    } else if (byAge && old) {
      plan.remove.push({ snapshot, reason: `older than ${describeAge(options.olderThanMs!)}` })
    } else if (!byAge) {
      plan.remove.push({ snapshot, reason: `beyond the newest ${options.keep!}` })
    } else {
      plan.keep.push(snapshot)
    }
  }
  return plan
}

function describeAge(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's']
  ]
  const [size, unit] = units.find(([size]) => ms % size === 0) ?? [1, 'ms']
  return `${ms / size}${unit}`
}

export interface PruneResult {
  removed: string[]
  kept: string[]
  /** Snapshots left although the plan did not keep them, or kept only because of what they are. */
  skipped: { snapshotId: string; reason: string }[]
}

/**
 * Removes snapshots that dead runs left half written, then what choosePrunable picks, one
 * snapshot at a time; one that a restore or verify holds is skipped, and so said. Every removal
 * is tried; if any fails, StoreError names them all after the others are done. An abort stops
 * it between two removals.
 */
export async function pruneSnapshots(
  store: SnapshotStore,
  options: PruneOptions,
  log: Logger
): Promise<PruneResult> {
  if (!store.canDelete) {
    throw new InvalidSettingsError(
      `Cannot prune ${store.description}: this store cannot delete snapshots. ` +
        'Remove old snapshots with the storage service itself, or prune a directory store.'
    )
  }
  options.signal?.throwIfAborted()
  for (const snapshotId of await store.discardAbandoned()) {
    log.info(`removed an unfinished snapshot ${snapshotId} left by a run that is gone`)
  }
  const plan = choosePrunable(await listSnapshots(store), options)
  const removed: string[] = []
  const kept = plan.keep.map(snapshot => snapshot.snapshotId)
  const skipped: PruneResult['skipped'] = []
  const failures: string[] = []
  for (const snapshot of plan.keep) {
    if (snapshot.status !== 'damaged') continue
    const reason = `damaged, left for you to inspect and remove by hand: ${snapshot.problem ?? ''}`
    skipped.push({ snapshotId: snapshot.snapshotId, reason })
    log.warn(`${snapshot.snapshotId} is ${reason}`)
  }
  for (const { snapshot, reason } of plan.remove) {
    options.signal?.throwIfAborted()
    try {
      if ((await store.delete(snapshot.snapshotId)) === 'held') {
        const why = 'a restore or verify is reading it now; run prune again later'
        kept.push(snapshot.snapshotId)
        skipped.push({ snapshotId: snapshot.snapshotId, reason: why })
        log.warn(`skipped ${snapshot.snapshotId}: ${why}`)
        continue
      }
      removed.push(snapshot.snapshotId)
      log.info(`removed ${snapshot.snapshotId} (${formatBytes(snapshot.bytes)}): ${reason}`)
    } catch (error) {
      failures.push(`${snapshot.snapshotId} (${describeError(error)})`)
    }
  }
  log.info(
    `removed ${removed.length} snapshot${removed.length === 1 ? '' : 's'}, kept ${kept.length}`
  )
  if (failures.length > 0) {
    throw new StoreError(
      `Could not remove ${failures.join('; ')} from ${store.description}` +
        (removed.length > 0 ? ` (removed: ${removed.join(', ')})` : '') +
        '. Check the store and run prune again.'
    )
  }
  return { removed, kept, skipped }
}
