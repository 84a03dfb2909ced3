/**
 * What the CLI says about an interrupt. Ctrl-C in the middle of a snapshot must not leave
 * containers paused: the first SIGINT or SIGTERM aborts the run's signal (see app/interrupt.ts),
 * and the run's own `finally` blocks bring containers back; a second one quits at once.
 */
import type { SignalName } from '../app/interrupt.js'
import { describeError } from '../shared/errors.js'
import type { QuiesceAction } from '../snapshot/quiesce.js'
import type { CommandName } from './commands.js'

/** What is left for the user to undo by hand, when containers are still held. */
export function heldContainersAdvice(held: readonly QuiesceAction[]): string | undefined {
  if (held.length === 0) return undefined
  const paused = held.filter(action => action.action === 'pause').map(action => action.name)
  const stopped = held.filter(action => action.action === 'stop').map(action => action.name)
  const steps = [
    paused.length > 0 ? `docker unpause ${paused.join(' ')}` : '',
    stopped.length > 0 ? `docker start ${stopped.join(' ')}` : ''
  ].filter(Boolean)
  return (
    `containers still held by the snapshot: ${held.map(a => `${a.name} (${a.action === 'pause' ? 'paused' : 'stopped'})`).join(', ')}; ` +
    `bring them back with: ${steps.join(' && ')} (the next docker-snapshot command on this ` +
    'host does it too, with their post-exec hooks)'
  )
}

/** Commands that pause or stop containers, and so must say whether any is still held. */
function holdsContainers(command: CommandName): boolean {
  return command === 'snapshot' || command === 'drill'
}

/** Said at the first signal. */
export function interruptNotice(signal: SignalName, command: CommandName): string {
  return (
    `received ${signal}: stopping at the next safe point` +
    (holdsContainers(command) ? ' and bringing paused or stopped containers back' : '') +
    (command === 'restore' ? ' and putting back any originals a replace set aside' : '') +
    `; ${signal === 'SIGINT' ? 'press Ctrl-C' : 'send it'} again to quit without waiting`
  )
}

/** Said at a second signal, just before quitting without waiting. */
export function quitNotice(
  signal: SignalName,
  command: CommandName,
  held: readonly QuiesceAction[]
): string {
  return (
    `received ${signal} again: quitting without waiting` +
    (held.length > 0 ? `; ${heldContainersAdvice(held)}` : '') +
    (command === 'restore'
      ? "; originals a replace set aside keep their '-aside-' names: see " +
        "'If a replace is cut short' in the README"
      : '')
  )
}

/** What happened, after an interrupted run has unwound. */
export function interruptedMessage(
  signal: SignalName,
  error: unknown,
  held: readonly QuiesceAction[],
  command: CommandName
): string {
  const cause =
    error instanceof Error && error.name === 'InterruptedError' ? '' : describeError(error)
  return (
    `interrupted by ${signal}` +
    (cause ? ` (the run stopped with: ${cause})` : '') +
    // Other commands hold nothing; a restore's own message says what it put back.
    (holdsContainers(command)
      ? `; ${heldContainersAdvice(held) ?? 'no container is left paused or stopped'}`
      : '')
  )
}
