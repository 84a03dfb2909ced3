import * as core from '@actions/core'
import type { QuiesceAction } from './snapshot/quiesce.js'

/** What the main step hands the post step: containers to bring back if main was cut short. */
export interface ActionState {
  dockerHost?: string
  quiesced: QuiesceAction[]
}

const KEY = 'docker-snapshot'

export function saveActionState(state: ActionState): void {
  core.saveState(KEY, JSON.stringify(state))
}

export function loadActionState(): ActionState | undefined {
  const text = core.getState(KEY)
  if (!text) return undefined
  return JSON.parse(text) as ActionState
}
