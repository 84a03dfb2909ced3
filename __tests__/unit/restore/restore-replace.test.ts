import { describe, expect, it } from 'vitest'
import { InterruptedError } from '../../../src/shared/errors.js'
import {
  ConflictError,
  ContainerHeldError,
  EngineError,
  HealthError,
  SnapshotError,
  StoreError
} from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import type { RestoreOptions } from '../../../src/restore/index.js'
import { restoreSnapshot } from '../../../src/restore/index.js'
import { Holds } from '../../../src/snapshot/holds.js'
import type { FakeEngine } from '../fakes/engine.js'
import { failureOf } from '../fakes/faults.js'
import { recordingLogger } from '../fakes/logger.js'
import { lookAround, restoreOptions, snapshottedShop } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

/**
 * The shop, snapshotted as snap-1; afterwards its database's data moves on and the web server
 * is paused: a replace that fails must bring back exactly that, not the snapshot's.
 */
async function driftedShop() {
  const { fake, store } = await snapshottedShop()
  fake.addVolume('shop-pgdata', [
    { name: 'base', type: 'directory' },
    { name: 'base/rows', content: '1\n2\n3\n4\n' },
    { name: 'base/since-the-snapshot', content: 'new' }
  ])
  await fake.engine.pauseContainer('shop-web')
  // Volumes the originals keep in use are emptied in place by a container of their image.
  fake.addImageFile('docker-snapshot-test/busybox:1', '/bin/sh')
  return { fake, store }
}

/** Restore options for snap-1 in place of the originals (on-conflict replace). */
function replaceOptions(overrides: Partial<RestoreOptions> = {}): RestoreOptions {
  return restoreOptions({ onConflict: 'replace', prefix: '', ...overrides })
}

interface ReplaceFailure {
  case: string
  arrange: (fake: FakeEngine, store: FakeStore, interrupt: AbortController) => unknown
  error: new (...args: never[]) => Error
  step: string
  says?: string
}

const sigterm = (interrupt: AbortController) => () =>
  interrupt.abort(new InterruptedError('interrupted by SIGTERM'))

// One row a way a replace fails: rows alike but for their values are the table, not copies.
const cases: ReplaceFailure[] = [
  {
    case: 'copying a volume aside fails',
    arrange: fake => fake.failOn('copyVolume', 'shop-pgdata'),
    error: EngineError,
    step: 'volumes'
  },
  {
    case: 'emptying a volume in place fails',
    arrange: fake => fake.failOn('emptyVolume', 'shop-pgdata', undefined, { times: 1 }),
    error: EngineError,
    step: 'volumes'
  },
  {
    case: 'writing a volume fails',
    arrange: fake => fake.failOn('writeVolume', 'shop-pgdata'),
    error: EngineError,
    step: 'volumes'
  },
  {
    case: 'a prune removes an archive while it is restored',
    arrange: (_fake, store) =>
      // The first read verifies the archive; the second one feeds the engine.
      store.failOn(
        'get',
        'snap-1/volumes/shop-pgdata.tar.gz',
        new StoreError('snap-1/volumes/shop-pgdata.tar.gz does not exist'),
        { nth: 2 }
      ),
    error: StoreError,
    step: 'volumes'
  },
  {
    case: 'a replacement cannot be created',
    arrange: fake => fake.failOn('createContainer', 'shop-web'),
    error: EngineError,
    step: 'containers'
  },
  {
    case: 'a replacement does not start',
    arrange: fake => fake.failOn('startContainer', 'shop-db', undefined, { times: 1 }),
    error: EngineError,
    step: 'start'
  },
  {
    case: 'a replacement is not healthy within the wait timeout',
    arrange: fake => fake.healthOf('shop-web', 'starting'),
    error: HealthError,
    step: 'start'
  },
  {
    case: 'SIGTERM while a volume is written',
    arrange: (fake, _store, interrupt) =>
      fake.before('writeVolume', sigterm(interrupt), 'shop-pgdata'),
    error: SnapshotError,
    step: 'volumes',
    says: 'interrupted by SIGTERM.'
  },
  {
    case: 'SIGTERM while a volume is copied aside',
    arrange: (fake, _store, interrupt) =>
      fake.before('copyVolume', sigterm(interrupt), 'shop-html'),
    error: SnapshotError,
    step: 'volumes',
    says: 'interrupted by SIGTERM.'
  },
  {
    case: 'SIGTERM while the replacements start',
    arrange: (fake, _store, interrupt) =>
      fake.before('startContainer', sigterm(interrupt), 'shop-web'),
    error: SnapshotError,
    step: 'start',
    says: 'interrupted by SIGTERM.'
  }
]

