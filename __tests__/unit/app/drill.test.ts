import { describe, expect, it } from 'vitest'
import type { DrillOptions } from '../../../src/app/drill.js'
import { runDrill } from '../../../src/app/drill.js'
import { ConflictError, EngineError, HookError, SnapshotError } from '../../../src/shared/errors.js'
import type { Logger } from '../../../src/shared/log.js'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import { restoreSnapshot } from '../../../src/restore/index.js'
import { verifySnapshot } from '../../../src/verify/index.js'
import { takeSnapshot } from '../../../src/snapshot/snapshot.js'
import type { FakeEngine } from '../fakes/engine.js'
import { recordingLogger } from '../fakes/logger.js'
import { PROJECT, shopScene, shopSnapshot } from '../fakes/scene.js'
import type { FakeStore } from '../fakes/store.js'

/** The drill's steps bound to the real snapshot, verify and restore over the fakes. */
function drillOptions(
  fake: FakeEngine,
  store: FakeStore,
  log: Logger,
  destroy: boolean
): DrillOptions {
  return {
    demo: false,
    destroy,
    composeProject: PROJECT,
    checks: [{ service: 'db', command: ['count-rows'], description: 'rows' }],
    snapshot: project =>
      takeSnapshot(
        fake.engine,
        store,
        shopSnapshot({
          selection: { containers: [], composeProject: project, labels: [], all: false }
        }),
        log
      ),
    verify: snapshotId =>
      verifySnapshot(
        fake.engine,
        store,
        { snapshotId, registryAuth: {}, restoreCheck: false, waitTimeoutMs: 2000 },
        log
      ),
    restore: (snapshotId, prefix) =>
      restoreSnapshot(
        fake.engine,
        store,
        {
          snapshotId,
          prefix,
          onConflict: 'fail',
          start: true,
          waitTimeoutMs: 2000,
          ports: 'ephemeral',
          registryAuth: {},
          env: {}
        },
        log
      )
  }
}

function scene() {
  const { fake, store } = shopScene()
  fake.answerExec(/shop-db$/, 'count-rows', { exitCode: 0, output: '3 rows' })
  return { fake, store }
}

interface FailureCase {
  case: string
  destroy: boolean
  arrange: (fake: FakeEngine, store: FakeStore) => unknown
  error: new (...args: never[]) => Error
  message: RegExp
  /** Which steps were reached: the snapshot read the containers, the restore made volumes. */
  calls: { snapshot: boolean; restore: boolean; destroy: boolean }
}

const cases: FailureCase[] = [
  {
    case: 'asking the original fails',
    destroy: true,
    arrange: fake => fake.answerExec('shop-db', 'count-rows', { exitCode: 2, output: 'down' }),
    error: SnapshotError,
    message: /drill check "rows" in shop-db exited with 2: down/,
    calls: { snapshot: false, restore: false, destroy: false }
  },
  {
    case: 'the snapshot fails',
    destroy: true,
    arrange: fake => {
      fake.container('shop-db').Config.Labels['docker-snapshot.pre-exec'] = 'flush'
      fake.answerExec('shop-db', /flush/, { exitCode: 1, output: '' })
    },
    error: HookError,
    message: /shop-db: the docker-snapshot\.pre-exec hook exited with code 1/,
    calls: { snapshot: true, restore: false, destroy: false }
  },
  {
    case: 'the snapshot fails verification',
    destroy: true,
    arrange: (_fake, store) => store.failOn('get', /volumes\/shop-pgdata/),
    error: SnapshotError,
    message: /failed verification, so nothing was destroyed: volume shop-pgdata/,
    calls: { snapshot: true, restore: false, destroy: false }
  },
  {
    case: 'the restore beside the original fails',
    destroy: false,
    arrange: fake => fake.failOn('createContainer', /^dsv-.*shop-web$/),
    error: EngineError,
    message: /create container dsv-\w+-shop-web failed/,
    calls: { snapshot: true, restore: true, destroy: false }
  },
  {
    case: 'the copy answers differently and fails',
    destroy: false,
    arrange: fake =>
      fake.answerExec(/^dsv-.*shop-db$/, 'count-rows', { exitCode: 1, output: 'no table' }),
    error: SnapshotError,
    message: /drill check "rows" in dsv-\w+-shop-db exited with 1: no table/,
    calls: { snapshot: true, restore: true, destroy: false }
  }
]

