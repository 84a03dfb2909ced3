import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { InputName } from '../../../src/app/inputs.js'
import type { RunBoundaries } from '../../../src/app/runner.js'
import { drill, execute } from '../../../src/app/runner.js'
import type { Settings } from '../../../src/app/settings.js'
import { readSettings } from '../../../src/app/settings.js'
import { main } from '../../../src/cli/main.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import { InterruptedError } from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import type { FakeEngine } from '../fakes/engine.js'
import type { CallMatch } from '../fakes/faults.js'
import { failureOf } from '../fakes/faults.js'
import { lookAround, shopScene, snapshottedShop, shopSnapshot } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

// Every mode stops the one way the CLI and the action stop it: the run's signal, aborted with an
// InterruptedError as a SIGINT handler aborts it. Each case aborts as one engine call begins.

function settings(inputs: Partial<Record<InputName, string>>): Settings {
  return readSettings(name => ({ store: '/srv/snapshots', ...inputs })[name] ?? '')
}

function boundaries(fake: FakeEngine, store: FakeStore): RunBoundaries {
  return { engine: () => fake.engine, openStore: async () => store, now: () => new Date() }
}

/** The run's signal, and a hook that aborts it as a SIGINT would. */
function interrupt() {
  const controller = new AbortController()
  const reason = new InterruptedError('interrupted by SIGINT')
  return { signal: controller.signal, reason, abort: () => controller.abort(reason) }
}

/** The shop, snapshotted as snap-1; then its database moves on. */
async function movedOnShop() {
  const { fake, store } = await snapshottedShop()
  fake.addVolume('shop-pgdata', [{ name: 'base/rows', content: 'moved on\n' }])
  // Volumes the originals keep in use are emptied in place by a container of their image.
  fake.addImageFile('docker-snapshot-test/busybox:1', '/bin/sh')
  return { fake, store }
}

const holdsLeft = (fake: FakeEngine) =>
  fake.names.containers.filter(name => name.startsWith('docker-snapshot-hold-'))
const throwawayLeft = (fake: FakeEngine) =>
  Object.values(fake.names)
    .flat()
    .filter(name => name.startsWith('dsv-'))

type Phase = { phase: string; call: Parameters<FakeEngine['before']>[0]; match?: CallMatch }

describe('an interrupted snapshot', () => {
  // One row a phase to interrupt: rows alike but for their values are the table, not copies.
  it.each<Phase>([
    { phase: 'finding what to snapshot', call: 'info' },
    { phase: 'holding containers', call: 'createLock' },
    { phase: 'quiescing', call: 'pauseContainer', match: 'shop-db' },
    { phase: 'committing', call: 'commitContainer', match: 'shop-db' },
    { phase: 'copying volumes', call: 'readVolume', match: 'shop-pgdata' },
    { phase: 'resuming', call: 'unpauseContainer', match: 'shop-db' },
    { phase: 'storing images', call: 'saveImages' }
  ])(
    'at $phase: fails with the interrupt, every container runs, nothing is published',
    async ({ call, match }) => {
      const { fake, store } = shopScene()
      const run = interrupt()
      fake.before(call, run.abort, match)
      const failure = await failureOf(
        execute(
          settings({ mode: 'snapshot', 'compose-project': 'shop', compression: 'gzip' }),
          { log: silentLogger, signal: run.signal },
          boundaries(fake, store)
        )
      )
      expect(failure).toBe(run.reason)
      expect(Object.values(fake.states())).toEqual(['running', 'running'])
      expect(await store.list()).toEqual([])
      expect(store.stagedIds).toEqual([])
      expect(holdsLeft(fake)).toEqual([])
      // Commits the run made are removed again.
      expect(
        fake.names.images.filter(image => image.startsWith('docker-snapshot/commits'))
      ).toEqual([])
    }
  )

  it('after its last safe point (the images are stored), is written whole', async () => {
    const { fake, store } = shopScene()
    const run = interrupt()
    fake.before('findNetwork', run.abort)
    const result = await execute(
      settings({ mode: 'snapshot', 'compose-project': 'shop', 'snapshot-id': 'whole' }),
      { log: silentLogger, signal: run.signal },
      boundaries(fake, store)
    )
    expect(result.mode).toBe('snapshot')
    expect(store.object('whole', MANIFEST_FILE)).toBeDefined()
  })
})

