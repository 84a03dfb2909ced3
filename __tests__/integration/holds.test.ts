import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InterruptedError } from '../../src/shared/errors.js'
import { Engine } from '../../src/docker/engine.js'
import { ContainerHeldError, StoreError } from '../../src/shared/errors.js'
import { silentLogger } from '../../src/shared/log.js'
import type { Manifest } from '../../src/manifest/manifest.js'
import type { SnapshotOptions } from '../../src/snapshot/snapshot.js'
import { takeSnapshot } from '../../src/snapshot/snapshot.js'
import { DirectoryStore } from '../../src/stores/directory/store.js'
import {
  CLI,
  docker,
  inBusybox,
  recordingLogger,
  removeByPrefix,
  sleeper,
  uniquePrefix
} from './support.js'
import { layoutObjectFile } from '../oci-layout.js'

// Two runs on one container, and runs killed with SIGKILL: the bundle users run (CLI), as processes.
const prefix = uniquePrefix('holds')
let store: string

/** A CLI process: its output so far, when each line first arrived, and how it ended. */
interface CliRun {
  pid: number
  stderr: () => string
  /** When a line containing `text` arrived (ms since the epoch), or undefined. */
  timeOf: (text: string) => number | undefined
  waitFor: (text: string, timeoutMs?: number) => Promise<void>
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

function startCli(args: string[]): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  const lines: { at: number; text: string }[] = []
  child.stderr.on('data', (chunk: Buffer) => {
    const at = Date.now()
    stderr += chunk.toString()
    for (const text of chunk.toString().split('\n')) lines.push({ at, text })
  })
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    resolvePromise => child.on('close', (code, signal) => resolvePromise({ code, signal, stderr }))
  )
  const timeOf = (text: string) => lines.find(line => line.text.includes(text))?.at
  return {
    pid: child.pid!,
    stderr: () => stderr,
    timeOf,
    waitFor: async (text, timeoutMs = 60_000) => {
      for (let waited = 0; timeOf(text) === undefined; waited += 50) {
        if (waited > timeoutMs) throw new Error(`no "${text}" after ${timeoutMs} ms:\n${stderr}`)
        await new Promise(r => setTimeout(r, 50))
      }
    },
    done
  }
}

async function manifestOf(snapshotId: string): Promise<Manifest> {
  return JSON.parse(
    await readFile(await layoutObjectFile(store, snapshotId, 'manifest.json'), 'utf8')
  ) as Manifest
}

async function state(container: string): Promise<string> {
  return docker('inspect', '--format', '{{.State.Status}} paused={{.State.Paused}}', container)
}

/** The hold of a container, if any is left (holds are named after the container's id). */
async function holdOf(container: string): Promise<string> {
  const id = await docker('inspect', '--format', '{{.Id}}', container)
  return docker('ps', '-aq', '--filter', `name=^/docker-snapshot-hold-${id.slice(0, 12)}$`)
}

const volume = `${prefix}data`

/** A container on the shared volume whose hooks append to /tmp/hooks inside it. */
async function hookedContainer(name: string): Promise<string> {
  const container = `${prefix}${name}`
  await sleeper(
    container,
    '-v',
    `${volume}:/data`,
    '-l',
    'docker-snapshot.pre-exec=echo pre >> /tmp/hooks',
    '-l',
    'docker-snapshot.post-exec=echo post >> /tmp/hooks'
  )
  return container
}

const hooksRan = (container: string) => docker('exec', container, 'cat', '/tmp/hooks')

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it with \`npm run package\``)
  store = await mkdtemp(join(tmpdir(), 'dst-holds-store-'))
  await docker('volume', 'create', volume)
  // Enough incompressible data that gzip keeps a copy (and the pause or stop) going for seconds.
  await inBusybox(['-v', `${volume}:/d`], 'head -c 100000000 /dev/urandom > /d/blob')
})

/** Holds the tests made as other runs would (named after containers, not with the prefix). */
const madeHolds: string[] = []

afterAll(async () => {
  for (const hold of madeHolds) await docker('rm', '-f', hold).catch(() => undefined)
  await removeByPrefix(prefix)
  await rm(store, { recursive: true, force: true })
})

const slowSnapshot = (container: string, id: string, consistency: string) => [
  'snapshot',
  '--containers',
  container,
  '--no-commit',
  '--compression',
  'gzip',
  '--consistency',
  consistency,
  '--store',
  store,
  '--snapshot-id',
  id
]