describe('runDrill on failure', () => {
  it('passes beside the original without faults (the cases below fail only by their fault)', async () => {
    const { fake, store } = scene()
    const report = await runDrill(
      fake.engine,
      drillOptions(fake, store, recordingLogger().log, false),
      recordingLogger().log
    )
    expect(report.ok).toBe(true)
    expect(fake.events.some(e => /^exec dsv-\w+-shop-db count-rows$/.test(e))).toBe(true)
  })

  it.each(cases)(
    '$case: the error propagates and the project is as it was',
    async ({ destroy, arrange, error, message, calls }) => {
      const { fake, store } = scene()
      arrange(fake, store)
      const { log } = recordingLogger()
      const failure = await runDrill(
        fake.engine,
        drillOptions(fake, store, log, destroy),
        log
      ).then(
        () => undefined,
        (e: unknown) => e as Error
      )
      expect(failure).toBeInstanceOf(error)
      expect(failure?.message).toMatch(message)
      expect(fake.events.includes('inspectContainer shop-db')).toBe(calls.snapshot)
      expect(fake.events.some(e => e.startsWith('createVolume'))).toBe(calls.restore)
      expect(fake.events.includes('removeContainer shop-db')).toBe(calls.destroy)
      // The originals run, with their data, whatever happened to a copy.
      expect(fake.states()['shop-db']).toBe('running')
      expect(fake.states()['shop-web']).toBe('running')
      expect(Object.fromEntries(await fake.volumeFiles('shop-pgdata'))).toEqual({
        'base/rows': '1\n2\n3\n'
      })
    }
  )

  it('in place, a failed restore keeps the snapshot and says how to restore it', async () => {
    const { fake, store } = scene()
    fake.failOn('createContainer', 'shop-web')
    const { log, lines } = recordingLogger()
    await expect(runDrill(fake.engine, drillOptions(fake, store, log, true), log)).rejects.toThrow(
      /create container shop-web failed/
    )
    expect(fake.events).toContain('removeContainer shop-db')
    expect(store.objects('snap-1')).toContain(MANIFEST_FILE)
    expect((await store.list()).find(s => s.snapshotId === 'snap-1')?.hasManifest).toBe(true)
    expect(lines).toContainEqual(
      expect.stringMatching(/snapshot snap-1 is intact in the store: restore it with/)
    )
  })
})

/** Names of the containers, volumes and networks of throwaway copies left on the engine. */
function copiesLeft(fake: FakeEngine): string[] {
  const { containers, volumes, networks } = fake.names
  return [...containers, ...volumes, ...networks].filter(name => name.startsWith('dsv-'))
}

