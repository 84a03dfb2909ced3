import { describe, expect, it } from 'vitest'
import { EngineError, InvalidSettingsError, StoreError } from '../../../src/shared/errors.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import { recordingLogger } from '../fakes/logger.js'
import { shopScene, shopSnapshot } from '../fakes/scene.js'

const EARLIER = { [MANIFEST_FILE]: 'earlier manifest', 'volumes/shop-pgdata.tar.gz': 'earlier' }

/** The shop scene with an earlier snapshot `snap-1` in the store (`objects`, or a complete one). */
function sceneWithEarlier(objects: Record<string, string> = EARLIER) {
  const { fake, store } = shopScene()
  for (const [name, content] of Object.entries(objects)) store.seed('snap-1', name, content)
  const contents = () =>
    Object.fromEntries(store.objects('snap-1').map(n => [n, store.object('snap-1', n)?.toString()]))
  /** Takes `snap-1` of the shop scene into that store. */
  const take = (options?: Parameters<typeof shopSnapshot>[0]) =>
    takeSnapshot(fake.engine, store, shopSnapshot(options), recordingLogger().log)
  return { fake, store, before: contents(), contents, take }
}

describe('takeSnapshot with an id the store already holds', () => {
  it.each([
    { kind: 'complete', objects: EARLIER },
    { kind: 'incomplete (no manifest)', objects: { 'volumes/shop-pgdata.tar.gz': 'earlier' } }
  ])('refuses an $kind one up front: nothing paused, written or removed', async ({ objects }) => {
    const { fake, store, before, contents, take } = sceneWithEarlier(objects)
    const failure = await take().catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(InvalidSettingsError)
    expect((failure as Error).message).toBe(
      "Snapshot id 'snap-1' is taken in fake store: nothing was touched. Choose another " +
        'snapshot id, or replace that snapshot with replace-snapshot: true ' +
        '(--replace-snapshot); it is removed only once the new one is whole.'
    )
    expect(fake.events).toEqual([])
    expect(store.events).toEqual(['list store'])
    expect(contents()).toEqual(before)
  })

  it('with replaceExisting, a run that fails midway leaves the earlier one as it was', async () => {
    const { fake, store, before, contents, take } = sceneWithEarlier()
    fake.failOn('readVolume', 'shop-pgdata')
    const failure = await take({ replaceExisting: true }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(EngineError)
    // It had written the other volume aside before it failed.
    expect(store.events).toContain('put snap-1/volumes/shop-html.tar.gz')
    expect(store.events).not.toContain('publish snap-1')
    expect(contents()).toEqual(before)
    expect(store.stagedIds).toEqual([])
    expect(Object.values(fake.states())).toEqual(['running', 'running'])
  })

  it('with replaceExisting, a failed publish leaves the earlier one and removes the new', async () => {
    const { store, before, contents, take } = sceneWithEarlier()
    store.failOn('publish', 'snap-1')
    const failure = await take({ replaceExisting: true }).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(StoreError)
    expect(contents()).toEqual(before)
    expect(store.stagedIds).toEqual([])
  })

  it('with replaceExisting, a whole new snapshot takes the place of the earlier one', async () => {
    const { store, take } = sceneWithEarlier()
    const report = await take({ replaceExisting: true })
    expect(store.snapshotIds).toEqual(['snap-1'])
    expect(store.object('snap-1', MANIFEST_FILE)?.toString()).toBe(
      `${JSON.stringify(report.manifest, null, 2)}\n`
    )
    expect(store.object('snap-1', 'volumes/shop-pgdata.tar.gz')?.toString()).not.toBe('earlier')
    // The manifest was written last, before the snapshot was published.
    const puts = store.events.filter(e => e.startsWith('put ') || e.startsWith('publish '))
    expect(puts.slice(-2)).toEqual([`put snap-1/${MANIFEST_FILE}`, 'publish snap-1'])
  })

  it('a new id is written aside and published only once whole', async () => {
    const { fake, store } = shopScene()
    await takeSnapshot(fake.engine, store, shopSnapshot(), recordingLogger().log)
    expect(store.events[0]).toBe('list store')
    expect(store.events[1]).toBe('begin snap-1')
    expect(store.events.at(-1)).toBe('publish snap-1')
    expect(store.snapshotIds).toEqual(['snap-1'])
    expect(store.stagedIds).toEqual([])
  })
})
