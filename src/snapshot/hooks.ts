import type { Engine } from '../docker/engine.js'
import type { ContainerDetails } from '../docker/types.js'
import { HookError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { MAX_TIMEOUT_SECONDS } from '../shared/timeouts.js'
import { LABEL, containerName } from './capture.js'

export type HookPhase = 'pre' | 'post'

/** Whether the container has a hook for `phase`. */
export function hasHook(details: ContainerDetails, phase: HookPhase): boolean {
  return Boolean(details.Config.Labels?.[phase === 'pre' ? LABEL.preExec : LABEL.postExec])
}

/**
 * Runs a container's pre- or post-exec hook (labels `docker-snapshot.pre-exec` and
 * `docker-snapshot.post-exec`, run with `sh -c` inside the container). A failure or timeout
 * throws, unless the container's `docker-snapshot.on-hook-failure` label says `continue`.
 */
export async function runHook(
  engine: Engine,
  details: ContainerDetails,
  phase: HookPhase,
  defaultTimeoutMs: number,
  log: Logger
): Promise<void> {
  const labels = details.Config.Labels ?? {}
  const command = labels[phase === 'pre' ? LABEL.preExec : LABEL.postExec]
  if (!command) return
  const name = containerName(details)
  const label = phase === 'pre' ? LABEL.preExec : LABEL.postExec
  if (!details.State.Running || details.State.Paused) {
    log.warn(`${name} is not running; its ${label} hook was not run`)
    return
  }
  const timeoutMs = labelTimeoutMs(name, labels[LABEL.hookTimeout], defaultTimeoutMs, log)
  log.info(`${name}: running ${phase}-exec hook`)
  const started = Date.now()
  const result = await engine.exec(details.Id, ['sh', '-c', command], timeoutMs)
  const tail = result.output.trim().split('\n').slice(-5).join('\n')
  let problem: string | undefined
  if (result.exitCode === -1 && Date.now() - started >= timeoutMs) {
    problem = `timed out after ${Math.round(timeoutMs / 1000)} s`
  } else if (result.exitCode !== 0) {
    problem = `exited with code ${result.exitCode}`
  }
  if (!problem) return
  const message =
    `${name}: the ${label} hook ${problem}${tail ? `; its last output:\n${tail}` : ''}\n` +
    `Fix the command, or set the label ${LABEL.onHookFailure}=continue to snapshot anyway.`
  if (labels[LABEL.onHookFailure] === 'continue') {
    log.warn(message)
    return
  }
  throw new HookError(message)
}

/** The container's own hook timeout (label, seconds) when it is one a timer can wait, else the default. */
function labelTimeoutMs(
  container: string,
  label: string | undefined,
  defaultTimeoutMs: number,
  log: Logger
): number {
  if (label === undefined || label.trim() === '') return defaultTimeoutMs
  const seconds = Number(label)
  if (Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS) {
    return seconds * 1000
  }
  log.warn(
    `${container}: ignoring label ${LABEL.hookTimeout}=${label}: expected seconds between 1 and ` +
      `${MAX_TIMEOUT_SECONDS}; the hook gets ${defaultTimeoutMs / 1000} s`
  )
  return defaultTimeoutMs
}
