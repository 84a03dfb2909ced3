import * as core from '@actions/core'
import type { StoreSpec } from '../stores/spec.js'

/**
 * What the main step hands the post step, to undo what a killed main step left: the engine (where
 * its holds record what it paused or stopped, see holds.ts) and an unfinished snapshot in the
 * store.
 */
export interface ActionState {
  dockerHost?: string
  /** The main step's `host:pid`, which its carrier containers and unfinished snapshot carry. */
  carrierOwner: string
  /** The snapshot being taken, removed by the post step if it has no manifest. */
  snapshot?: { store: StoreSpec; snapshotId: string }
}

const KEY = 'docker-snapshot'
/** Set by the main step before anything else, so that the same entry knows it is the post step. */
const POST_FLAG = 'isPost'

export function markMainStepRan(): void {
  core.saveState(POST_FLAG, 'true')
}

export function isPostStep(): boolean {
  return core.getState(POST_FLAG) === 'true'
}

export function saveActionState(state: ActionState): void {
  core.saveState(KEY, JSON.stringify(state))
}

export function loadActionState(): ActionState | undefined {
  const text = core.getState(KEY)
  if (!text) return undefined
  return JSON.parse(text) as ActionState
}
