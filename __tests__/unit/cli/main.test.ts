import { EventEmitter } from 'node:events'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { CliEnvironment } from '../../../src/cli/main.js'
import { main } from '../../../src/cli/main.js'
import { Masker, secretsOf } from '../../../src/cli/secrets.js'
import { HealthError } from '../../../src/shared/errors.js'
import type { RunBoundaries, RunContext, RunResult } from '../../../src/app/runner.js'
import { execute } from '../../../src/app/runner.js'
import type { Settings } from '../../../src/app/settings.js'
import type { SnapshotStore, StoredSnapshot } from '../../../src/stores/store.js'
import { manifestText } from '../restore/fixtures.js'
import { FakeEngine } from '../fakes/engine.js'

class Captured {
  readonly writes: string[] = []
  isTTY = false
  write(text: string): boolean {
    this.writes.push(text)
    return true
  }
  get text(): string {
    return this.writes.join('')
  }
}

/** A store of snapshots with valid manifests, dated `createdAt`, and incomplete ones. */
function fakeStore(
  snapshots: (StoredSnapshot & { createdAt?: Date })[]
): SnapshotStore & { deleted: string[] } {
  const deleted: string[] = []
  const find = (id: string) => snapshots.find(s => s.snapshotId === id)
  return {
    description: 'directory /fake',
    canDelete: true,
    deleted,
    begin: () => Promise.reject(new Error('unused')),
    discardStaged: () => Promise.reject(new Error('unused')),
    discardAbandoned: async () => [],
    hold: () => Promise.reject(new Error('unused')),
    get: async (id: string): Promise<Readable> =>
      Readable.from([manifestText(id, find(id)?.createdAt ?? new Date(0))]),
    has: async (id: string) => find(id)?.hasManifest ?? false,
    list: async () =>
      snapshots.map(({ snapshotId, hasManifest, modifiedAt, bytes }) => ({
        snapshotId,
        hasManifest,
        modifiedAt,
        bytes
      })),
    delete: async (id: string) => {
      deleted.push(id)
      return 'deleted'
    }
  }
}

/** The runner's boundaries: a fake engine (with nothing to repair), `store`, the test's clock. */
function boundaries(store: SnapshotStore): RunBoundaries {
  return {
    engine: () => new FakeEngine().engine,
    openStore: async () => store,
    now: () => new Date('2026-11-22T12:00:00Z')
  }
}

function harness(overrides: Partial<CliEnvironment> = {}) {
  const stdout = new Captured()
  const stderr = new Captured()
  const signals = new EventEmitter()
  const exits: number[] = []
  const settingsSeen: Settings[] = []
  const io: Partial<CliEnvironment> = {
    stdout,
    stderr,
    env: {},
    signals,
    now: () => Date.parse('2026-11-22T12:00:00Z'),
    exit: code => {
      exits.push(code)
    },
    execute: async settings => {
      settingsSeen.push(settings)
      throw new Error('no engine in unit tests')
    },
    boundaries: boundaries(fakeStore([])),
    ...overrides
  }
  return { stdout, stderr, signals, exits, settingsSeen, run: (argv: string[]) => main(argv, io) }
}

