import type { Engine } from '../docker/engine.js'
import { SnapshotError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'

/** What we did to a container, so that it can be undone by us, or by the post step. */
export interface QuiesceAction {
  id: string
  name: string
  action: 'pause' | 'stop'
}

/**
 * Pauses or stops containers and always brings them back. Every action is recorded with `mark`
 * (on the container's hold, see holds.ts) and announced to `persist` before it is taken, so that
 * what a killed run left can be undone by the next one.
 */
export class Quiescer {
  private readonly taken: QuiesceAction[] = []

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly persist: (actions: QuiesceAction[]) => void = () => undefined,
    private readonly mark: (action: QuiesceAction) => Promise<void> = () => Promise.resolve()
  ) {}

  get actions(): readonly QuiesceAction[] {
    return this.taken
  }

  /** Takes the actions in order (callers pass dependents first). */
  async quiesce(actions: QuiesceAction[]): Promise<void> {
    for (const action of actions) {
      await this.mark(action)
      this.taken.push(action)
      this.persist([...this.taken])
      this.log.info(`${action.action === 'pause' ? 'pausing' : 'stopping'} ${action.name}`)
      if (action.action === 'pause') await this.engine.pauseContainer(action.id)
      else await this.engine.stopContainer(action.id)
    }
  }

  /**
   * Undoes every action, last first, trying all of them even when some fail; throws one error
   * naming every container that could not be brought back (`failed` lists their ids).
   */
  async resume(failed: Set<string> = new Set()): Promise<void> {
    const failures: string[] = []
    // What could not be brought back stays announced, for the advice on a second interrupt.
    const left: QuiesceAction[] = []
    while (this.taken.length > 0) {
      const action = this.taken.pop()!
      try {
        await undo(this.engine, action, this.log)
      } catch (error) {
        failures.push(`${action.name} (${describeError(error)})`)
        left.unshift(action)
        failed.add(action.id)
      }
      this.persist([...this.taken, ...left])
    }
    if (failures.length > 0) {
      throw new SnapshotError(
        `could not bring back ${failures.join('; ')}; start them by hand with ` +
          '`docker unpause` or `docker start`'
      )
    }
  }
}

/**
 * Brings one container back if it is still as we left it, saying what it did. A stop that a
 * killed run began may still be under way: with `stopWaitMs`, a running container is given that
 * long to stop before it is judged never stopped.
 */
export async function undo(
  engine: Engine,
  action: QuiesceAction,
  log: Logger,
  stopWaitMs = 0
): Promise<'resumed' | 'started' | undefined> {
  let details = await engine.findContainer(action.id)
  if (details && action.action === 'stop' && details.State.Running && stopWaitMs > 0) {
    log.info(`waiting up to ${Math.round(stopWaitMs / 1000)} s for the stop of ${action.name}`)
    const deadline = Date.now() + stopWaitMs
    while (details?.State.Running && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 250))
      details = await engine.findContainer(action.id)
    }
  }
  if (!details) {
    log.warn(`${action.name} no longer exists; nothing to bring back`)
    return undefined
  }
  if (action.action === 'pause' && details.State.Paused) {
    log.info(`resuming ${action.name}`)
    await engine.unpauseContainer(action.id)
    return 'resumed'
  }
  if (action.action === 'stop' && !details.State.Running) {
    log.info(`starting ${action.name}`)
    await engine.startContainer(action.id)
    return 'started'
  }
  return undefined
}