describe('an interrupted restore with on-conflict replace', () => {
  it.each<Phase & { step: string }>([
    { phase: 'planning', call: 'findNetwork', step: 'plan' },
    { phase: 'verifying archives', call: 'findImage', step: 'verify' },
    { phase: 'restoring images', call: 'loadImages', step: 'images' },
    { phase: 'setting the originals aside', call: 'stopContainer', step: 'volumes' },
    { phase: 'copying a volume aside', call: 'copyVolume', match: 'shop-pgdata', step: 'volumes' },
    { phase: 'writing a volume', call: 'writeVolume', match: 'shop-pgdata', step: 'volumes' },
    { phase: 'creating containers', call: 'createContainer', step: 'containers' },
    { phase: 'starting containers', call: 'startContainer', step: 'start' },
    { phase: 'waiting for health', call: 'waitHealthy', match: 'shop-web', step: 'start' }
  ])(
    'at $phase: fails with the interrupt, and everything is as it was',
    async ({ call, match, step }) => {
      const { fake, store } = await movedOnShop()
      const before = await lookAround(fake)
      const run = interrupt()
      fake.before(call, run.abort, match)
      const failure = await failureOf(
        execute(
          settings({ mode: 'restore', 'on-conflict': 'replace', 'snapshot-id': 'snap-1' }),
          { log: silentLogger, signal: run.signal },
          boundaries(fake, store)
        )
      )
      expect(failure?.message).toMatch(
        new RegExp(`^interrupted by SIGINT\\. Restore of snapshot snap-1 stopped at step '${step}'`)
      )
      expect(failure?.message).not.toContain('Could not put back')
      // The same containers (ids), states and data; no aside copy, no replacement left.
      expect(await lookAround(fake)).toEqual(before)
      expect(holdsLeft(fake)).toEqual([])
    }
  )
})

describe('an interrupted verify', () => {
  // One row a phase to interrupt: rows alike but for their values are the table, not copies.
  it.each<Phase>([
    { phase: 'checking images', call: 'findImage' },
    { phase: 'creating the throwaway copy', call: 'createVolume' },
    { phase: 'writing the throwaway copy', call: 'writeVolume', match: /shop-pgdata$/ },
    { phase: 'starting the throwaway copy', call: 'startContainer' }
  ])('at $phase: fails with the interrupt, not a report, and leaves no copy', async p => {
    const { fake, store } = await movedOnShop()
    const before = await lookAround(fake)
    const run = interrupt()
    fake.before(p.call, run.abort, p.match)
    const failure = await failureOf(
      execute(
        settings({ mode: 'verify', 'snapshot-id': 'snap-1', 'restore-check': 'true' }),
        { log: silentLogger, signal: run.signal },
        boundaries(fake, store)
      )
    )
    expect(failure?.message).toMatch(/^interrupted by SIGINT/)
    expect(throwawayLeft(fake)).toEqual([])
    expect(await lookAround(fake)).toEqual(before)
  })
})

describe('an interrupted prune', () => {
  it('stops between two removals: the one under way finishes, the next is not begun', async () => {
    const { fake, store } = shopScene()
    for (const id of ['snap-1', 'snap-2', 'snap-3']) {
      await takeSnapshot(fake.engine, store, shopSnapshot({ snapshotId: id }), silentLogger)
    }
    const run = interrupt()
    store.before('delete', run.abort)
    const failure = await failureOf(
      execute(
        settings({ mode: 'prune', keep: '1' }),
        { log: silentLogger, signal: run.signal },
        boundaries(fake, store)
      )
    )
    expect(failure).toBe(run.reason)
    expect((await store.list()).filter(s => s.hasManifest)).toHaveLength(2)
  })
})

