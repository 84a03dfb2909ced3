import * as core from '@actions/core'
import type { ActionState } from './state.js'
import { saveActionState } from './state.js'
import { withoutSecrets } from '../stores/spec.js'
import { actionLogger } from './log.js'
import { PlainDisplay } from '../app/progress.js'
import { carrierOwner } from '../docker/engine.js'
import { describeError } from '../shared/errors.js'
import type { InputName } from '../app/inputs.js'
import { outputsOf, summaryOf } from './summary.js'
import { execute } from '../app/runner.js'
import { readSettings } from '../app/settings.js'

/** The action's main step. */
export async function run(): Promise<void> {
  try {
    const settings = readSettings((name: InputName) => core.getInput(name))
    for (const secret of settings.secrets) core.setSecret(secret)
    const state: ActionState = {
      dockerHost: settings.dockerHost,
      carrierOwner,
      ...(settings.mode === 'snapshot' && {
        snapshot: { store: withoutSecrets(settings.store), snapshotId: settings.snapshotId }
      })
    }
    saveActionState(state)
    // Long copies print a line when they start, every few seconds, and when they end.
    const progress = new PlainDisplay({
      json: false,
      quiet: false,
      stdout: process.stdout,
      stderr: process.stdout
    })
    const result = await execute(settings, {
      log: actionLogger,
      onTransfer: progress.onTransfer
    })
    for (const [name, value] of Object.entries(outputsOf(result))) core.setOutput(name, value)
    await core.summary.addRaw(summaryOf(result)).write()
    saveActionState({ ...state, snapshot: undefined })
    if (result.mode === 'verify' && !result.verify.ok) {
      const failed = result.verify.checks.filter(check => !check.ok)
      core.setFailed(
        `snapshot ${result.verify.snapshotId} failed verification: ` +
          failed.map(check => `${check.subject}: ${check.detail}`).join('; ')
      )
    }
  } catch (error) {
    core.setFailed(describeError(error))
  }
}
