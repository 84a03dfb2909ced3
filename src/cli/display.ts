/**
 * The CLI's own displays: a live line per transfer on a terminal, or JSON events for machines
 * (`--json`); off a terminal it shows the plain lines of app/progress.ts, as the action does.
 */
import type { Logger } from '../shared/log.js'
import type { Transfer, TransferListener } from '../shared/transfer.js'
import type { Display, DisplayOptions, Outcome } from '../app/progress.js'
import {
  HumanDisplay,
  PlainDisplay,
  REDRAW_INTERVAL_MS,
  TransferTracker,
  describeProgress
} from '../app/progress.js'

/** A terminal: one status line per active transfer, redrawn in place. */
export class TtyDisplay extends HumanDisplay {
  /** Lines of the live block now on screen (the cursor is at the end of its last line). */
  private drawn = 0
  private drawnAt = -Infinity

  protected line(text: string, prefix = ''): void {
    this.options.stderr.write(this.clearBlock() + prefix + this.mask(text) + '\n' + this.block())
  }

  protected transfer(transfer: Transfer): void {
    const { state } = this.tracker.update(transfer)
    if (transfer.done) {
      this.line(this.describeDone(state))
    } else if (this.now() - this.drawnAt >= REDRAW_INTERVAL_MS) {
      this.options.stderr.write(this.clearBlock() + this.block())
    }
  }

  protected stop(): void {
    this.options.stderr.write(this.clearBlock())
  }

  /** Moves to the first line of the live block, clearing each line on the way. */
  private clearBlock(): string {
    if (this.drawn === 0) return ''
    const clear = '\r\x1b[2K' + '\x1b[1A\x1b[2K'.repeat(this.drawn - 1)
    this.drawn = 0
    return clear
  }

  /** The live block, each line cut to the terminal's width so it never wraps. */
  private block(): string {
    const lines = [...this.tracker.active.values()].map(state => describeProgress(state))
    if (lines.length === 0) return ''
    // A pseudo-terminal may report 0 columns: treat that as unknown.
    const width = Math.max((this.options.stderr.columns || 80) - 1, 20)
    this.drawn = lines.length
    this.drawnAt = this.now()
    return lines.map(line => this.mask(line).slice(0, width)).join('\n')
  }
}

/** A secret inside JSON text may be escaped: mask the strings before they are serialized. */
function maskDeep(value: unknown, mask: (text: string) => string): unknown {
  if (typeof value === 'string') return mask(value)
  if (Array.isArray(value)) return value.map(item => maskDeep(item, mask))
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, maskDeep(item, mask)])
    )
  }
  return value
}

/** `--json`: one JSON object per line on stdout for every event, the result last. */
export class JsonDisplay implements Display {
  private readonly tracker: TransferTracker
  private readonly mask: (text: string) => string
  readonly log: Logger
  readonly onTransfer: TransferListener

  constructor(private readonly options: DisplayOptions) {
    this.mask = options.mask ?? (text => text)
    this.tracker = new TransferTracker(options.now ?? Date.now)
    this.log = {
      debug: message => this.emit({ event: 'log', level: 'debug', message }),
      info: message => this.emit({ event: 'log', level: 'info', message }),
      warn: message => this.emit({ event: 'log', level: 'warning', message }),
      group: async (title, fn) => {
        this.emit({ event: 'group', title })
        return fn()
      }
    }
    this.onTransfer = transfer => {
      const { state } = this.tracker.update(transfer)
      const rate = state.meter.bytesPerSecond
      this.emit({
        event: 'transfer',
        ...transfer,
        ...(rate !== undefined && { bytesPerSecond: Math.round(rate) })
      })
    }
  }

  notice(message: string): void {
    this.emit({ event: 'log', level: 'warning', message })
  }

  finish(outcome: Outcome): void {
    this.emit({
      event: 'result',
      command: outcome.command,
      ok: outcome.ok,
      exitCode: outcome.exitCode,
      ...(outcome.error && { error: outcome.error }),
      ...(outcome.result !== undefined && { result: outcome.result })
    })
  }

  private emit(event: Record<string, unknown>): void {
    // Round-trip first so that Dates and the like take their JSON form before masking.
    const plain = JSON.parse(JSON.stringify(event)) as unknown
    this.options.stdout.write(JSON.stringify(maskDeep(plain, this.mask)) + '\n')
  }
}

/** The display the streams call for: JSON when asked, live lines on a TTY, plain lines else. */
export function createDisplay(options: DisplayOptions): Display {
  if (options.json) return new JsonDisplay(options)
  if (options.stderr.isTTY) return new TtyDisplay(options)
  return new PlainDisplay(options)
}
