import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Transfer } from '../../../src/shared/transfer.js'
import { throttleTransfers } from '../../../src/shared/transfer.js'

afterEach(() => {
  vi.useRealTimers()
})

const event = (name: string, bytes: number, done = false): Transfer => ({
  kind: 'volume',
  name,
  bytes,
  done
})

describe('throttleTransfers', () => {
  it('passes the first event, one per interval after it, and always the last', () => {
    vi.useFakeTimers()
    const seen: number[] = []
    const throttled = throttleTransfers(transfer => seen.push(transfer.bytes), 250)
    for (let bytes = 1; bytes <= 100; bytes++) {
      throttled(event('data', bytes))
      vi.advanceTimersByTime(10)
    }
    throttled(event('data', 101, true))
    // t=0 passes; then every 250 ms: t=250, 500, 750 (bytes 26, 51, 76); then the last.
    expect(seen).toEqual([1, 26, 51, 76, 101])
  })

  it('throttles each transfer on its own', () => {
    vi.useFakeTimers()
    const seen: string[] = []
    const throttled = throttleTransfers(t => seen.push(`${t.name}:${t.bytes}`), 250)
    throttled(event('a', 1))
    throttled(event('b', 1))
    throttled(event('a', 2))
    throttled(event('b', 2, true))
    throttled(event('b', 1))
    expect(seen).toEqual(['a:1', 'b:1', 'b:2', 'b:1'])
  })
})
