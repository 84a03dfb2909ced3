import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EngineError, HookError, SnapshotError, StoreError } from '../../../src/shared/errors.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import type { SnapshotOptions } from '../../../src/snapshot/snapshot.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import { holdName } from '../../../src/snapshot/holds.js'
import type { FakeEngine } from '../fakes/engine.js'
import { failureOf } from '../fakes/faults.js'
import { recordingLogger } from '../fakes/logger.js'
import { shopScene, shopSnapshot } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

/** Answers `/v2/` like a registry, so that the snapshot's reachability check passes offline. */
let registry: Server
let registryAddress: string
beforeAll(async () => {
  registry = createServer((_request, response) => response.end('{}'))
  await new Promise<void>(resolve => registry.listen(0, '127.0.0.1', resolve))
  registryAddress = `127.0.0.1:${(registry.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>(resolve => registry.close(() => resolve())))

interface FailureCase {
  case: string
  consistency: 'pause' | 'stop'
  withRegistry?: boolean
  /** Sets the fault; `abort` aborts the run's signal. */
  arrange: (fake: FakeEngine, store: FakeStore, abort: AbortController) => unknown
  error: new (...args: never[]) => Error
  message: RegExp
  /** Whether the containers had been paused or stopped when it failed. */
  quiesced: boolean
}

const cases: FailureCase[] = [
  {
    case: 'the commit of a container fails',
    consistency: 'pause',
    arrange: fake => fake.failOn('commitContainer', 'shop-web'),
    error: EngineError,
    message: new RegExp(`commit container (shop-web|[0-9a-f]{64})`),
    quiesced: true
  },
  {
    case: 'a volume copy breaks midway',
    consistency: 'stop',
    arrange: fake => fake.failOn('readVolume', 'shop-pgdata', undefined, { afterBytes: 700 }),
    error: SnapshotError,
    message: /shop-pgdata/,
    quiesced: true
  },
  {
    case: 'the engine refuses to read a volume',
    consistency: 'pause',
    arrange: fake => fake.failOn('readVolume', 'shop-html'),
    error: EngineError,
    message: /read volume shop-html failed/,
    quiesced: true
  },
  {
    case: 'the store fails while writing a volume archive',
    consistency: 'pause',
    arrange: (_fake, store) =>
      store.failOn('put', /volumes\/shop-pgdata/, undefined, { afterBytes: 10 }),
    error: StoreError,
    message: /volumes\/shop-pgdata/,
    quiesced: true
  },
  {
    case: 'the store fails while writing the manifest',
    consistency: 'stop',
    arrange: (_fake, store) => store.failOn('put', /manifest\.json/),
    error: StoreError,
    message: /manifest\.json/,
    quiesced: true
  },
  {
    case: 'saving an image into the store fails',
    consistency: 'pause',
    // Saved by id (a tag can move): the first image saved is shop-db's commit.
    arrange: fake => fake.failOn('saveImages', undefined, undefined, { nth: 1 }),
    error: EngineError,
    message: /save images sha256:[a-f0-9]{64}/,
    quiesced: true
  },
  {
    case: 'a push to the registry fails',
    consistency: 'stop',
    withRegistry: true,
    arrange: fake => fake.failOn('pushImage', /shop-db/, undefined, { nth: 1 }),
    error: EngineError,
    message: /push .*shop-db/,
    quiesced: true
  },
  {
    case: 'a pre-exec hook fails (before anything is paused)',
    consistency: 'pause',
    arrange: fake => {
      fake.container('shop-db').Config.Labels['docker-snapshot.pre-exec'] = 'pg_dump'
      fake.answerExec('shop-db', /pg_dump/, { exitCode: 3, output: 'disk full' })
    },
    error: HookError,
    message: /shop-db: the docker-snapshot\.pre-exec hook exited with code 3/,
    quiesced: false
  },
  {
    case: 'the run is aborted while containers are paused',
    consistency: 'pause',
    arrange: (fake, _store, abort) => fake.before('commitContainer', () => abort.abort()),
    error: SnapshotError,
    message: /abort/i,
    quiesced: true
  },
  {
    case: 'the run is aborted while containers are stopped, mid volume copy',
    consistency: 'stop',
    arrange: (fake, _store, abort) => fake.before('readVolume', () => abort.abort(), 'shop-pgdata'),
    error: SnapshotError,
    message: /abort/i,
    quiesced: true
  }
]

function scene() {
  const { fake, store } = shopScene()
  // An earlier, complete snapshot: no later run may touch it.
  store.seed('snap-0', MANIFEST_FILE, JSON.stringify({ createdAt: '2025-12-31T00:00:00Z' }))
  store.seed('snap-0', 'volumes/shop-pgdata.tar.gz', 'earlier bytes')
  return { fake, store }
}

function options(overrides: Partial<SnapshotOptions>): SnapshotOptions {
  return shopSnapshot(overrides)
}

describe('takeSnapshot on failure', () => {
  it('succeeds on the same scene without faults (the cases below fail only by their fault)', async () => {
    const { fake, store } = scene()
    fake.addContainer({
      name: 'shop-cron',
      labels: { 'com.docker.compose.project': 'shop', 'docker-snapshot.pre-exec': 'pg_dump' }
    })
    const report = await takeSnapshot(fake.engine, store, options({}), recordingLogger().log)
    expect(report.manifest.containers.map(c => c.name)).toEqual([
      'shop-cron',
      'shop-db',
      'shop-web'
    ])
    expect(store.objects('snap-1')).toContain(MANIFEST_FILE)
    expect(fake.events).toContain('pauseContainer shop-db')
    expect(fake.events).toContain('unpauseContainer shop-db')
    expect(fake.states()).toEqual({
      'shop-cron': 'running',
      'shop-db': 'running',
      'shop-web': 'running'
    })
  })

  it.each(cases)(
    '$case: every container runs again, no manifest, a typed error naming it',
    async ({ consistency, withRegistry, arrange, error, message, quiesced }) => {
      const { fake, store } = scene()
      const abort = new AbortController()
      arrange(fake, store, abort)
      const registryTarget = withRegistry
        ? { address: registryAddress, repository: 'snapshots', auth: {} }
        : undefined
      const failure = await failureOf(
        takeSnapshot(
          fake.engine,
          store,
          options({ consistency, registry: registryTarget, signal: abort.signal }),
          recordingLogger().log
        )
      )

      expect(failure).toBeInstanceOf(error)
      expect(failure).toBeInstanceOf(SnapshotError)
      expect(failure?.message).toMatch(message)
      for (const state of Object.values(fake.states())) expect(state).toBe('running')
      const quiesce = consistency === 'pause' ? 'pauseContainer' : 'stopContainer'
      const resume = consistency === 'pause' ? 'unpauseContainer' : 'startContainer'
      for (const name of ['shop-db', 'shop-web']) {
        expect(fake.events.includes(`${quiesce} ${name}`)).toBe(quiesced)
        expect(fake.events.includes(`${resume} ${name}`)).toBe(quiesced)
      }
      expect(store.object('snap-1', MANIFEST_FILE)).toBeUndefined()
      expect((await store.list()).map(s => s.snapshotId)).toEqual(['snap-0'])
      expect(store.stagedIds).toEqual([])
      expect(store.objects('snap-0')).toEqual([MANIFEST_FILE, 'volumes/shop-pgdata.tar.gz'])
      expect(store.object('snap-0', 'volumes/shop-pgdata.tar.gz')?.toString()).toBe('earlier bytes')
      // Every hold is released: the next run finds nothing to wait for or repair.
      expect(fake.names.containers.filter(n => n.startsWith('docker-snapshot-hold-'))).toEqual([])
    }
  )

  it.each([
    { case: 'a commit fails', arrange: (fake: FakeEngine) => fake.failOn('commitContainer') },
    {
      case: 'the run is aborted',
      arrange: (fake: FakeEngine, abort: AbortController) =>
        fake.before('readVolume', () => abort.abort())
    }
  ])('runs the post-exec hook of every container whose pre-exec ran when $case', async c => {
    const { fake, store } = scene()
    const labels = fake.container('shop-db').Config.Labels
    labels['docker-snapshot.pre-exec'] = 'lock'
    labels['docker-snapshot.post-exec'] = 'unlock'
    const abort = new AbortController()
    c.arrange(fake, abort)
    await expect(
      takeSnapshot(fake.engine, store, options({ signal: abort.signal }), recordingLogger().log)
    ).rejects.toBeInstanceOf(SnapshotError)
    const steps = fake.events.filter(e => /^(exec|pauseContainer|unpauseContainer) shop-db/.test(e))
    expect(steps).toEqual([
      'exec shop-db sh -c lock',
      'pauseContainer shop-db',
      'unpauseContainer shop-db',
      'exec shop-db sh -c unlock'
    ])
  })

  it('brings back every container even when one of them cannot be resumed, and says which', async () => {
    const { fake, store } = scene()
    fake.failOn('commitContainer', 'shop-web')
    fake.failOn('unpauseContainer', 'shop-db', undefined, { times: 1 })
    const failure = await failureOf(
      takeSnapshot(fake.engine, store, options({}), recordingLogger().log)
    )
    expect(failure).toBeInstanceOf(SnapshotError)
    expect(failure?.message).toMatch(/shop-db/)
    // shop-web came back; shop-db is left for the next run, which the error tells about: its
    // hold stays to say so, and its post-exec hook waits until it is back.
    expect(fake.states()['shop-web']).toBe('running')
    expect(store.object('snap-1', MANIFEST_FILE)).toBeUndefined()
    const holds = fake.names.containers.filter(n => n.startsWith('docker-snapshot-hold-'))
    expect(holds).toEqual([holdName(fake.container('shop-db').Id)])
  })
})
