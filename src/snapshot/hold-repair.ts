/**
 * Repairing what a killed run left: a run that finds a hold whose owner is dead brings the
 * container back as the hold's marks say (resume, start, the owed post-exec hook), and removes
 * the hold and the dead run's carrier containers. A claim keeps two runs from repairing at once.
 */
import type { Engine } from '../docker/engine.js'
import { describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { plural } from '../shared/format.js'
import { livenessOf, ownerLabel, parseOwner } from '../shared/owner.js'
import {
  HOLD_LABEL,
  OWNER,
  REPAIR_LABEL,
  describeHolder,
  holdName,
  markPath,
  ownerLabels,
  readHold,
  removeIfThere,
  type HoldMark,
  type HoldRecord
} from './hold-record.js'
import { runHook } from './hooks.js'
import { undo } from './quiesce.js'

/** How long a stop the killed run began may still take: the container's stop timeout and more. */
const STOP_GRACE_MS = 10_000
const DEFAULT_STOP_TIMEOUT_S = 10

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

/**
 * Brings back what the dead run of `hold` left: resumes or starts the container (waiting for a
 * stop it began to finish), runs the post-exec hook it owed, removes its carrier containers and
 * the hold, and says so. Throws when the container cannot be brought back (the hold stays, for
 * the next run to try again).
 */
export async function repairHold(engine: Engine, log: Logger, hold: HoldRecord): Promise<void> {
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