describe('restoreSnapshot with on-conflict replace', () => {
  it.each(cases)(
    '$case: the originals are put back as they were, and the message says so',
    async ({ arrange, error, step, says }) => {
      const { fake, store } = await driftedShop()
      const interrupt = new AbortController()
      arrange(fake, store, interrupt)
      const before = await lookAround(fake)

      const failure = await failureOf(
        restoreSnapshot(
          fake.engine,
          store,
          replaceOptions({ signal: interrupt.signal }),
          recordingLogger().log
        )
      )

      expect(failure).toBeInstanceOf(error)
      expect(failure?.message).toContain(`stopped at step '${step}'`)
      expect(failure?.message).toContain('The originals were put back as they were: ')
      expect(failure?.message).not.toContain('Could not put back')
      if (says) expect(failure?.message).toContain(says)
      // Same containers (ids) under the same names and states, the drifted data, no aside copy.
      expect(await lookAround(fake)).toEqual(before)
    }
  )

  it('refuses before changing anything when a volume kept in use cannot be emptied (no /bin/sh)', async () => {
    const { fake, store } = await snapshottedShop()
    const before = await lookAround(fake)
    const eventsBefore = fake.events.length

    const failure = await failureOf(
      restoreSnapshot(fake.engine, store, replaceOptions(), recordingLogger().log)
    )

    expect(failure).toBeInstanceOf(ConflictError)
    expect(failure?.message).toMatch(
      /^Cannot replace volume shop-\w+ in place: shop-\w+ keep it in use while they are set aside, and their image sha256:\w+ has no \/bin\/sh to empty it with\. Nothing was changed\. Remove shop-\w+ yourself/
    )
    expect(failure?.message).toContain('no container, volume or network was changed')
    expect(
      fake.events
        .slice(eventsBefore)
        .filter(e => /^(stop|rename|create|remove)(?!\w* docker-snapshot-hold-)/.test(e))
    ).toEqual([])
    expect(await lookAround(fake)).toEqual(before)
  })

  it('refuses before changing anything to stop a container the engine removes when it stops', async () => {
    const { fake, store } = await driftedShop()
    fake.container('shop-db').HostConfig.AutoRemove = true
    const before = await lookAround(fake)
    const eventsBefore = fake.events.length

    const failure = await failureOf(
      restoreSnapshot(fake.engine, store, replaceOptions(), recordingLogger().log)
    )

    expect(failure).toBeInstanceOf(ConflictError)
    expect(failure?.message).toContain(
      'Cannot replace container shop-db: the engine removes it when it stops (AutoRemove), so ' +
        'it cannot be kept aside. Nothing was changed.'
    )
    expect(
      fake.events
        .slice(eventsBefore)
        .filter(e => /^(stop|rename|create|remove)(?!\w* docker-snapshot-hold-)/.test(e))
    ).toEqual([])
    expect(await lookAround(fake)).toEqual(before)
  })

  it('keeps what it could not put back aside, names it, and leaves its container stopped', async () => {
    const { fake, store } = await driftedShop()
    fake.failOn('writeVolume', 'shop-pgdata')
    // Copying an aside volume back fails: only the copies whose source is an aside volume.
    fake.failOn('copyVolume', /^shop-pgdata-aside-/)
    const before = await lookAround(fake)

    const failure = await failureOf(
      restoreSnapshot(fake.engine, store, replaceOptions(), recordingLogger().log)
    )

    const run = /shop-pgdata-aside-([0-9a-f]{6})/.exec(failure?.message ?? '')?.[1]
    expect(run, failure?.message).toBeDefined()
    expect(failure?.message).toContain(
      `Could not put back: volume shop-pgdata (copy volume shop-pgdata-aside-${run} to ` +
        `shop-pgdata failed: injected fault): its original contents are in volume ` +
        `shop-pgdata-aside-${run}; container shop-db stays stopped as shop-db-aside-${run}, ` +
        'since its volume shop-pgdata could not be put back.'
    )
    expect(failure?.message).toContain("README's 'If a replace is cut short'")
    expect(failure?.message).toContain('container shop-web (paused)')
    // Nothing was lost: the original data waits in the aside volume (marked whole), its
    // container beside it.
    const kept = [...(await fake.volumeFiles(`shop-pgdata-aside-${run}`))]
    expect(
      Object.fromEntries(kept.map(([name, content]) => [name.replace(/^volume\//, ''), content]))
    ).toEqual(before.contents['shop-pgdata'])
    expect(kept.every(([name]) => name.startsWith('volume/'))).toBe(true)
    expect(fake.events).toContain(`markVolume shop-pgdata-aside-${run} complete`)
    expect(fake.container(`shop-db-aside-${run}`).Id).toBe(before.ids['shop-db'])
    expect(fake.states()).toEqual({ [`shop-db-aside-${run}`]: 'exited', 'shop-web': 'paused' })
  })

  it('removes the originals and their aside copies only once the replacements run', async () => {
    const { fake, store } = await driftedShop()
    const before = await lookAround(fake)
    const { log, lines } = recordingLogger()

    const report = await restoreSnapshot(fake.engine, store, replaceOptions(), log)

    expect(report.replaced.sort()).toEqual([
      'container shop-db',
      'container shop-web',
      'volume shop-html',
      'volume shop-pgdata'
    ])
    const after = await lookAround(fake)
    expect(after.containers).toEqual(['shop-db', 'shop-web'])
    expect(after.volumes).toEqual(['shop-html', 'shop-pgdata'])
    expect(after.states).toEqual({ 'shop-db': 'running', 'shop-web': 'running' })
    expect(after.ids['shop-db']).not.toBe(before.ids['shop-db'])
    expect(after.contents['shop-pgdata']).toEqual({ 'base/rows': '1\n2\n3\n' })
    // The order that makes it safe: set aside, replaced, proven, and only then removed.
    const events = fake.events
    const settled = events.findIndex(e => e.startsWith('waitHealthy shop-web'))
    const removed = events.findIndex(e => /^removeContainer shop-db-aside-/.test(e))
    expect(events.findIndex(e => e.startsWith('removeVolume'))).toBeGreaterThan(settled)
    expect(removed).toBeGreaterThan(settled)
    expect(lines.join('\n')).toMatch(/container shop-db: stopped and kept aside as shop-db-aside-/)
  })

  it('reads the state of a container to replace once a snapshot that paused it is done', async () => {
    const { fake, store } = await driftedShop()
    const db = fake.container('shop-db').Id
    const snapshotRun = new Holds(fake.engine, silentLogger, {
      snapshotId: 'snap-2',
      hookTimeoutMs: 1000,
      waitMs: 0
    })
    await snapshotRun.acquire([{ id: db, name: 'shop-db' }])
    await fake.engine.pauseContainer(db)
    // The snapshot resumes shop-db and lets it go while the restore waits for it.
    const done = new Promise<void>(resolve =>
      setTimeout(() => {
        void fake.engine
          .unpauseContainer(db)
          .then(() => snapshotRun.release(db))
          .then(resolve)
      }, 100)
    )

    const report = await restoreSnapshot(
      fake.engine,
      store,
      replaceOptions({ holdWaitMs: 5000 }),
      recordingLogger().log
    )
    await done

    expect(report.replaced).toContain('container shop-db')
    expect(fake.states()).toEqual({ 'shop-db': 'running', 'shop-web': 'running' })
    expect(fake.names.containers).toEqual(['shop-db', 'shop-web'])
  })

  it('waits for a snapshot that holds a container to replace, then fails touching nothing', async () => {
    const { fake, store } = await driftedShop()
    // A concurrent snapshot run holds shop-web (it paused it for its commit).
    const snapshotRun = new Holds(fake.engine, silentLogger, {
      snapshotId: 'snap-2',
      hookTimeoutMs: 1000,
      waitMs: 0
    })
    await snapshotRun.acquire([{ id: fake.container('shop-web').Id, name: 'shop-web' }])
    const before = await lookAround(fake)
    const eventsBefore = fake.events.length

    const failure = await failureOf(
      restoreSnapshot(fake.engine, store, replaceOptions({ holdWaitMs: 50 }), recordingLogger().log)
    )

    expect(failure).toBeInstanceOf(ContainerHeldError)
    expect(failure?.message).toContain(
      'shop-web is held by the docker-snapshot run of snapshot snap-2'
    )
    expect(failure?.message).toContain('no container, volume or network was changed')
    expect(
      fake.events
        .slice(eventsBefore)
        .filter(e => /^(stop|unpause|rename|create(Volume|Container)|copy|remove)/.test(e))
    ).toEqual(
      // Only the hold the restore took on shop-db meanwhile (if it came first in id order).
      fake.events.slice(eventsBefore).filter(e => /^removeContainer docker-snapshot-hold-/.test(e))
    )
    expect(await lookAround(fake)).toEqual(before)

    // Once the snapshot is done, the replace goes ahead, and leaves no hold behind.
    await snapshotRun.release(fake.container('shop-web').Id)
    await restoreSnapshot(fake.engine, store, replaceOptions(), silentLogger)
    expect(fake.names.containers).toEqual(['shop-db', 'shop-web'])
  })

  describe('a volume no container mounts (removed, not emptied)', () => {
    async function looseVolume() {
      const { fake, store } = await snapshottedShop()
      await fake.engine.removeContainer('shop-web', { force: true })
      fake.addVolume('shop-html', [{ name: 'index.html', content: '<h1>drifted</h1>' }], {
        labels: { tier: 'web' }
      })
      return { fake, store }
    }

    it('comes back with its contents and labels when writing it fails', async () => {
      const { fake, store } = await looseVolume()
      fake.failOn('writeVolume', 'shop-html')
      const before = await lookAround(fake)

      const failure = await failureOf(
        restoreSnapshot(
          fake.engine,
          store,
          replaceOptions({ volumes: ['shop-html'] }),
          recordingLogger().log
        )
      )

      expect(failure).toBeInstanceOf(EngineError)
      expect(failure?.message).toContain(
        'Created so far and removed again: volume shop-html. The originals were put back as ' +
          'they were: volume shop-html (contents copied back).'
      )
      expect(await lookAround(fake)).toEqual(before)
    })

    it('is replaced by the snapshot’s, its aside copy removed', async () => {
      const { fake, store } = await looseVolume()
      const report = await restoreSnapshot(
        fake.engine,
        store,
        replaceOptions({ volumes: ['shop-html'] }),
        silentLogger
      )
      expect(report.replaced).toEqual(['volume shop-html'])
      expect(fake.names.volumes).toEqual(['shop-html', 'shop-pgdata'])
      expect(Object.fromEntries(await fake.volumeFiles('shop-html'))).toEqual({
        'index.html': '<h1>shop</h1>'
      })
    })
  })
})