describe('main: arguments', () => {
  it('exits 2 with the specific message for a bad flag, and points to help', async () => {
    const h = harness()
    expect(await h.run(['snapshot', '--contaners', 'db'])).toBe(2)
    expect(h.stderr.text).toBe(
      'error: unknown flag --contaners for snapshot; did you mean --containers?\n' +
        "run 'docker-snapshot snapshot --help' for usage\n"
    )
    expect(h.stdout.text).toBe('')
  })

  it('answers a bad flag with a result event under --json', async () => {
    const h = harness()
    expect(await h.run(['--json', 'snapshot', '--bogus'])).toBe(2)
    expect(JSON.parse(h.stdout.text)).toEqual({
      event: 'result',
      command: 'snapshot',
      ok: false,
      exitCode: 2,
      error: {
        name: 'UsageError',
        message: 'unknown flag --bogus for snapshot; see docker-snapshot snapshot --help'
      }
    })
    expect(h.stderr.text).toBe('')
  })

  it('exits 2 when readSettings rejects a value, with its message', async () => {
    const h = harness()
    expect(await h.run(['snapshot', '--consistency', 'maybe'])).toBe(2)
    expect(h.stderr.text).toContain(
      "error: Invalid consistency 'maybe'. Expected one of: none, pause, stop.\n"
    )
    expect(h.settingsSeen).toEqual([])
  })

  it('prints help on stdout and exits 0; with no command at all, on stderr with 2', async () => {
    const h = harness()
    expect(await h.run(['restore', '--help'])).toBe(0)
    expect(h.stdout.text).toMatch(/^Usage: docker-snapshot restore \[flags\]/)
    const bare = harness()
    expect(await bare.run([])).toBe(2)
    expect(bare.stderr.text).toMatch(/Usage: docker-snapshot <command> \[flags\]/)
    expect(bare.stdout.text).toBe('')
  })

  it('prints the version', async () => {
    const h = harness()
    expect(await h.run(['--version'])).toBe(0)
    expect(h.stdout.text).toMatch(/^docker-snapshot \d+\.\d+\.\d+/)
  })

  it('passes the command as the mode and the flags as inputs to readSettings', async () => {
    const h = harness()
    await h.run(['snapshot', '--compose-project', 'shop', '--no-commit', '--consistency=stop'])
    expect(h.settingsSeen[0]).toMatchObject({
      mode: 'snapshot',
      snapshot: { composeProject: 'shop', commit: false, consistency: 'stop' }
    })
  })
})

describe('main: secrets', () => {
  it('never prints the registry password, from a flag or the environment', async () => {
    for (const [argv, env] of [
      [['snapshot', '--registry', 'r:5000', '--registry-password', 'hunter2'], {}],
      [['snapshot', '--registry', 'r:5000', '--registry-password=hunter2'], {}],
      [['snapshot', '--registry', 'r:5000'], { DOCKER_SNAPSHOT_REGISTRY_PASSWORD: 'hunter2' }]
    ] as const) {
      const h = harness({
        env,
        execute: async (settings, context) => {
          context.log.info(`logging in with ${settings.registry?.password ?? 'nothing'}`)
          throw new Error(`registry refused hunter2`)
        }
      })
      expect(await h.run([...argv])).toBe(1)
      expect(h.stderr.text).toBe('logging in with ***\nerror: registry refused ***\n')
    }
  })

  it('masks even in a usage error, and masks env values', async () => {
    const h = harness()
    await h.run([
      'restore',
      '--env',
      'TOKEN=abc123xyz',
      '--registry-password',
      'hunter2',
      'hunter2'
    ])
    expect(h.stderr.text).toContain("unexpected argument '***'")
    expect(secretsOf(['--env=A=1\nB=two', '--env', 'C=3'], {})).toEqual(['1', 'two', '3'])
  })

  it('masks longer secrets before shorter ones inside them', () => {
    expect(new Masker(['abcd', 'abcdefg']).mask('x abcdefg abcd')).toBe('x *** ***')
  })

  it('does not mask values too short to be secrets (under 4 characters)', () => {
    const masker = new Masker(['x', 'ab', 'abc', ''])
    expect(masker.mask('busybox: a b c abc')).toBe('busybox: a b c abc')
    masker.add('wxyz')
    expect(masker.mask('wxyz and busybox')).toBe('*** and busybox')
  })

  it('never masks the display’s own prefixes, and keeps --json valid, whatever the secret', async () => {
    const h = harness({
      execute: async (_settings, context) => {
        context.log.warn('the registry said: error')
        throw new Error('error reading the store')
      }
    })
    // A short value is not masked at all; a longer one only where the message itself holds it.
    expect(await h.run(['restore', '--env', 'DB_URL=x', '--env', 'TOKEN=error'])).toBe(1)
    expect(h.stderr.text).toBe('warning: the registry said: ***\nerror: *** reading the store\n')
    const json = harness({
      execute: async () => {
        throw new Error('failed: true')
      }
    })
    await json.run(['restore', '--json', '--env', 'A=true', '--env', 'B=event'])
    for (const line of json.stdout.text.trim().split('\n')) {
      expect(() => JSON.parse(line) as unknown, line).not.toThrow()
    }
    expect(json.stdout.text).toContain('"event":"result"')
  })
})