describe.each(['pause', 'stop'] as const)('two snapshots of one container (%s)', consistency => {
  it('the second waits for the first to bring it back, then quiesces it itself', async () => {
    const container = await hookedContainer(`both-${consistency}`)
    const [first, second] = [`${prefix}first-${consistency}`, `${prefix}second-${consistency}`]
    const a = startCli(slowSnapshot(container, first, consistency))
    await a.waitFor(`volume ${volume}: started`)
    const b = startCli([
      'snapshot',
      '--containers',
      container,
      '--no-commit',
      '--consistency',
      consistency,
      '--store',
      store,
      '--snapshot-id',
      second
    ])
    const [doneA, doneB] = await Promise.all([a.done, b.done])
    expect(doneA.code, doneA.stderr).toBe(0)
    expect(doneB.code, doneB.stderr).toBe(0)
    // B took the container only after A had brought it back, and quiesced it itself.
    const [quiesce, undo] =
      consistency === 'pause' ? ['pausing', 'resuming'] : ['stopping', 'starting']
    expect(b.timeOf(`${quiesce} ${container}`)).toBeGreaterThan(a.timeOf(`${undo} ${container}`)!)
    // So its manifest's claims are true: it was running, and B quiesced it.
    const record = (await manifestOf(second)).containers[0]
    expect(record).toMatchObject({ name: container, running: true, consistency })
    expect((await manifestOf(first)).containers[0]).toMatchObject({ running: true, consistency })
    expect(await state(container)).toBe('running paused=false')
    expect(await hooksRan(container)).toBe('pre\npost\npre\npost')
    expect(await holdOf(container)).toBe('')
    // B said why it waited, naming the run it waited for.
    expect(doneB.stderr).toContain(
      `${container} is held by the docker-snapshot run of snapshot ${first} ` +
        `(pid ${a.pid} on host ${hostname()}`
    )
  })
})

describe('a snapshot killed with SIGKILL', () => {
  it.each([
    { consistency: 'pause', left: 'paused paused=true', next: 'ls', repaired: 'resumed' },
    { consistency: 'stop', left: 'exited paused=false', next: 'verify', repaired: 'started' }
  ])(
    'while it holds the container ($consistency): the next $next brings it back and says so',
    async ({ consistency, left, next, repaired }) => {
      const container = await hookedContainer(`killed-${consistency}`)
      const id = `${prefix}killed-${consistency}`
      const killed = startCli(slowSnapshot(container, id, consistency))
      await killed.waitFor(`volume ${volume}: started`)
      process.kill(killed.pid, 'SIGKILL')
      expect((await killed.done).signal).toBe('SIGKILL')
      const carriers = `label=docker-snapshot.carrier=${hostname()}:${killed.pid}`
      expect(await state(container)).toBe(left)
      expect(await docker('ps', '-aq', '--filter', carriers)).not.toBe('')

      // Another mode, which has nothing to do with the killed run (verify may fail or pass).
      const done = await startCli(
        next === 'ls' ? ['ls', '--store', store] : ['verify', '--store', store, '--snapshot-id', id]
      ).done
      expect(await state(container)).toBe('running paused=false')
      expect(await docker('ps', '-aq', '--filter', carriers)).toBe('')
      expect(await holdOf(container)).toBe('')
      // The post-exec hook the killed run owed has run, once.
      expect(await hooksRan(container)).toBe('pre\npost')
      expect(done.stderr).toMatch(
        new RegExp(
          `the docker-snapshot run of snapshot ${id} \\(pid ${killed.pid} on host .*\\) ended ` +
            `without bringing ${container} back; repaired: ${repaired} ${container}; ran the ` +
            `post-exec hook of ${container}; removed 1 carrier container ` +
            // the helper container it was copying in, or the archive API's carrier
            'docker-snapshot-(copy|carrier)-'
        )
      )
    }
  )
})

const engine = new Engine()
const options = (snapshotId: string, container: string): SnapshotOptions => ({
  snapshotId,
  selection: { containers: [container], labels: [], all: false },
  volumes: [],
  excludeVolumes: [],
  consistency: 'pause',
  commit: false,
  captureBindMounts: false,
  compression: 'zstd',
  hookTimeoutMs: 30_000,
  toolVersion: 'test',
  replaceExisting: false
})

describe('post-exec hooks', () => {
  it('run after a snapshot whose store fails', async () => {
    const container = await hookedContainer('store-fails')
    // A store whose disk fills up: every object written fails.
    const failing = new DirectoryStore(store)
    const begin = failing.begin.bind(failing)
    failing.begin = async (snapshotId: string) => {
      const writer = await begin(snapshotId)
      writer.put = (object: string, data: Readable) => {
        data.resume()
        return Promise.reject(new StoreError(`no space left for ${object} (test)`))
      }
      return writer
    }
    const attempt = takeSnapshot(engine, failing, options(`${prefix}full`, container), silentLogger)
    await expect(attempt).rejects.toThrow(/no space left for volumes\/.* \(test\)/)
    expect(await hooksRan(container)).toBe('pre\npost')
    expect(await state(container)).toBe('running paused=false')
    expect(await holdOf(container)).toBe('')
  })

  it('run after an interrupt', async () => {
    const container = await hookedContainer('interrupted')
    const interrupt = new AbortController()
    const attempt = takeSnapshot(
      engine,
      new DirectoryStore(store),
      {
        ...options(`${prefix}interrupted`, container),
        signal: interrupt.signal,
        // The user presses Ctrl-C just as the container is paused.
        onQuiesce: actions => {
          if (actions.length > 0) interrupt.abort(new InterruptedError('interrupted by SIGINT'))
        }
      },
      silentLogger
    )
    await expect(attempt).rejects.toThrow('interrupted by SIGINT')
    expect(await hooksRan(container)).toBe('pre\npost')
    expect(await state(container)).toBe('running paused=false')
    expect(await holdOf(container)).toBe('')
  })
})

