/** Streams, options and transfers for tests of the displays (app/progress.ts, cli/display.ts). */
import type { DisplayOptions, TextStream } from '../../../src/app/progress.js'

export const MiB = 1024 * 1024

export class FakeStream implements TextStream {
  readonly writes: string[] = []
  constructor(
    readonly isTTY = false,
    readonly columns?: number
  ) {}
  write(text: string): boolean {
    this.writes.push(text)
    return true
  }
  get text(): string {
    return this.writes.join('')
  }
}

export function setup(overrides: Partial<DisplayOptions> = {}, tty = false) {
  const clock = { now: 0 }
  const stdout = new FakeStream()
  const stderr = new FakeStream(tty, 80)
  const options: DisplayOptions = {
    json: false,
    quiet: false,
    stdout,
    stderr,
    now: () => clock.now,
    ...overrides
  }
  return { clock, stdout, stderr, options }
}

export const volume = (bytes: number, done = false, totalBytes?: number) => ({
  kind: 'volume' as const,
  name: 'pgdata',
  bytes,
  done,
  ...(totalBytes !== undefined && { totalBytes })
})