describe('main: results', () => {
  it('exits 3 when a verify result says the snapshot cannot be trusted', async () => {
    const h = harness({
      execute: async () =>
        ({ mode: 'verify', verify: { ok: false, checks: [] } }) as unknown as RunResult
    })
    expect(await h.run(['verify', '--json'])).toBe(3)
    const result = JSON.parse(h.stdout.text.trim().split('\n').at(-1)!) as Record<string, unknown>
    expect(result).toMatchObject({ event: 'result', command: 'verify', ok: false, exitCode: 3 })
  })

  it('exits 1 when the operation fails', async () => {
    const h = harness({
      execute: async () => {
        throw new HealthError('container db did not become healthy in 120 s')
      }
    })
    expect(await h.run(['restore'])).toBe(1)
    expect(h.stderr.text).toBe('error: container db did not become healthy in 120 s\n')
  })

  it('lists a store as a table, or as JSON', async () => {
    const list = [
      {
        snapshotId: 'new',
        hasManifest: true,
        createdAt: new Date('2026-11-22T10:00:00Z'),
        modifiedAt: new Date('2026-11-22T10:01:00Z'),
        bytes: 3 * 1024 * 1024
      },
      {
        snapshotId: 'broken-run',
        hasManifest: false,
        modifiedAt: new Date('2026-11-21T10:00:00Z'),
        bytes: 10
      }
    ]
    const h = harness({ boundaries: boundaries(fakeStore(list)) })
    expect(await h.run(['ls', '--store', '/fake'])).toBe(0)
    expect(h.stdout.text).toBe(
      'SNAPSHOT    STATUS      CREATED               SIZE\n' +
        'new         complete    2026-11-22 10:00:00Z  3.0 MiB\n' +
        'broken-run  incomplete  2026-11-21 10:00:00Z  10 B\n'
    )
    const json = harness({ boundaries: boundaries(fakeStore(list)) })
    await json.run(['ls', '--json'])
    expect(JSON.parse(json.stdout.text)).toMatchObject({
      event: 'result',
      ok: true,
      result: {
        store: 'directory /fake',
        snapshots: [
          { snapshotId: 'new', status: 'complete', createdAt: '2026-11-22T10:00:00.000Z' },
          {}
        ]
      }
    })
  })

  it('prunes with the settings and the injected clock', async () => {
    const store = fakeStore([
      ...['a', 'b'].map((snapshotId, index) => ({
        snapshotId,
        hasManifest: true,
        createdAt: new Date(Date.parse('2026-11-22T11:00:00Z') - index * 2 * 86_400_000),
        modifiedAt: new Date('2026-11-22T11:00:00Z'),
        bytes: 1
      }))
    ])
    const h = harness({ boundaries: boundaries(store), execute })
    expect(await h.run(['prune', '--older-than', '1d'])).toBe(0)
    expect(store.deleted).toEqual(['b'])
    expect(h.stdout.text).toBe('removed b\n1 snapshot removed, 1 kept\n')
  })

  it('exits 2 for prune without a rule (readSettings says what it needs)', async () => {
    const h = harness()
    expect(await h.run(['prune'])).toBe(2)
    expect(h.stderr.text).toContain('Expected keep (a count), older-than (a duration), or both.')
  })
})

/**
 * A run shaped like takeSnapshot: quiesce, copy in a group, stop there if the signal is aborted,
 * always resume in `finally`.
 */
