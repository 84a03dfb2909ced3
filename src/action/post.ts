import * as core from '@actions/core'
import { loadActionState } from './state.js'
import { actionLogger } from './log.js'
import { Engine } from '../docker/engine.js'
import { describeError } from '../shared/errors.js'
import { repairAbandoned } from '../snapshot/holds.js'
import { openStore } from '../stores/index.js'

/**
 * The post step: when the main step was killed, bring back the containers it had paused or
 * stopped (waiting for a stop it began to finish), run the post-exec hooks it owed, remove the
 * carrier containers it left (all as the holds it left on the engine say), and remove its
 * unfinished snapshot. After a main step that finished, there is nothing to do.
 */
export async function post(): Promise<void> {
  try {
    await cleanUp()
  } catch (error) {
    core.setFailed(describeError(error))
  }
}

async function cleanUp(): Promise<void> {
  const state = loadActionState()
  if (!state) return
  const engine = new Engine({ host: state.dockerHost, logger: actionLogger })
  const failed: string[] = []
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (error) {
      failed.push(`${what}: ${describeError(error)}`)
    }
  }
  await attempt('containers the main step held', () => repairAbandoned(engine, actionLogger))
  const unfinished = state.snapshot
  if (unfinished) {
    await attempt(`snapshot ${unfinished.snapshotId}`, async () => {
      const store = await openStore(unfinished.store, 'read')
      // Only what the killed main step wrote aside: a published snapshot is never touched.
      if (await store.discardStaged(unfinished.snapshotId, state.carrierOwner)) {
        core.info(
          `removed the unfinished snapshot ${unfinished.snapshotId} from ${store.description}`
        )
      }
    })
  }
  if (failed.length) core.setFailed(`the post step could not clean up: ${failed.join('; ')}`)
}
