import type { Engine } from '../docker/engine.js'
import { SnapshotError, describeError } from '../errors.js'
import type { Logger } from '../log.js'

/** What we did to a container, so that it can be undone by us, or by the post step. */
export interface QuiesceAction {
  id: string
  name: string
  action: 'pause' | 'stop'
}

/**
 * Pauses or stops containers and always brings them back. Every action is announced to
 * `persist` before it is taken, so a post step that runs after a killed main step knows what
 * to undo.
 */
export class Quiescer {
  private readonly taken: QuiesceAction[] = []

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly persist: (actions: QuiesceAction[]) => void = () => undefined
  ) {}

  get actions(): readonly QuiesceAction[] {
    return this.taken
  }

  /** Takes the actions in order (callers pass dependents first). */
  async quiesce(actions: QuiesceAction[]): Promise<void> {
    for (const action of actions) {
      this.taken.push(action)
      this.persist([...this.taken])
      this.log.info(`${action.action === 'pause' ? 'pausing' : 'stopping'} ${action.name}`)
      if (action.action === 'pause') await this.engine.pauseContainer(action.id)
      else await this.engine.stopContainer(action.id)
    }
  }

  /**
   * Undoes every action, last first, trying all of them even when some fail; throws one error
   * naming every container that could not be brought back.
   */
  async resume(): Promise<void> {
    const failures: string[] = []
    // What could not be brought back stays announced, so the post step tries it again.
    const failed: QuiesceAction[] = []
    while (this.taken.length > 0) {
      const action = this.taken.pop()!
      try {
        await undo(this.engine, action, this.log)
      } catch (error) {
        failures.push(`${action.name} (${describeError(error)})`)
        failed.unshift(action)
      }
      this.persist([...this.taken, ...failed])
    }
    if (failures.length > 0) {
      throw new SnapshotError(
        `could not bring back ${failures.join('; ')}; start them by hand with ` +
          '`docker unpause` or `docker start`'
      )
    }
  }
}

/** Brings one container back if it is still as we left it; used by the post step too. */
export async function undo(engine: Engine, action: QuiesceAction, log: Logger): Promise<void> {
  const details = await engine.findContainer(action.id)
  if (!details) {
    log.warn(`${action.name} no longer exists; nothing to bring back`)
    return
  }
  if (action.action === 'pause' && details.State.Paused) {
    log.info(`resuming ${action.name}`)
    await engine.unpauseContainer(action.id)
  } else if (action.action === 'stop' && !details.State.Running) {
    log.info(`starting ${action.name}`)
    await engine.startContainer(action.id)
  }
}