describe('an interrupted drill', () => {
  const drillSettings = settings({
    mode: 'snapshot',
    'compose-project': 'shop',
    'snapshot-id': 'drill-1',
    'drill-container': 'shop-db',
    'drill-command': 'cat /var/lib/postgresql/data/base/rows'
  })

  it.each<Phase & { snapshot: boolean }>([
    { phase: 'asking the questions', call: 'exec', snapshot: false },
    { phase: 'the snapshot', call: 'pauseContainer', match: 'shop-db', snapshot: false },
    { phase: 'the restore beside', call: 'createContainer', snapshot: true },
    { phase: 'the restored copy starting', call: 'waitHealthy', snapshot: true }
  ])(
    'at $phase: fails with the interrupt, the originals run, no copy is left',
    async ({ call, match, snapshot }) => {
      const { fake, store } = shopScene()
      const run = interrupt()
      fake.before(call, run.abort, match)
      const failure = await failureOf(
        drill(
          drillSettings,
          { log: silentLogger, signal: run.signal },
          { demo: false, destroy: false },
          boundaries(fake, store)
        )
      )
      expect(failure?.message).toMatch(/^interrupted by SIGINT/)
      expect(Object.values(fake.states())).toEqual(['running', 'running'])
      expect(throwawayLeft(fake)).toEqual([])
      expect(holdsLeft(fake)).toEqual([])
      expect(store.object('drill-1', MANIFEST_FILE) !== undefined).toBe(snapshot)
    }
  )

  it('while asking again: still removes the copy it restored', async () => {
    const { fake, store } = shopScene()
    const run = interrupt()
    let asked = 0
    fake.before('exec', () => {
      if (++asked === 2) run.abort()
    })
    await drill(
      drillSettings,
      { log: silentLogger, signal: run.signal },
      { demo: false, destroy: false },
      boundaries(fake, store)
    )
    expect(asked).toBe(2)
    expect(run.signal.aborted).toBe(true)
    expect(throwawayLeft(fake)).toEqual([])
  })

  it('before destroying the project in place: nothing is destroyed', async () => {
    const { fake, store } = shopScene()
    const run = interrupt()
    // The verify step's last read: it finishes, and the interrupt lands before the destroy step.
    store.before('get', run.abort, /\/images\//)
    const failure = await failureOf(
      drill(
        drillSettings,
        { log: silentLogger, signal: run.signal },
        { demo: false, destroy: true },
        boundaries(fake, store)
      )
    )
    expect(failure?.message).toMatch(/^interrupted by SIGINT/)
    expect(fake.names.containers).toEqual(['shop-db', 'shop-web'])
    expect(fake.names.volumes).toEqual(['shop-html', 'shop-pgdata'])
    expect(fake.events.filter(e => e.startsWith('remove'))).not.toContainEqual(
      expect.stringMatching(/^removeContainer shop-/)
    )
  })
})

describe('the CLI, with the real runner', () => {
  it('on SIGINT mid copy aborts the run: containers resumed, nothing published, exit 130', async () => {
    const { fake, store } = shopScene()
    const signals = new EventEmitter()
    let stderr = ''
    fake.before('readVolume', () => void signals.emit('SIGINT', 'SIGINT'), 'shop-pgdata')
    const code = await main(['snapshot', '--compose-project', 'shop', '--compression', 'gzip'], {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      signals,
      now: Date.now,
      exit: () => {
        throw new Error('a single SIGINT must not quit without waiting')
      },
      boundaries: boundaries(fake, store),
      execute
    })
    expect(code).toBe(130)
    expect(stderr).toContain('received SIGINT: stopping at the next safe point')
    expect(stderr).toContain(
      'error: interrupted by SIGINT; no container is left paused or stopped\n'
    )
    expect(Object.values(fake.states())).toEqual(['running', 'running'])
    expect(await store.list()).toEqual([])
    expect(signals.listenerCount('SIGINT')).toBe(0)
  })
})
