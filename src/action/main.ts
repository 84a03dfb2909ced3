import * as core from '@actions/core'
import type { ActionState } from './state.js'
import { saveActionState } from './state.js'
import { withoutSecrets } from '../stores/spec.js'
import { actionLogger } from './log.js'
import { Interruption } from '../app/interrupt.js'
import { PlainDisplay } from '../app/progress.js'
import { carrierOwner } from '../docker/engine.js'
import { describeError } from '../shared/errors.js'
import { dropSecretVariables } from '../shared/environment.js'
import type { InputName } from '../app/inputs.js'
import { outputsOf, summaryOf } from './summary.js'
import { execute } from '../app/runner.js'
import { isMaskable, readSettings } from '../app/settings.js'

/**
 * The action's main step. A cancelled workflow sends SIGINT, then SIGTERM, then kills the step:
 * the first signal aborts the run, which resumes what it paused and puts back the originals a
 * replace set aside; if it is killed before it is done, the post step repairs what it can.
 */
export async function run(): Promise<void> {
  const interruption = new Interruption()
  const stopListening = interruption.listen(process, {
    first: signal =>
      core.warning(
        `received ${signal}: stopping at the next safe point, bringing paused or stopped ` +
          'containers back and putting back any originals a replace set aside'
      ),
    again: signal => core.info(`received ${signal} again: still undoing what the run did`)
  })
  try {
    const settings = readSettings((name: InputName) => core.getInput(name))
    // Each secret is announced to the runner once, whether from the inputs or found later.
    const masked = new Set<string>()
    const mask = (secret: string) => {
      if (!isMaskable(secret) || masked.has(secret)) return
      masked.add(secret)
      core.setSecret(secret)
    }
    for (const secret of settings.secrets) mask(secret)
    dropSecretVariables(process.env, settings.secrets)
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
      onTransfer: progress.onTransfer,
      signal: interruption.signal,
      onSecret: mask
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
  } finally {
    stopListening()
  }
}