function snapshotLike(proceed: Promise<void>, log: string[]) {
  return async (_settings: Settings, context: RunContext): Promise<RunResult> => {
    const action = { id: 'c1', name: 'db', action: 'pause' as const }
    context.onQuiesce?.([action])
    try {
      await context.log.group('Copying volumes', async () => {
        await proceed
        log.push('copied')
      })
      context.signal?.throwIfAborted()
      log.push('went on after the interrupt')
      throw new Error('unreachable')
    } finally {
      await context.log.group('Resuming containers', async () => {
        log.push('resumed')
        context.onQuiesce?.([])
      })
    }
  }
}

describe('main: interrupts', () => {
  it('on SIGINT lets the run bring containers back, then exits 130 saying so', async () => {
    let release!: () => void
    const proceed = new Promise<void>(resolve => (release = resolve))
    const steps: string[] = []
    const h = harness({ execute: snapshotLike(proceed, steps) })
    const exit = h.run(['snapshot'])
    await new Promise(resolve => setImmediate(resolve))
    h.signals.emit('SIGINT', 'SIGINT')
    release()
    expect(await exit).toBe(130)
    expect(steps).toEqual(['copied', 'resumed'])
    expect(h.exits).toEqual([])
    expect(h.stderr.text).toContain('received SIGINT: stopping at the next safe point')
    expect(h.stderr.text).toContain(
      'error: interrupted by SIGINT; no container is left paused or stopped\n'
    )
    // The handlers are gone once the run is over.
    expect(h.signals.listenerCount('SIGINT')).toBe(0)
    expect(h.signals.listenerCount('SIGTERM')).toBe(0)
  })

  it('on SIGTERM during a restore says what the restore put back, and nothing about held containers', async () => {
    const h = harness({
      execute: async (_settings, context) => {
        await context.log.group('Restoring volumes', async () => {
          h.signals.emit('SIGTERM', 'SIGTERM')
        })
        context.signal?.throwIfAborted()
        throw new Error('unreachable')
      }
    })
    expect(await h.run(['restore', '--on-conflict', 'replace'])).toBe(130)
    expect(h.stderr.text).toContain(
      'received SIGTERM: stopping at the next safe point and putting back any originals a ' +
        'replace set aside; send it again to quit without waiting'
    )
    expect(h.stderr.text).toContain('error: interrupted by SIGTERM\n')
    expect(h.stderr.text).not.toContain('paused or stopped')
  })

  it('on a second signal during a restore quits at once, saying where the originals are', async () => {
    let release!: () => void
    const proceed = new Promise<void>(resolve => (release = resolve))
    const h = harness({
      execute: async (_settings, context) => {
        await context.log.group('Restoring volumes', () => proceed)
        throw new Error('unreachable')
      }
    })
    const exit = h.run(['restore', '--on-conflict', 'replace'])
    await new Promise(resolve => setImmediate(resolve))
    h.signals.emit('SIGTERM', 'SIGTERM')
    h.signals.emit('SIGTERM', 'SIGTERM')
    expect(h.exits).toEqual([130])
    expect(h.stderr.text).toContain(
      "received SIGTERM again: quitting without waiting; originals a replace set aside keep their '-aside-' names: see 'If a replace is cut short' in the README"
    )
    release()
    expect(await exit).toBe(130)
  })

  it('on a second signal quits at once, saying what is still held and how to bring it back', async () => {
    let release!: () => void
    const proceed = new Promise<void>(resolve => (release = resolve))
    const h = harness({ execute: snapshotLike(proceed, []) })
    const exit = h.run(['snapshot'])
    await new Promise(resolve => setImmediate(resolve))
    h.signals.emit('SIGTERM', 'SIGTERM')
    h.signals.emit('SIGINT', 'SIGINT')
    expect(h.exits).toEqual([130])
    expect(h.stderr.text).toContain(
      'received SIGINT again: quitting without waiting; containers still held by the snapshot: ' +
        'db (paused); bring them back with: docker unpause db (the next docker-snapshot ' +
        'command on this host does it too, with their post-exec hooks)'
    )
    release()
    expect(await exit).toBe(130)
  })
})
