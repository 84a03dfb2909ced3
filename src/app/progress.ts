/**
 * What a user sees while a run works: periodic lines in a workflow log, a file or a pipe (the
 * action's display, and the CLI's off a terminal; the CLI's live and JSON displays build on this,
 * in cli/display.ts). Every byte of output passes through `mask`, so no secret reaches a screen
 * or a log.
 */
import type { Logger } from '../shared/log.js'
import { formatBytes } from '../shared/format.js'
import type { Transfer, TransferListener } from '../shared/transfer.js'

/** Where text goes: process.stdout/stderr, or a fake in tests. */
export interface TextStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

/** How a run ended, for the last thing a display shows. */
export interface Outcome {
  command: string
  exitCode: number
  ok: boolean
  /** The machine-readable result (for --json). */
  result?: unknown
  error?: { name: string; message: string }
  /** What a person reads on stdout: a summary or a table. */
  text?: string
}

export interface Display {
  readonly log: Logger
  readonly onTransfer: TransferListener
  /** A line that must be seen even with --quiet (an interrupt, what is left to do by hand). */
  notice(message: string): void
  /** Ends the display (live lines cleared) and shows the outcome. */
  finish(outcome: Outcome): void
}

export interface DisplayOptions {
  json: boolean
  quiet: boolean
  stdout: TextStream
  stderr: TextStream
  /** Milliseconds; injectable so tests control rates and timing. */
  now?: () => number
  /** Replaces secrets in text; identity by default. */
  mask?: (text: string) => string
}

/** TTY status lines are redrawn at most this often. */
export const REDRAW_INTERVAL_MS = 100
/** Without a TTY, a long transfer prints a line this often. */
export const PLAIN_INTERVAL_MS = 5000
/** The rate follows new samples with this time constant: steady, yet quick to follow a change. */
const RATE_TIME_CONSTANT_MS = 2000
/** Samples closer than this are too short to measure a rate from. */
const RATE_MIN_SAMPLE_MS = 200

/** Bytes per second, smoothed exponentially over time. */
export class RateMeter {
  private lastAt: number
  private lastBytes: number
  private smoothed: number | undefined

  constructor(startedAt: number, startBytes = 0) {
    this.lastAt = startedAt
    this.lastBytes = startBytes
  }

  update(bytes: number, now: number): void {
    const elapsed = now - this.lastAt
    if (elapsed < RATE_MIN_SAMPLE_MS) return
    const instant = ((bytes - this.lastBytes) * 1000) / elapsed
    this.smoothed =
      this.smoothed === undefined
        ? instant
        : this.smoothed +
          (1 - Math.exp(-elapsed / RATE_TIME_CONSTANT_MS)) * (instant - this.smoothed)
    this.lastAt = now
    this.lastBytes = bytes
  }

  /** Undefined until enough time has passed to measure. */
  get bytesPerSecond(): number | undefined {
    return this.smoothed
  }
}

/** `0:07`, `12:30`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds))
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = String(whole % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

interface TransferState {
  kind: Transfer['kind']
  name: string
  startedAt: number
  bytes: number
  totalBytes?: number
  meter: RateMeter
  /** When a line about it was last written (plain display). */
  printedAt: number
}

/** Follows transfers by kind and name, measuring each one's rate. */
export class TransferTracker {
  readonly active = new Map<string, TransferState>()

  constructor(private readonly now: () => number) {}

  /** The transfer's state, and whether this event started it. */
  update(transfer: Transfer): { state: TransferState; started: boolean } {
    const key = `${transfer.kind}:${transfer.name}`
    const now = this.now()
    let state = this.active.get(key)
    const started = state === undefined
    if (state === undefined) {
      state = {
        kind: transfer.kind,
        name: transfer.name,
        startedAt: now,
        bytes: 0,
        meter: new RateMeter(now),
        printedAt: now
      }
      this.active.set(key, state)
    }
    state.bytes = transfer.bytes
    if (transfer.totalBytes !== undefined) state.totalBytes = transfer.totalBytes
    state.meter.update(transfer.bytes, now)
    if (transfer.done) this.active.delete(key)
    return { state, started }
  }
}