/** A pid that no process has any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise(resolve => child.on('exit', resolve))
  await new Promise(resolve => setTimeout(resolve, 50))
  return child.pid!
}

/** A hold as another run would have left it: `docker create` with its labels and marks. */
async function foreignHold(container: string, owner: string, marks: string[]): Promise<string> {
  const id = await docker('inspect', '--format', '{{.Id}}', container)
  const hold = await docker(
    'create',
    '--name',
    `docker-snapshot-hold-${id.slice(0, 12)}`,
    '--network',
    'none',
    '-l',
    `docker-snapshot.hold=${id}`,
    '-l',
    `docker-snapshot.hold.container=${container}`,
    '-l',
    `docker-snapshot.hold.owner=${owner}`,
    '-l',
    'docker-snapshot.hold.snapshot=theirs',
    '-l',
    'docker-snapshot.hold.since=2026-11-30T10:00:00.000Z',
    'docker-snapshot/volume-carrier:1',
    '/carrier'
  )
  madeHolds.push(hold)
  // Each step it took is an empty directory in the hold's filesystem.
  const empty = await mkdtemp(join(tmpdir(), 'dst-mark-'))
  for (const mark of marks) await docker('cp', empty, `${hold}:/docker-snapshot-${mark}`)
  await rm(empty, { recursive: true })
  return hold
}

describe('what a snapshot records and claims', () => {
  it('records a container paused by someone else as it is, claiming no pause, and leaves it paused', async () => {
    const container = await hookedContainer('paused-by-user')
    await docker('pause', container)
    const log = recordingLogger()
    const report = await takeSnapshot(
      engine,
      new DirectoryStore(store),
      options(`${prefix}paused-by-user`, container),
      log
    )
    expect(report.manifest.containers[0]).toMatchObject({ running: true, consistency: 'none' })
    expect(report.quiescedSeconds).toBe(0)
    expect(await state(container)).toBe('paused paused=true')
    expect(log.lines).toContain(
      `warning: ${container} was already paused by someone else: it is left as it is, and ` +
        'recorded with consistency none, since this run did not pause it'
    )
    await docker('unpause', container)
  })

  it('warns that a volume is written by a running container outside the selection', async () => {
    const container = await hookedContainer('selected')
    const writer = await hookedContainer('writer')
    const log = recordingLogger()
    await takeSnapshot(
      engine,
      new DirectoryStore(store),
      options(`${prefix}writer`, container),
      log
    )
    expect(log.lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`^warning: volume ${volume} is mounted read-write by .*\\b${writer}\\b`)
      )
    )
    expect(log.lines.join('\n')).not.toMatch(new RegExp(`read-write by .*\\b${container}\\b`))
  })

  it('brings back what a dead run on this host left before taking the container itself', async () => {
    const container = await hookedContainer('dead-holder')
    await docker('pause', container)
    await foreignHold(container, `${hostname()}:${await deadPid()}`, ['pause'])
    const log = recordingLogger()
    const report = await takeSnapshot(
      engine,
      new DirectoryStore(store),
      options(`${prefix}after-dead`, container),
      log
    )
    // It resumed the container, then paused it itself: the pause it records is its own.
    expect(log.lines).toContain(`pausing ${container}`)
    expect(report.manifest.containers[0]).toMatchObject({ running: true, consistency: 'pause' })
    expect(await state(container)).toBe('running paused=false')
    expect(await holdOf(container)).toBe('')
    expect(log.lines.join('\n')).toContain(`the docker-snapshot run of snapshot theirs (pid `)
  })

  it('fails naming a run of another host that holds the container, touching nothing', async () => {
    const container = await hookedContainer('other-host')
    const hold = await foreignHold(container, 'elsewhere:4242', [])
    const attempt = takeSnapshot(
      engine,
      new DirectoryStore(store),
      { ...options(`${prefix}other-host`, container), holdWaitMs: 1500 },
      silentLogger
    )
    await expect(attempt).rejects.toBeInstanceOf(ContainerHeldError)
    await expect(attempt).rejects.toThrow(
      `${container} is held by the docker-snapshot run of snapshot theirs (pid 4242 on host ` +
        'elsewhere, since 2026-11-30T10:00:00.000Z), which did not release it within 2 s; this ' +
        'run paused and stopped nothing.'
    )
    await expect(attempt).rejects.toThrow(`remove the hold: \`docker rm docker-snapshot-hold-`)
    // Nothing ran, nothing was paused, and the other run's hold is still there.
    expect(await state(container)).toBe('running paused=false')
    await expect(hooksRan(container)).rejects.toThrow()
    expect(await holdOf(container)).toBe(hold.slice(0, 12))
    await docker('rm', hold)
  })
})
