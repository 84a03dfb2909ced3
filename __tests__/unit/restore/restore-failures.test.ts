import { describe, expect, it } from 'vitest'
import {
  ConflictError,
  EngineError,
  HealthError,
  SnapshotError,
  StoreError
} from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import { restoreSnapshot } from '../../../src/restore/index.js'
import { FakeEngine } from '../fakes/engine.js'
import { failureOf } from '../fakes/faults.js'
import { recordingLogger } from '../fakes/logger.js'
import { lookAround, restoreOptions, snapshottedShop } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

/** The shop, snapshotted as snap-1, beside a container of someone else's. */
async function snapshotted() {
  const { fake, store } = await snapshottedShop()
  fake.addVolume('other-data', [{ name: 'keep.txt', content: 'mine' }])
  fake.addContainer({
    name: 'other',
    volumes: [{ name: 'other-data', destination: '/data' }],
    networks: ['other-net']
  })
  return { fake, store }
}

interface FailureCase {
  case: string
  /** On a new engine, where nothing of the shop exists (images must be loaded). */
  fresh?: boolean
  prefix?: string
  arrange: (fake: FakeEngine, store: FakeStore) => unknown
  error: new (...args: never[]) => Error
  step: string
  /** What the message says was created and removed again, if anything. */
  removed?: string[]
}

const cases: FailureCase[] = [
  {
    case: 'a name is taken (on-conflict fail)',
    prefix: '',
    arrange: () => undefined,
    error: ConflictError,
    step: 'plan'
  },
  {
    case: 'loading an image fails',
    fresh: true,
    prefix: '',
    arrange: fake => fake.failOn('loadImages'),
    error: EngineError,
    step: 'images'
  },
  {
    case: 'writing a volume fails',
    arrange: fake => fake.failOn('writeVolume', 'copy-shop-pgdata'),
    error: EngineError,
    step: 'volumes',
    removed: ['volume copy-shop-html', 'volume copy-shop-pgdata']
  },
  {
    case: 'the store breaks while a volume is written',
    arrange: (_fake, store) =>
      // The first read verifies the archive; the second one feeds the engine.
      store.failOn('get', 'snap-1/volumes/shop-pgdata.tar.gz', undefined, { nth: 2 }),
    error: StoreError,
    step: 'volumes',
    removed: ['volume copy-shop-pgdata']
  },
  {
    case: 'creating a network fails',
    arrange: fake => fake.failOn('createNetwork', 'copy-shop-net'),
    error: EngineError,
    step: 'networks',
    removed: ['volume copy-shop-pgdata']
  },
  {
    case: 'creating a container fails',
    arrange: fake => fake.failOn('createContainer', 'copy-shop-web'),
    error: EngineError,
    step: 'containers',
    removed: ['container copy-shop-db', 'network copy-shop-net']
  },
  {
    case: 'a container does not become healthy in time',
    arrange: fake => fake.healthOf('copy-shop-web', 'starting'),
    error: HealthError,
    step: 'start',
    removed: ['container copy-shop-web', 'container copy-shop-db']
  },
  {
    case: 'a container does not start',
    arrange: fake => fake.failOn('startContainer', 'copy-shop-db'),
    error: EngineError,
    step: 'start',
    removed: ['container copy-shop-web', 'volume copy-shop-html']
  }
]

describe('restoreSnapshot on failure (on-conflict fail)', () => {
  it('restores beside the originals without faults (the cases below fail only by their fault)', async () => {
    const { fake, store } = await snapshotted()
    const report = await restoreSnapshot(fake.engine, store, restoreOptions(), silentLogger)
    expect(report.containers.map(c => [c.target, c.state])).toEqual([
      ['copy-shop-db', 'running'],
      ['copy-shop-web', 'running']
    ])
    expect(Object.fromEntries(await fake.volumeFiles('copy-shop-pgdata'))).toEqual({
      'base/rows': '1\n2\n3\n'
    })
  })

  it.each(cases)(
    '$case: what it created is removed, nothing that existed is touched, the message names step $step',
    async ({ fresh, prefix, arrange, error, step, removed }) => {
      const { fake: source, store } = await snapshotted()
      const fake = fresh ? new FakeEngine() : source
      arrange(fake, store)
      const before = await lookAround(fake)
      const failure = await failureOf(
        restoreSnapshot(
          fake.engine,
          store,
          restoreOptions(prefix === undefined ? {} : { prefix }),
          recordingLogger().log
        )
      )

      expect(failure).toBeInstanceOf(error)
      expect(failure).toBeInstanceOf(SnapshotError)
      expect(failure?.message).toContain(`stopped at step '${step}'`)
      for (const what of removed ?? []) expect(failure?.message).toContain(what)
      expect(await lookAround(fake)).toEqual(before)
    }
  )
})
