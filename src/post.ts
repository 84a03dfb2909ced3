import * as core from '@actions/core'
import { loadActionState } from './action-state.js'
import { actionLogger } from './action-log.js'
import { Engine } from './docker/engine.js'
import { describeError } from './errors.js'
import { undo } from './snapshot/quiesce.js'

/**
 * The post step: if the main step was killed while containers were paused or stopped, bring
 * them back. Normally there is nothing left to do.
 */
async function post(): Promise<void> {
  const state = loadActionState()
  if (!state || state.quiesced.length === 0) return
  core.info(`bringing back ${state.quiesced.map(a => a.name).join(', ')}`)
  const engine = new Engine({ host: state.dockerHost, logger: actionLogger })
  const failed: string[] = []
  for (const action of [...state.quiesced].reverse()) {
    try {
      await undo(engine, action, actionLogger)
    } catch (error) {
      failed.push(`${action.name}: ${describeError(error)}`)
    }
  }
  if (failed.length) core.setFailed(`could not bring back ${failed.join('; ')}`)
}

post().catch(error => core.setFailed(describeError(error)))
