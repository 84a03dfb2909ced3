/**
 * Fault injection and a call log shared by the fake engine and the fake store: every call is
 * logged as `<call> <subject>[ <detail>]` in `events`, then runs the `before` hooks registered
 * for it, then fails if a `failOn` rule matches it.
 */

/** When a rule applies: on the `nth` matching call only, or on the first `times` ones. */
export interface FaultOptions {
  /** Fail only the Nth matching call (1-based). */
  nth?: number
  /** Fail this many matching calls, then let the rest through (default: all of them). */
  times?: number
  /** For calls that carry a stream: let this many bytes through, then fail the stream. */
  afterBytes?: number
}

/** A fault that fired: its error (undefined: the fake makes its usual one) and where. */
export interface FiredFault {
  error: Error | undefined
  afterBytes?: number
}

/**
 * Which calls a rule or hook applies to: a string is compared with the call's subject (the
 * container, volume, network or image name, or the store object `snapshotId/name`); a RegExp
 * matches when it fits the subject or the whole event line (`exec web sh -c pg_dump`).
 */
export type CallMatch = string | RegExp

export interface Call {
  call: string
  subject: string
  event: string
}

interface Fault {
  call: string
  match?: CallMatch
  error: Error | undefined
  options: FaultOptions
  seen: number
  fired: number
}

interface Hook {
  call: string
  match?: CallMatch
  fn: (call: Call) => void | Promise<void>
}

function matches(rule: { call: string; match?: CallMatch }, call: Call): boolean {
  if (rule.call !== call.call) return false
  if (rule.match === undefined) return true
  if (typeof rule.match === 'string') return rule.match === call.subject
  return rule.match.test(call.subject) || rule.match.test(call.event)
}

export class CallLog {
  /** Every call in order, e.g. `pauseContainer web`, `put snap-1/manifest.json`. */
  readonly events: string[] = []
  private readonly faults: Fault[] = []
  private readonly hooks: Hook[] = []

  fail(
    call: string,
    match: CallMatch | undefined,
    error: Error | undefined,
    options: FaultOptions
  ) {
    this.faults.push({ call, match, error, options, seen: 0, fired: 0 })
  }

  before(call: string, fn: (call: Call) => void | Promise<void>, match?: CallMatch) {
    this.hooks.push({ call, match, fn })
  }

  /** Logs the call, runs its hooks, and returns the fault to apply when a rule says so. */
  async enter(call: string, subject: string, detail?: string): Promise<FiredFault | undefined> {
    const entry: Call = {
      call,
      subject,
      event: detail === undefined ? `${call} ${subject}` : `${call} ${subject} ${detail}`
    }
    this.events.push(entry.event)
    for (const hook of this.hooks) if (matches(hook, entry)) await hook.fn(entry)
    for (const fault of this.faults) {
      if (!matches(fault, entry)) continue
      fault.seen++
      const { nth, times, afterBytes } = fault.options
      if (nth !== undefined && fault.seen !== nth) continue
      if (times !== undefined && fault.fired >= times) continue
      fault.fired++
      return { error: fault.error, afterBytes }
    }
    return undefined
  }
}

/** The error a run under test rejects with, or undefined when it succeeds. */
export function failureOf(run: Promise<unknown>): Promise<Error | undefined> {
  return run.then(
    () => undefined,
    (error: unknown) => error as Error
  )
}
