import { describe, expect, it } from 'vitest'
import { SnapshotError, StoreError } from '../../../src/shared/errors.js'
import type { InputName } from '../../../src/app/inputs.js'
import { silentLogger } from '../../../src/shared/log.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import type { RunBoundaries } from '../../../src/app/runner.js'
import { drill, execute } from '../../../src/app/runner.js'
import type { Settings } from '../../../src/app/settings.js'
import { readSettings } from '../../../src/app/settings.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import type { FakeEngine } from '../fakes/engine.js'
import { shopScene, snapshottedShop, shopSnapshot } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

function settings(inputs: Partial<Record<InputName, string>>): Settings {
  return readSettings(name => inputs[name] ?? '')
}

/** Boundaries that hand out the fakes and note how the store was opened. */
function boundaries(fake: FakeEngine, store: FakeStore, opened: string[], fail?: Error) {
  const given: RunBoundaries = {
    engine: () => fake.engine,
    openStore: (spec, access) => {
      opened.push(`${spec.kind === 'directory' ? spec.path : spec.kind} ${access}`)
      return fail ? Promise.reject(fail) : Promise.resolve(store)
    },
    now: () => new Date()
  }
  return given
}

const context = { log: silentLogger }

/** Restores snap-1 as copies named `copy-…`. */
const restoreCopy = (fake: FakeEngine, store: FakeStore) =>
  execute(
    settings({
      mode: 'restore',
      store: '/srv/snapshots',
      prefix: 'copy-',
      'snapshot-id': 'snap-1'
    }),
    context,
    boundaries(fake, store, [])
  )

describe('execute', () => {
  it.each<{ mode: string; inputs: Partial<Record<InputName, string>>; access: string }>([
    {
      mode: 'snapshot',
      inputs: { 'compose-project': 'shop', 'snapshot-id': 'snap-2', compression: 'gzip' },
      access: 'write'
    },
    { mode: 'restore', inputs: { prefix: 'copy-' }, access: 'read' },
    { mode: 'verify', inputs: {}, access: 'read' },
    { mode: 'prune', inputs: { keep: '1' }, access: 'read' }
  ])('opens the store for $access in $mode mode, once', async ({ mode, inputs, access }) => {
    const { fake, store } = await snapshottedShop()
    const opened: string[] = []
    const result = await execute(
      settings({ mode, store: '/srv/snapshots', ...inputs }),
      context,
      boundaries(fake, store, opened)
    )
    expect(result.mode).toBe(mode)
    expect(opened).toEqual([`/srv/snapshots ${access}`])
  })

  it('passes on a store that cannot be opened, before the engine is asked anything', async () => {
    const { fake, store } = shopScene()
    const refusal = new StoreError('store path /srv/snapshots is not writable')
    await expect(
      execute(
        settings({ mode: 'snapshot', store: '/srv/snapshots', 'compose-project': 'shop' }),
        context,
        boundaries(fake, store, [], refusal)
      )
    ).rejects.toBe(refusal)
    expect(fake.events).toEqual([])
  })

  it('passes on a failing snapshot with its type, every container running again', async () => {
    const { fake, store } = shopScene()
    fake.failOn('commitContainer', 'shop-db')
    const failure = await execute(
      settings({
        mode: 'snapshot',
        store: '/srv/snapshots',
        'compose-project': 'shop',
        'snapshot-id': 'snap-1',
        compression: 'gzip'
      }),
      context,
      boundaries(fake, store, [])
    ).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(failure).toBeInstanceOf(SnapshotError)
    expect(failure?.message).toMatch(/commit container/)
    expect(fake.events).toContain('pauseContainer shop-db')
    expect(Object.values(fake.states())).toEqual(['running', 'running'])
    expect(store.object('snap-1', MANIFEST_FILE)).toBeUndefined()
  })

  it('passes on a failing restore, removing what it created', async () => {
    const { fake, store } = await snapshottedShop()
    fake.failOn('startContainer', 'copy-shop-web')
    const before = fake.names
    await expect(
      execute(
        settings({ mode: 'restore', store: '/srv/snapshots', prefix: 'copy-' }),
        context,
        boundaries(fake, store, [])
      )
    ).rejects.toThrow(/stopped at step 'start'/)
    expect(fake.names.containers).toEqual(before.containers)
    expect(fake.names.volumes).toEqual(before.volumes)
  })
})

describe('holding what restore and verify read', () => {
  it.each([
    { mode: 'verify', inputs: {} },
    { mode: 'restore', inputs: { prefix: 'copy-' } }
  ])(
    '$mode of latest holds the snapshot it resolves to while it reads, then releases it',
    async ({ mode, inputs }) => {
      const { fake, store } = await snapshottedShop()
      const heldAtRead: boolean[] = []
      // Resolving `latest` reads manifests first; every read from the hold on must be under it.
      store.before('get', () => {
        if (store.events.includes('hold snap-1')) heldAtRead.push(store.isHeld('snap-1'))
      })
      await execute(
        settings({ mode, store: '/srv/snapshots', ...inputs }),
        context,
        boundaries(fake, store, [])
      )
      expect(heldAtRead.length).toBeGreaterThan(0)
      expect(heldAtRead.every(Boolean)).toBe(true)
      expect(store.isHeld('snap-1')).toBe(false)
    }
  )

  it('releases the hold when the run fails', async () => {
    const { fake, store } = await snapshottedShop()
    fake.failOn('startContainer', 'copy-shop-web')
    await expect(restoreCopy(fake, store)).rejects.toThrow()
    expect(store.isHeld('snap-1')).toBe(false)
  })

  it('a prune meanwhile leaves the snapshot being restored, and says so', async () => {
    const { fake, store } = await snapshottedShop()
    await takeSnapshot(fake.engine, store, shopSnapshot({ snapshotId: 'snap-2' }), silentLogger)
    let pruning: ReturnType<typeof execute> | undefined
    store.before('get', call => {
      if (!pruning && call.subject.startsWith('snap-1/volumes/')) {
        pruning = execute(
          settings({ mode: 'prune', store: '/srv/snapshots', keep: '1' }),
          context,
          boundaries(fake, store, [])
        )
      }
    })
    await restoreCopy(fake, store)
    const pruned = await pruning!
    expect(pruned).toMatchObject({
      mode: 'prune',
      prune: {
        removed: [],
        skipped: [
          {
            snapshotId: 'snap-1',
            reason: 'a restore or verify is reading it now; run prune again later'
          }
        ]
      }
    })
    expect(store.snapshotIds).toEqual(['snap-1', 'snap-2'])
  })
})

describe('drill', () => {
  it('passes on a failing step; the snapshot is written through the store opened for write', async () => {
    const { fake, store } = shopScene()
    fake.answerExec(/^dsv-.*shop-db$/, /count/, { exitCode: 1, output: 'relation missing' })
    const opened: string[] = []
    await expect(
      drill(
        settings({
          mode: 'snapshot',
          store: '/srv/snapshots',
          'compose-project': 'shop',
          'snapshot-id': 'snap-9',
          compression: 'gzip',
          'drill-container': 'db',
          'drill-command': 'count'
        }),
        context,
        { demo: false, destroy: false },
        boundaries(fake, store, opened)
      )
    ).rejects.toThrow(
      /drill check "drill command" in dsv-\w+-shop-db exited with 1: relation missing/
    )
    expect(opened).toEqual(['/srv/snapshots write'])
    expect(store.objects('snap-9')).toContain(MANIFEST_FILE)
    expect(fake.states()['shop-db']).toBe('running')
  })
})
