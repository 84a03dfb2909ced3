import { describe, expect, it } from 'vitest'
import { tryEach } from '../../../src/shared/cleanup.js'
import { SnapshotError } from '../../../src/shared/errors.js'

describe('tryEach', () => {
  it('runs every step in order after a failure and says what is left, and why', async () => {
    const ran: string[] = []
    const done: string[] = []
    const step = (what: string, fail?: unknown) => ({
      what,
      run: async () => {
        ran.push(what)
        if (fail !== undefined) throw fail
      }
    })
    const left = await tryEach(
      [
        step('container web', new SnapshotError('in use', { cause: new Error('busy') })),
        step('volume data'),
        step('network net', 'refused'),
        step('volume cache')
      ],
      what => done.push(what)
    )
    expect(ran).toEqual(['container web', 'volume data', 'network net', 'volume cache'])
    expect(done).toEqual(['volume data', 'volume cache'])
    expect(left).toEqual(['container web (in use (busy))', 'network net (refused)'])
  })

  it('runs nothing it is not given and leaves nothing', async () => {
    expect(await tryEach([])).toEqual([])
  })

  it('starts a step only when the one before it has finished', async () => {
    const order: string[] = []
    let release!: () => void
    const first = new Promise<void>(resolve => (release = resolve))
    const running = tryEach([
      { what: 'a', run: () => first.then(() => order.push('a done')) },
      { what: 'b', run: async () => order.push('b') }
    ])
    await Promise.resolve()
    expect(order).toEqual([])
    release()
    expect(await running).toEqual([])
    expect(order).toEqual(['a done', 'b'])
  })
})
