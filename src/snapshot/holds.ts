/**
 * Holds: a lock on the engine per container, so that two runs never quiesce the same container
 * at once, and a record on the engine of what a run did to it, so that whatever a killed run left
 * paused, stopped or owing a post-exec hook is brought back by the next run.
 *
 * A hold is a never-started container named after the held container's id: the engine creates a
 * name once, so of two runs only one gets it. Its labels say who holds it (host, pid, process
 * start, run, snapshot, since when); marks written into its filesystem record each step before it
 * is taken (pre-exec run, paused, stop begun). It is removed once the container is back and its
 * post-exec hook has run.
 */
import { randomBytes } from 'node:crypto'
import type { Engine } from '../docker/engine.js'
import { ContainerHeldError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { livenessOf } from '../shared/owner.js'
import {
  HOLD_LABEL,
  OWNER,
  describeHolder,
  holdName,
  markPath,
  ownerLabels,
  readHold,
  type HoldMark,
  type HoldRecord
} from './hold-record.js'
import { repairHold } from './hold-repair.js'

export { HOLD_LABEL, REPAIR_LABEL, holdName } from './hold-record.js'
export { repairAbandoned } from './hold-repair.js'

/** How long a run waits by default for another run to release a container. */
export const HOLD_WAIT_MS = 5 * 60_000

export interface HoldOptions {
  snapshotId: string
  hookTimeoutMs: number
  /** How long to wait for another run to release a container before failing. */
  waitMs: number
  /** How often to look again while waiting. */
  pollMs?: number
  signal?: AbortSignal
}

/** The holds of one run. */
export class Holds {
  /** Held container id -> hold container id. */
  private readonly held = new Map<string, string>()
  readonly run = randomBytes(4).toString('hex')

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly options: HoldOptions
  ) {}

  /** Holds every container, in id order (so two runs cannot each wait for the other). */
  async acquire(containers: { id: string; name: string }[]): Promise<void> {
    for (const container of [...containers].sort((a, b) => a.id.localeCompare(b.id))) {
      await this.acquireOne(container)
    }
  }

  private async acquireOne(container: { id: string; name: string }): Promise<void> {
    const { engine, log, options } = this
    const name = holdName(container.id)
    const labels = {
      [HOLD_LABEL]: container.id,
      [OWNER.container]: container.name,
      [OWNER.snapshot]: options.snapshotId,
      [OWNER.hookTimeout]: String(options.hookTimeoutMs),
      ...ownerLabels(this.run)
    }
    const deadline = Date.now() + options.waitMs
    let announced = false
    for (;;) {
      options.signal?.throwIfAborted()
      const id = await engine.createLock(name, labels)
      if (id) {
        this.held.set(container.id, id)
        return
      }
      const existing = await engine.findContainer(name)
      if (!existing) continue
      const hold = readHold(existing.Id, existing.Config.Labels ?? {})
      const liveness = hold.owner ? livenessOf(hold.owner) : 'unknown'
      if (liveness === 'dead') {
        await repairHold(engine, log, hold)
        if (!(await engine.findContainer(existing.Id))) continue
      }
      if (Date.now() >= deadline) {
        throw new ContainerHeldError(
          heldMessage(container.name, hold, liveness === 'unknown', options.waitMs)
        )
      }
      if (!announced) {
        announced = true
        log.info(
          `${container.name} is held by ${describeHolder(hold)}; waiting up to ` +
            `${Math.round(options.waitMs / 1000)} s for it to finish`
        )
      }
      await sleep(options.pollMs ?? 500, options.signal)
    }
  }

  /** The ids of the containers held. */
  get containers(): string[] {
    return [...this.held.keys()]
  }

  /** Records a step on the container's hold before it is taken. */
  async mark(containerId: string, mark: HoldMark): Promise<void> {
    const hold = this.held.get(containerId)
    if (hold) await this.engine.markLock(hold, markPath(mark))
  }

  /** Removes the container's hold: it is back, and its post-exec hook has run. */
  async release(containerId: string): Promise<void> {
    const hold = this.held.get(containerId)
    if (!hold) return
    await this.engine.removeContainer(hold, { force: true })
    this.held.delete(containerId)
  }
}

function heldMessage(name: string, hold: HoldRecord, otherHost: boolean, waitMs: number) {
  const base =
    `${name} is held by ${describeHolder(hold)}, which did not release it within ` +
    `${Math.round(waitMs / 1000)} s; this run paused and stopped nothing. Run again once that ` +
    'run has finished.'
  if (otherHost) {
    return (
      `${base} That run is on another host, so this one cannot tell whether it still runs. If ` +
      `it does not, bring ${name} back as it left it (\`docker unpause ${name}\` or ` +
      `\`docker start ${name}\`, and its post-exec hook if it has one) and remove the hold: ` +
      `\`docker rm ${holdName(hold.containerId)}\`.`
    )
  }
  return (
    `${base} If that process is stuck, end it (kill ${hold.owner?.pid ?? '?'}): the next ` +
    `docker-snapshot command brings ${name} back.`
  )
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done() {
      signal?.removeEventListener('abort', aborted)
      resolve()
    }
    function aborted() {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    signal?.addEventListener('abort', aborted, { once: true })
  })
}
