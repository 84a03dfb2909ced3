import { describe, expect, it } from 'vitest'
import { InterruptedError } from '../../../src/shared/errors.js'
import { silentLogger } from '../../../src/shared/log.js'
import type { VerifyOptions } from '../../../src/verify/index.js'
import { verifySnapshot } from '../../../src/verify/index.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import type { FakeEngine } from '../fakes/engine.js'
import { recordingLogger } from '../fakes/logger.js'
import { shopScene, snapshottedShop, shopSnapshot } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

const THROWAWAY = /^dsv-[0-9a-f]{6}-/

function verifyOptions(overrides: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    snapshotId: 'snap-1',
    registryAuth: {},
    restoreCheck: true,
    drill: { container: 'shop-db', command: ['count-rows'] },
    waitTimeoutMs: 2000,
    ...overrides
  }
}

async function lookAround(fake: FakeEngine) {
  const { containers, volumes, networks } = fake.names
  return { containers, volumes, networks, states: fake.states() }
}

interface FailureCase {
  case: string
  arrange: (fake: FakeEngine, store: FakeStore) => unknown
  /** Whether the throwaway copy's checks passed; absent when they were not run. */
  checks: { restore?: boolean; drill?: boolean; cleanup?: boolean }
  /** What the failing check's detail says. */
  detail: RegExp
}

const cases: FailureCase[] = [
  {
    case: 'the drill command exits non-zero in the copy',
    arrange: fake => fake.answerExec(THROWAWAY, 'count-rows', { exitCode: 1, output: 'no rows' }),
    checks: { restore: true, drill: false, cleanup: true },
    detail: /exited with code 1: no rows/
  },
  {
    case: 'the engine fails the drill exec',
    arrange: fake => fake.failOn('exec', THROWAWAY),
    checks: { restore: true, drill: false, cleanup: true },
    detail: /exec \["count-rows"\] in \w+ failed: injected fault/
  },
  {
    case: 'the throwaway restore fails',
    arrange: fake => fake.failOn('createContainer', /dsv-\w+-shop-web/),
    checks: { restore: false },
    detail: /stopped at step 'containers'/
  },
  {
    case: 'a stored archive was damaged',
    arrange: (_fake, store) =>
      store.seed('snap-1', 'volumes/shop-html.tar.gz', Buffer.from('not what was written')),
    checks: { restore: false },
    detail: /volumes\/shop-html\.tar\.gz/
  }
]

describe('verifySnapshot with a throwaway restore, on failure', () => {
  it('passes without faults, the drill answered by the copy (the cases below fail only by their fault)', async () => {
    const { fake, store } = await snapshottedShop()
    fake.answerExec(/./, 'count-rows', container => ({ exitCode: 0, output: container.Name }))
    const before = await lookAround(fake)
    const report = await verifySnapshot(fake.engine, store, verifyOptions(), silentLogger)
    expect(report.ok).toBe(true)
    expect(report.drill?.output).toBe(`/${report.prefix}shop-db`)
    expect(await lookAround(fake)).toEqual(before)
  })

  it('stops the throwaway restore at an interrupt, removes the copy and fails with it', async () => {
    const { fake, store } = await snapshottedShop()
    const interrupt = new AbortController()
    fake.before(
      'writeVolume',
      () => interrupt.abort(new InterruptedError('interrupted by SIGTERM')),
      THROWAWAY
    )
    const before = await lookAround(fake)

    const failure = await verifySnapshot(
      fake.engine,
      store,
      verifyOptions({ signal: interrupt.signal }),
      recordingLogger().log
    ).then(
      () => undefined,
      (error: unknown) => error as Error
    )

    expect(failure?.message).toMatch(
      /^interrupted by SIGTERM\. Restore of snapshot snap-1 stopped at step 'volumes'/
    )
    expect(fake.events.filter(e => e.startsWith('createContainer'))).toEqual([])
    expect(await lookAround(fake)).toEqual(before)
  })

  it.each(cases)(
    '$case: the report is not ok, says why, and the copy is removed',
    async ({ arrange, checks, detail }) => {
      const { fake, store } = await snapshottedShop()
      arrange(fake, store)
      const before = await lookAround(fake)
      const report = await verifySnapshot(
        fake.engine,
        store,
        verifyOptions(),
        recordingLogger().log
      )
      expect(report.ok).toBe(false)
      const copyChecks = report.checks.filter(c => ['restore', 'drill', 'cleanup'].includes(c.kind))
      expect(Object.fromEntries(copyChecks.map(c => [c.kind, c.ok]))).toEqual(checks)
      expect(report.checks.find(c => !c.ok)?.detail).toMatch(detail)
      expect(await lookAround(fake)).toEqual(before)
      // The originals were never asked.
      expect(fake.events.filter(e => e.startsWith('exec shop-'))).toEqual([])
    }
  )

  it('reports a copy it could not remove, by name, and removes the rest', async () => {
    const { fake, store } = await snapshottedShop()
    fake.failOn('removeVolume', /dsv-\w+-shop-pgdata/)
    fake.answerExec(THROWAWAY, 'count-rows', { exitCode: 1, output: '' })
    const before = await lookAround(fake)
    const report = await verifySnapshot(fake.engine, store, verifyOptions(), silentLogger)
    expect(report.ok).toBe(false)
    const cleanup = report.checks.find(c => c.kind === 'cleanup')
    expect(cleanup?.ok).toBe(false)
    expect(cleanup?.detail).toContain(`volume ${report.prefix}shop-pgdata`)
    const after = await lookAround(fake)
    expect(after.containers).toEqual(before.containers)
    expect(after.networks).toEqual(before.networks)
    expect(after.volumes).toEqual([...before.volumes, `${report.prefix}shop-pgdata`].sort())
  })
})

