/**
 * Ctrl-C in the middle of a snapshot must not leave containers paused: the first SIGINT or
 * SIGTERM only asks the run to stop, and the run's own `finally` blocks bring containers back.
 */
import { SnapshotError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { QuiesceAction } from '../snapshot/quiesce.js'

/** The run stopped because the user asked it to. */
export class InterruptedError extends SnapshotError {}

export type SignalName = 'SIGINT' | 'SIGTERM'

/** process, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: SignalName, listener: (signal: NodeJS.Signals) => void): unknown
  off(event: SignalName, listener: (signal: NodeJS.Signals) => void): unknown
}

export interface InterruptHandlers {
  /** The first signal: the run has been asked to stop. */
  first(signal: SignalName): void
  /** A later signal: the user will not wait any longer. */
  again(signal: SignalName): void
}

/** Whether, and by which signal, the user asked the run to stop. */
export class Interruption {
  private readonly controller = new AbortController()
  private received: SignalName | undefined

  /** Aborted on the first signal, for code that takes an AbortSignal. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  get requested(): SignalName | undefined {
    return this.received
  }

  /** Records a signal; true if it is the first. */
  request(signal: SignalName): boolean {
    if (this.received) return false
    this.received = signal
    this.controller.abort(new InterruptedError(`interrupted by ${signal}`))
    return true
  }

  throwIfRequested(): void {
    if (this.received) throw new InterruptedError(`interrupted by ${this.received}`)
  }

  /** Handles SIGINT and SIGTERM from `source` until the returned function is called. */
  listen(source: SignalSource, handlers: InterruptHandlers): () => void {
    const listener = (signal: NodeJS.Signals) => {
      const name: SignalName = signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
      if (this.request(name)) handlers.first(name)
      else handlers.again(name)
    }
    source.on('SIGINT', listener)
    source.on('SIGTERM', listener)
    return () => {
      source.off('SIGINT', listener)
      source.off('SIGTERM', listener)
    }
  }
}

/**
 * A logger whose groups (the phases of a run) throw InterruptedError when they end after an
 * interrupt, so the run stops at the next phase boundary and unwinds through its `finally`
 * blocks. A group's work always runs to its end first, so "Resuming containers" is never cut
 * short. (Streams still copying finish their object: see the report on RunContext.signal.)
 */
export function stoppingAtPhaseEnds(log: Logger, interruption: Interruption): Logger {
  return {
    debug: message => log.debug(message),
    info: message => log.info(message),
    warn: message => log.warn(message),
    group: async (title, fn) => {
      const value = await log.group(title, fn)
      interruption.throwIfRequested()
      return value
    }
  }
}

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
