/** How a failed restore is undone, and the error that says what it had done. */
import type { Engine } from '../docker/engine.js'
import { type CleanupStep, tryEach } from '../shared/cleanup.js'
import { HealthError, SnapshotError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { Originals } from './aside.js'
import type { RestoreOptions, RestoreStep } from './types.js'

/** What a restore run created, to report and to remove again on failure. */
export interface Created {
  containers: { id: string; name: string }[]
  volumes: string[]
  networks: string[]
}

/** Where a failed restore stood. */
export interface Unfinished {
  snapshotId: string
  step: RestoreStep
  created: Created
  originals: Originals
}

/**
 * Undoes a failed restore: removes what it created (unless kept), puts the originals back, and
 * returns the error to throw: the original kind, saying where the restore stopped and what it did.
 */
export async function unwind(
  error: unknown,
  at: Unfinished,
  options: Pick<RestoreOptions, 'signal' | 'keepOnFailure'>,
  engine: Engine,
  log: Logger
): Promise<Error> {
  const { signal } = options
  // An interrupt surfaces as whatever call it cut short: name the interrupt instead.
  const reason = signal?.aborted ? new SnapshotError(`${describeError(signal.reason)}.`) : error
  const created = [
    ...at.created.containers.map(c => `container ${c.name}`),
    ...at.created.volumes.map(v => `volume ${v}`),
    ...at.created.networks.map(n => `network ${n}`)
  ]
  const stopped = `Restore of snapshot ${at.snapshotId} stopped at step '${at.step}'`
  const aside = at.originals.any
  if (created.length === 0 && !aside) {
    return withContext(reason, `${stopped}; no container, volume or network was changed.`)
  }
  const parts: string[] = [`${stopped}.`]
  // Replacements hold the originals' names: with originals aside, they go whatever was asked.
  const keep = options.keepOnFailure === true && !aside
  if (created.length === 0) {
    parts.push('It had created nothing.')
  } else if (keep) {
    parts.push(`Created so far and kept (keep-on-failure): ${created.join(', ')}.`)
  } else {
    const left = await removeCreated(at.created, engine, log)
    parts.push(
      `Created so far and removed again: ${created.join(', ')}.` +
        (left.length > 0 ? ` Could not remove: ${left.join('; ')}; remove them by hand.` : '')
    )
  }
  if (aside) {
    const { back, left } = await at.originals.putBack()
    if (back.length > 0) {
      parts.push(`The originals were put back as they were: ${back.join(', ')}.`)
    }
    if (left.length > 0) {
      parts.push(
        `Could not put back: ${left.join('; ')}. Put them back by hand as the README's ` +
          "'If a replace is cut short' says."
      )
    }
  } else {
    parts.push('Existing containers, volumes and networks were not changed.')
  }
  if (error instanceof HealthError && !keep && created.length > 0) {
    parts.push(
      aside
        ? 'Restore beside them with a prefix and keep-on-failure true (--keep-on-failure) ' +
            'to read the container logs.'
        : 'Restore again with keep-on-failure true (--keep-on-failure) to keep them and read ' +
            'the container logs.'
    )
  }
  return withContext(reason, parts.join(' '))
}

/** Removes what the run created, newest kind first; returns what could not be removed. */
function removeCreated(created: Created, engine: Engine, log: Logger): Promise<string[]> {
  const steps: CleanupStep[] = [
    // Only volumes the engine made for it; named ones (ours included) are left to the next kind.
    ...[...created.containers].reverse().map(({ id, name }) => ({
      what: `container ${name}`,
      run: () => engine.removeContainer(id, { force: true, volumes: true })
    })),
    ...[...created.volumes].reverse().map(volume => ({
      what: `volume ${volume}`,
      run: () => engine.removeVolume(volume)
    })),
    ...[...created.networks].reverse().map(network => ({
      what: `network ${network}`,
      run: () => engine.removeNetwork(network)
    }))
  ]
  return tryEach(steps, what => log.info(`removed ${what} (created by this restore)`))
}

/** The same kind of error, its message followed by `context`. */
function withContext(error: unknown, context: string): Error {
  if (error instanceof SnapshotError) {
    const Kind = error.constructor as new (message: string, options?: ErrorOptions) => SnapshotError
    return new Kind(`${error.message} ${context}`, { cause: error })
  }
  return new SnapshotError(`${describeError(error)} ${context}`, { cause: error })
}
