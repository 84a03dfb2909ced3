/**
 * What a hold is on the engine: the labels that say who holds which container, the marks that
 * record the steps taken, and the hold's name. See holds.ts for what holds are for.
 */
import type { Engine } from '../docker/engine.js'
import { NotFoundError } from '../shared/errors.js'
import type { RunOwner } from '../shared/owner.js'
import { ownerLabel, parseOwner, thisRun } from '../shared/owner.js'

/** On a hold: the held container's id. */
export const HOLD_LABEL = 'docker-snapshot.hold'
/** On the claim of a run that repairs a dead run's hold: the hold's id. */
export const REPAIR_LABEL = 'docker-snapshot.hold-repair'
export const OWNER = {
  container: 'docker-snapshot.hold.container',
  owner: 'docker-snapshot.hold.owner',
  processStart: 'docker-snapshot.hold.process-start',
  run: 'docker-snapshot.hold.run',
  snapshot: 'docker-snapshot.hold.snapshot',
  since: 'docker-snapshot.hold.since',
  hookTimeout: 'docker-snapshot.hold.hook-timeout-ms'
} as const

/** Steps recorded on a hold before they are taken; `post-exec` after the hook ran. */
export type HoldMark = 'pre-exec' | 'pause' | 'stop' | 'post-exec'

export const markPath = (mark: HoldMark) => `docker-snapshot-${mark}`

/** The hold's name for a container: one per container on an engine. */
export function holdName(containerId: string): string {
  return `docker-snapshot-hold-${containerId.slice(0, 12)}`
}

/** What a hold's labels say. */
export interface HoldRecord {
  /** The hold container's id. */
  id: string
  containerId: string
  containerName: string
  owner: RunOwner | undefined
  run: string
  snapshotId: string
  since: string
  hookTimeoutMs: number
}

export function readHold(id: string, labels: Record<string, string>): HoldRecord {
  return {
    id,
    containerId: labels[HOLD_LABEL] ?? '',
    containerName: labels[OWNER.container] ?? labels[HOLD_LABEL] ?? id,
    owner: parseOwner(labels[OWNER.owner] ?? '', labels[OWNER.processStart]),
    run: labels[OWNER.run] ?? '',
    snapshotId: labels[OWNER.snapshot] ?? '',
    since: labels[OWNER.since] ?? '',
    hookTimeoutMs: Number(labels[OWNER.hookTimeout]) || 60_000
  }
}

export function ownerLabels(run: string): Record<string, string> {
  return {
    [OWNER.owner]: ownerLabel(thisRun),
    [OWNER.processStart]: thisRun.processStart ?? '',
    [OWNER.run]: run,
    [OWNER.since]: new Date().toISOString()
  }
}

/** "the docker-snapshot run of snapshot S (pid P on host H, since T)" */
export function describeHolder(hold: HoldRecord): string {
  const who = hold.owner ? `pid ${hold.owner.pid} on host ${hold.owner.host}` : 'unknown owner'
  return (
    `the docker-snapshot run${hold.snapshotId ? ` of snapshot ${hold.snapshotId}` : ''} ` +
    `(${who}${hold.since ? `, since ${hold.since}` : ''})`
  )
}

/** Removes a hold or a claim, unless it is gone already. */
export async function removeIfThere(engine: Engine, id: string): Promise<void> {
  try {
    await engine.removeContainer(id, { force: true })
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error
  }
}
