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
import { ContainerHeldError, NotFoundError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { plural } from '../shared/format.js'
import type { RunOwner } from '../shared/owner.js'
import { livenessOf, ownerLabel, parseOwner, thisRun } from '../shared/owner.js'
import { runHook } from './hooks.js'
import { undo } from './quiesce.js'

/** On a hold: the held container's id. */
export const HOLD_LABEL = 'docker-snapshot.hold'
/** On the claim of a run that repairs a dead run's hold: the hold's id. */
export const REPAIR_LABEL = 'docker-snapshot.hold-repair'
const OWNER = {
  container: 'docker-snapshot.hold.container',
  owner: 'docker-snapshot.hold.owner',
  processStart: 'docker-snapshot.hold.process-start',
  run: 'docker-snapshot.hold.run',
  snapshot: 'docker-snapshot.hold.snapshot',
  since: 'docker-snapshot.hold.since',
  hookTimeout: 'docker-snapshot.hold.hook-timeout-ms'
} as const

/** Steps recorded on a hold before they are taken; `post-exec` after the hook ran. */
type HoldMark = 'pre-exec' | 'pause' | 'stop' | 'post-exec'

const markPath = (mark: HoldMark) => `docker-snapshot-${mark}`

/** The hold's name for a container: one per container on an engine. */
export function holdName(containerId: string): string {
  return `docker-snapshot-hold-${containerId.slice(0, 12)}`
}

/** How long a run waits by default for another run to release a container. */
export const HOLD_WAIT_MS = 5 * 60_000

/** How long a stop the killed run began may still take: the container's stop timeout and more. */
const STOP_GRACE_MS = 10_000
const DEFAULT_STOP_TIMEOUT_S = 10

/** What a hold's labels say. */
interface HoldRecord {
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

function readHold(id: string, labels: Record<string, string>): HoldRecord {
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

function ownerLabels(run: string): Record<string, string> {
  return {
    [OWNER.owner]: ownerLabel(thisRun),
    [OWNER.processStart]: thisRun.processStart ?? '',
    [OWNER.run]: run,
    [OWNER.since]: new Date().toISOString()
  }
}

/** "the docker-snapshot run of snapshot S (pid P on host H, since T)" */
function describeHolder(hold: HoldRecord): string {
  const who = hold.owner ? `pid ${hold.owner.pid} on host ${hold.owner.host}` : 'unknown owner'
  return (
    `the docker-snapshot run${hold.snapshotId ? ` of snapshot ${hold.snapshotId}` : ''} ` +
    `(${who}${hold.since ? `, since ${hold.since}` : ''})`
  )
}

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

/**
 * Claims the repair of a dead run's hold, so that two runs never repair it at once (a post-exec
 * hook run twice); undefined when a live run repairs it already.
 */
async function claimRepair(engine: Engine, hold: HoldRecord): Promise<string | undefined> {
  const name = `${holdName(hold.containerId)}-repair`
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = await engine.createLock(name, { [REPAIR_LABEL]: hold.id, ...ownerLabels('repair') })
    if (id) return id
    const claim = await engine.findContainer(name)
    if (!claim) continue
    const labels = claim.Config.Labels ?? {}
    const owner = parseOwner(labels[OWNER.owner] ?? '', labels[OWNER.processStart])
    if (!owner || livenessOf(owner) !== 'dead') return undefined
    await removeIfThere(engine, claim.Id)
  }
  return undefined
}

async function removeIfThere(engine: Engine, id: string): Promise<void> {
  try {
    await engine.removeContainer(id, { force: true })
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error
  }
}

/**
 * Brings back what the dead run of `hold` left: resumes or starts the container (waiting for a
 * stop it began to finish), runs the post-exec hook it owed, removes its carrier containers and
 * the hold, and says so. Throws when the container cannot be brought back (the hold stays, for
 * the next run to try again).
 */
async function repairHold(engine: Engine, log: Logger, hold: HoldRecord): Promise<void> {
  const claim = await claimRepair(engine, hold)
  if (!claim) return
  try {
    if (!(await engine.findContainer(hold.id))) return
    const done: string[] = []
    const marked = async (mark: HoldMark) => engine.lockHasMark(hold.id, markPath(mark))
    const held = await engine.findContainer(hold.containerId)
    if (!held) {
      done.push(`${hold.containerName} no longer exists`)
    } else {
      for (const action of ['pause', 'stop'] as const) {
        if (!(await marked(action))) continue
        const stopTimeout = (held.Config as { StopTimeout?: number }).StopTimeout
        const waitMs = (stopTimeout ?? DEFAULT_STOP_TIMEOUT_S) * 1000 + STOP_GRACE_MS
        const undone = await undo(
          engine,
          { id: held.Id, name: hold.containerName, action },
          log,
          waitMs
        )
        if (undone) done.push(`${undone} ${hold.containerName}`)
      }
      if ((await marked('pre-exec')) && !(await marked('post-exec'))) {
        const details = await engine.inspectContainer(held.Id)
        try {
          await runHook(engine, details, 'post', hold.hookTimeoutMs, log)
          done.push(`ran the post-exec hook of ${hold.containerName}`)
        } catch (error) {
          log.warn(describeError(error))
        }
        await engine.markLock(hold.id, markPath('post-exec'))
      }
    }
    if (hold.owner) {
      const carriers = await engine.removeCarriers(ownerLabel(hold.owner))
      if (carriers.length > 0) {
        done.push(`removed ${plural(carriers.length, 'carrier container')} ${carriers.join(', ')}`)
      }
    }
    await removeIfThere(engine, hold.id)
    log.warn(
      `${describeHolder(hold)} ended without bringing ${hold.containerName} back; repaired: ` +
        `${done.length > 0 ? done.join('; ') : 'nothing was left to undo'}`
    )
  } finally {
    await removeIfThere(engine, claim)
  }
}

/**
 * Repairs what dead runs on this host left on the engine: their holds (see `repairHold`), and
 * carrier containers and repair claims of theirs. Never throws: a failure is a warning, and the
 * hold stays for the next run.
 */
export async function repairAbandoned(engine: Engine, log: Logger): Promise<void> {
  const holds = await engine.listContainers({ label: [HOLD_LABEL] })
  for (const summary of holds) {
    const hold = readHold(summary.Id, summary.Labels)
    if (!hold.owner || livenessOf(hold.owner) !== 'dead') continue
    try {
      await repairHold(engine, log, hold)
    } catch (error) {
      log.warn(
        `could not bring back ${hold.containerName}, left by ${describeHolder(hold)}: ` +
          `${describeError(error)}; the next docker-snapshot command tries again`
      )
    }
  }
  for (const label of await engine.carrierOwners()) {
    const owner = parseOwner(label)
    if (!owner || livenessOf(owner) !== 'dead') continue
    const removed = await engine.removeCarriers(label)
    if (removed.length > 0) {
      log.warn(
        `removed the carrier containers a killed docker-snapshot run (pid ${owner.pid}) left: ` +
          removed.join(', ')
      )
    }
  }
  for (const claim of await engine.listContainers({ label: [REPAIR_LABEL] })) {
    const owner = parseOwner(claim.Labels[OWNER.owner] ?? '', claim.Labels[OWNER.processStart])
    if (owner && livenessOf(owner) === 'dead') await removeIfThere(engine, claim.Id)
  }
}