/** `volume pgdata: 120.0 MiB of 300.0 MiB (40%), 40.0 MiB/s, ETA 0:05` */
export function describeProgress(state: TransferState): string {
  const rate = state.meter.bytesPerSecond
  let line = `${state.kind} ${state.name}: ${formatBytes(state.bytes)}`
  if (state.totalBytes) {
    const percent = Math.min(100, Math.floor((state.bytes * 100) / state.totalBytes))
    line += ` of ${formatBytes(state.totalBytes)} (${percent}%)`
  }
  if (rate !== undefined) {
    line += `, ${formatBytes(rate)}/s`
    if (state.totalBytes && rate > 0 && state.bytes < state.totalBytes) {
      line += `, ETA ${formatDuration((state.totalBytes - state.bytes) / rate)}`
    }
  }
  return line
}

/** `volume pgdata: 286.1 MiB in 6.3 s (45.4 MiB/s)` */
function describeDone(state: TransferState, now: number): string {
  const seconds = Math.max(now - state.startedAt, 1) / 1000
  return (
    `${state.kind} ${state.name}: ${formatBytes(state.bytes)} in ${seconds.toFixed(1)} s ` +
    `(${formatBytes(state.bytes / seconds)}/s)`
  )
}

/** Lines for people on stderr (with a live block on a TTY), the outcome on stdout. */
export abstract class HumanDisplay implements Display {
  protected readonly tracker: TransferTracker
  protected readonly now: () => number
  protected readonly mask: (text: string) => string
  readonly log: Logger
  readonly onTransfer: TransferListener

  constructor(protected readonly options: DisplayOptions) {
    this.now = options.now ?? Date.now
    this.mask = options.mask ?? (text => text)
    this.tracker = new TransferTracker(this.now)
    const quiet = options.quiet
    this.log = {
      debug: () => undefined,
      info: message => {
        if (!quiet) this.line(message)
      },
      warn: message => this.line(message, 'warning: '),
      group: async (title, fn) => {
        if (!quiet) this.line(title, '==> ')
        return fn()
      }
    }
    this.onTransfer = transfer => {
      if (!quiet) this.transfer(transfer)
    }
  }

  /**
   * Writes one finished line to stderr: `prefix` (the display's own, never masked, so a secret
   * cannot blank the line's structure) and `text` (masked).
   */
  protected abstract line(text: string, prefix?: string): void
  protected abstract transfer(transfer: Transfer): void
  /** Clears whatever is live; transfers still active are reported as stopped. */
  protected abstract stop(): void

  notice(message: string): void {
    this.line(message)
  }

  finish(outcome: Outcome): void {
    const stopped = [...this.tracker.active.values()]
    this.tracker.active.clear()
    this.stop()
    for (const state of stopped) {
      this.line(`${state.kind} ${state.name}: stopped after ${formatBytes(state.bytes)}`)
    }
    if (outcome.error) this.line(outcome.error.message, 'error: ')
    if (outcome.text) this.options.stdout.write(this.mask(outcome.text))
  }

  protected describeDone(state: TransferState): string {
    return describeDone(state, this.now())
  }
}

/** A pipe or a file: no control characters; a line per start, every few seconds, and at the end. */
export class PlainDisplay extends HumanDisplay {
  protected line(text: string, prefix = ''): void {
    this.options.stderr.write(prefix + this.mask(text) + '\n')
  }

  protected transfer(transfer: Transfer): void {
    const { state, started } = this.tracker.update(transfer)
    if (transfer.done) {
      this.line(this.describeDone(state))
    } else if (started) {
      this.line(`${state.kind} ${state.name}: started`)
    } else if (this.now() - state.printedAt >= PLAIN_INTERVAL_MS) {
      state.printedAt = this.now()
      this.line(describeProgress(state))
    }
  }

  protected stop(): void {}
}
