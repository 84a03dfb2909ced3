/**
 * The one way a run is stopped early, for the CLI (Ctrl-C) and the action (a cancelled
 * workflow) alike: SIGINT or SIGTERM aborts an AbortSignal that every mode takes, and each mode
 * unwinds through its own `finally` blocks: containers resumed, originals put back, nothing half
 * written published.
 */
import { InterruptedError } from '../shared/errors.js'

export type SignalName = 'SIGINT' | 'SIGTERM'

/** process, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: SignalName, listener: (signal: NodeJS.Signals) => void): unknown
  off(event: SignalName, listener: (signal: NodeJS.Signals) => void): unknown
}

export interface InterruptHandlers {
  /** The first signal: the run has been asked to stop (the signal is aborted already). */
  first(signal: SignalName): void
  /** A later signal. */
  again(signal: SignalName): void
}

/** Whether, and by which signal, the run was asked to stop. */
export class Interruption {
  private readonly controller = new AbortController()
  private received: SignalName | undefined

  /** Aborted, with an InterruptedError, on the first signal: what the run is given. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  get requested(): SignalName | undefined {
    return this.received
  }

  /** Records a signal and aborts on the first; true if it is the first. */
  request(signal: SignalName): boolean {
    if (this.received) return false
    this.received = signal
    this.controller.abort(new InterruptedError(`interrupted by ${signal}`))
    return true
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