describe('verifySnapshot: the throwaway copy and bind mounts', () => {
  /** The shop, and a logger that bind-mounts a log directory, a log file and its config (read-only). */
  async function withLogger() {
    const { fake, store } = shopScene()
    fake.addContainer({
      name: 'shop-logger',
      labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'logger' },
      binds: [
        { source: '/srv/logs', destination: '/logs' },
        { source: '/srv/app.log', destination: '/app.log' },
        { source: '/srv/conf', destination: '/conf', readOnly: true }
      ]
    })
    await takeSnapshot(fake.engine, store, shopSnapshot(), silentLogger)
    // The commit keeps the engine's mount point for the file: a volume cannot be mounted there.
    fake.addImageFile('docker-snapshot/commits:snap-1-shop-logger', '/app.log')
    return { fake, store }
  }

  it('never mounts a writable host path in the copy, says what each mount got, and removes it all', async () => {
    const { fake, store } = await withLogger()
    fake.answerExec(THROWAWAY, 'mounts', container => ({
      exitCode: 0,
      output: container.Mounts.map(
        m => `${m.Type} ${m.Name ?? m.Source} ${m.Destination} ${m.RW ? 'rw' : 'ro'}`
      )
        .sort()
        .join('\n')
    }))
    const before = await lookAround(fake)
    const report = await verifySnapshot(
      fake.engine,
      store,
      verifyOptions({ drill: { container: 'shop-logger', command: ['mounts'] } }),
      silentLogger
    )
    expect(report.ok).toBe(true)
    const copy = `${report.prefix}shop-logger`
    expect(report.drill?.output.split('\n')).toEqual([
      'bind /srv/conf /conf ro',
      `volume ${copy}-bind-0 /logs rw`
    ])
    const restore = report.checks.find(c => c.kind === 'restore')!.detail
    expect(restore).toContain(`${copy} /logs: empty volume ${copy}-bind-0, not the host path`)
    expect(restore).toContain(`${copy} /app.log: the image's own file there`)
    expect(restore).toContain(`${copy} /conf: host path /srv/conf, read-only as in the original`)
    expect(await lookAround(fake)).toEqual(before)
  })

  it('removes the volumes standing in for bind mounts when the copy cannot be created', async () => {
    const { fake, store } = await withLogger()
    fake.failOn('createContainer', /dsv-\w+-shop-logger/)
    const before = await lookAround(fake)
    const report = await verifySnapshot(fake.engine, store, verifyOptions(), silentLogger)
    expect(report.ok).toBe(false)
    expect(fake.events.some(e => /^createVolume dsv-\w+-shop-logger-bind-0/.test(e))).toBe(true)
    expect(await lookAround(fake)).toEqual(before)
  })
})