describe('runDrill asks the copy', () => {
  it('maps a container name through the copy prefix and names the containers that answered', async () => {
    const { fake, store } = scene()
    const { log } = recordingLogger()
    const options = drillOptions(fake, store, log, false)
    options.checks = [{ service: 'shop-db', command: ['count-rows'], description: 'rows' }]
    const report = await runDrill(fake.engine, options, log)
    expect(report.ok).toBe(true)
    expect(report.checks).toEqual([
      {
        description: 'rows',
        before: '3 rows',
        after: '3 rows',
        same: true,
        askedBefore: 'shop-db',
        askedAfter: expect.stringMatching(/^dsv-\w{6}-shop-db$/) as unknown as string
      }
    ])
    expect(fake.events.filter(e => e.startsWith('exec '))).toEqual([
      'exec shop-db count-rows',
      expect.stringMatching(/^exec dsv-\w{6}-shop-db count-rows$/)
    ])
    expect(copiesLeft(fake)).toEqual([])
  })

  it('fails, and still removes the copy, when asking the copy fails', async () => {
    const { fake, store } = scene()
    fake.answerExec(/^dsv-/, 'count-rows', { exitCode: 1, output: 'no table' })
    const { log } = recordingLogger()
    const options = drillOptions(fake, store, log, false)
    options.checks = [{ service: 'shop-db', command: ['count-rows'], description: 'rows' }]
    await expect(runDrill(fake.engine, options, log)).rejects.toThrow(
      /drill check "rows" in dsv-\w{6}-shop-db exited with 1: no table/
    )
    expect(fake.events.some(e => /^createContainer dsv-\w{6}-shop-db/.test(e))).toBe(true)
    expect(copiesLeft(fake)).toEqual([])
  })

  it('does not ask a container outside the project, even by its name', async () => {
    const { fake, store } = scene()
    fake.addContainer({ name: 'elsewhere' })
    const { log } = recordingLogger()
    const options = drillOptions(fake, store, log, false)
    options.checks = [{ service: 'elsewhere', command: ['count-rows'], description: 'rows' }]
    await expect(runDrill(fake.engine, options, log)).rejects.toThrow(
      'no running container of project shop for service elsewhere (nor named elsewhere)'
    )
    expect(fake.events.filter(e => e.startsWith('exec '))).toEqual([])
  })
})

describe('runDrill --destroy', () => {
  it('refuses, removing nothing, when a container was re-created under its name after the snapshot', async () => {
    const { fake, store } = scene()
    const { log } = recordingLogger()
    const options = drillOptions(fake, store, log, true)
    let stranger = ''
    const failure = await runDrill(
      fake.engine,
      {
        ...options,
        snapshot: async project => {
          const report = await options.snapshot(project)
          // Someone replaces shop-web meanwhile: the snapshot never saw this one.
          await fake.engine.removeContainer('shop-web', { force: true })
          stranger = fake.addContainer({ name: 'shop-web' }).Id
          return report
        }
      },
      log
    ).then(
      () => undefined,
      (e: unknown) => e as Error
    )
    expect(failure).toBeInstanceOf(ConflictError)
    expect(failure?.message).toContain(
      'Not destroying project shop: container shop-web is another container since the snapshot. ' +
        'Nothing was removed'
    )
    expect(fake.container('shop-web').Id).toBe(stranger)
    expect(fake.names.containers).toContain('shop-db')
    expect(fake.names.volumes).toEqual(['shop-html', 'shop-pgdata'])
  })

  it.each([
    {
      what: 'volume',
      outsider: { name: 'backup-agent', volumes: [{ name: 'shop-pgdata', destination: '/d' }] },
      blocker: 'volume shop-pgdata is used by container backup-agent (running)'
    },
    {
      what: 'network',
      outsider: { name: 'monitor', networks: ['shop-net'], state: 'exited' as const },
      blocker: 'network shop-net is used by container monitor (exited)'
    }
  ])(
    'refuses, removing nothing, when a container outside the project uses its $what',
    async ({ outsider, blocker }) => {
      const { fake, store } = scene()
      fake.addContainer(outsider)
      const objects = () => {
        const { containers, volumes, networks } = fake.names
        return { containers, volumes, networks }
      }
      const before = objects()
      const states = fake.states()
      const { log } = recordingLogger()
      const failure = await runDrill(fake.engine, drillOptions(fake, store, log, true), log).then(
        () => undefined,
        (e: unknown) => e as Error
      )
      expect(failure).toBeInstanceOf(ConflictError)
      expect(failure?.message).toContain(`Not destroying project shop: ${blocker}`)
      expect(failure?.message).toContain('Nothing was removed; snapshot snap-1 is in the store')
      // (The snapshot's holds, released once it is taken, are the tool's own.)
      expect(
        fake.events.filter(e =>
          /^remove(Container|Volume|Network) (?!docker-snapshot-hold-)/.test(e)
        )
      ).toEqual([])
      expect(objects()).toEqual(before)
      expect(fake.states()).toEqual(states)
      expect((await store.list()).find(s => s.snapshotId === 'snap-1')?.hasManifest).toBe(true)
    }
  )
})
