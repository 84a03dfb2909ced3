import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { InvalidSettingsError, StoreError } from '../../../src/errors.js'
import { DirectoryStore, snapshotDirectory, writeFailure } from '../../../src/stores/directory.js'

const MiB = 1024 * 1024

let scratch: string
let store: DirectoryStore

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'directory-store-'))
  store = await DirectoryStore.open(join(scratch, 'store'))
})

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** `count` chunks of pseudo-random bytes (1 MiB each), and the sha256 of all of them. */
function randomSource(count: number): { stream: Readable; sha256: string; bytes: number } {
  const chunks = Array.from({ length: count }, () => randomBytes(MiB))
  const hash = createHash('sha256')
  for (const chunk of chunks) hash.update(chunk)
  return { stream: Readable.from(chunks), sha256: hash.digest('hex'), bytes: count * MiB }
}

/** A stream that yields `good` MiB and then fails with `error`. */
function failingSource(good: number, error: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let index = 0; index < good; index++) yield randomBytes(MiB)
      throw error
    })()
  )
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of stream) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function filesUnder(directory: string): Promise<string[]> {
  if (!existsSync(directory)) return []
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  return entries
    .filter(entry => entry.isFile())
    .map(entry => join(entry.parentPath, entry.name).slice(directory.length + 1))
    .sort()
}

function manifestWith(createdAt: string): string {
  return JSON.stringify({ schemaVersion: 1, createdAt })
}

describe('open', () => {
  test('creates a missing root, nested', async () => {
    const root = join(scratch, 'a', 'b', 'c')
    const opened = await DirectoryStore.open(root)
    expect((await stat(root)).isDirectory()).toBe(true)
    expect(opened.description).toBe(`directory ${root}`)
    expect(opened.canDelete).toBe(true)
  })

  test('a root below a file is a StoreError that says so', async () => {
    await writeFile(join(scratch, 'file'), 'x')
    const root = join(scratch, 'file', 'store')
    for (const create of [true, false]) {
      await expect(DirectoryStore.open(root, create)).rejects.toThrow(
        `store path ${root} is below a file, not a directory: give the store a directory path`
      )
    }
  })

  test('opened for reading, a missing root is a StoreError and is not created', async () => {
    const root = join(scratch, 'mistyped')
    await expect(DirectoryStore.open(root, false)).rejects.toThrow(
      `no store at ${root}: the directory does not exist. Check the store setting.`
    )
    await expect(stat(root)).rejects.toThrow(/ENOENT/)
  })

  test('a root that is a file is a StoreError that says so, for reading and writing', async () => {
    const root = join(scratch, 'file')
    await writeFile(root, 'x')
    for (const create of [true, false]) {
      const error: unknown = await DirectoryStore.open(root, create).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StoreError)
      expect((error as StoreError).message).toBe(
        `store path ${root} is a file, not a directory: give the store a directory path`
      )
    }
  })
})

describe('put and get', () => {
  test('round-trips a multi-MiB stream, byte for byte', async () => {
    const source = randomSource(6)
    const written = await store.put('nightly-1', 'volumes/pgdata.tar.zst', source.stream)
    expect(written).toBe(source.bytes)
    expect(await store.has('nightly-1', 'volumes/pgdata.tar.zst')).toBe(true)
    expect(await sha256Of(await store.get('nightly-1', 'volumes/pgdata.tar.zst'))).toBe(
      source.sha256
    )
    expect(await filesUnder(store.root)).toEqual(['nightly-1/volumes/pgdata.tar.zst'])
    expect(snapshotDirectory(store.root, 'nightly-1')).toBe(join(store.root, 'nightly-1'))
  })

  test('accepts string chunks and an empty stream', async () => {
    expect(await store.put('s', 'text', Readable.from(['héllo ', 'world']))).toBe(12)
    expect(await store.put('s', 'empty', Readable.from([]))).toBe(0)
    expect(await sha256Of(await store.get('s', 'empty'))).toBe(createHash('sha256').digest('hex'))
  })

  test('a second put replaces the object whole', async () => {
    await store.put('s', 'obj', randomSource(2).stream)
    const second = randomSource(1)
    await store.put('s', 'obj', second.stream)
    expect(await sha256Of(await store.get('s', 'obj'))).toBe(second.sha256)
  })

  test('while an object is being written it is not visible', async () => {
    const data = new PassThrough()
    const done = store.put('s', 'volumes/slow.tar', data)
    data.write(randomBytes(MiB))
    const partial = join(store.root, 's', 'volumes', 'slow.tar.partial')
    for (let tries = 0; !existsSync(partial) && tries < 200; tries++) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    expect(existsSync(partial)).toBe(true)
    expect(await store.has('s', 'volumes/slow.tar')).toBe(false)
    await expect(store.get('s', 'volumes/slow.tar')).rejects.toThrow(StoreError)
    data.end(randomBytes(MiB))
    expect(await done).toBe(2 * MiB)
    expect(await filesUnder(store.root)).toEqual(['s/volumes/slow.tar'])
  })

  test('a source that fails midway leaves no object and no partial file', async () => {
    const failure = new Error('engine closed the archive stream')
    await expect(store.put('s', 'volumes/broken.tar', failingSource(3, failure))).rejects.toBe(
      failure
    )
    expect(await store.has('s', 'volumes/broken.tar')).toBe(false)
    expect(await filesUnder(store.root)).toEqual([])
  })

  test('a failed replacement keeps the previous object', async () => {
    const first = randomSource(1)
    await store.put('s', 'obj', first.stream)
    await expect(store.put('s', 'obj', failingSource(2, new Error('boom')))).rejects.toThrow('boom')
    expect(await sha256Of(await store.get('s', 'obj'))).toBe(first.sha256)
    expect(await filesUnder(store.root)).toEqual(['s/obj'])
  })

  test('an object stream (not bytes) is refused and leaves nothing', async () => {
    await expect(store.put('s', 'obj', Readable.from([{ not: 'bytes' }]))).rejects.toThrow(
      StoreError
    )
    expect(await filesUnder(store.root)).toEqual([])
  })

  test('get of a missing object names the object, the snapshot and the store', async () => {
    await store.put('s', 'volumes/a.tar', Readable.from(['a']))
    await expect(store.get('s', 'volumes/b.tar')).rejects.toThrow(
      `object volumes/b.tar of snapshot s is not in directory ${store.root}`
    )
    await expect(store.get('other', 'volumes/a.tar')).rejects.toThrow(
      `snapshot other is not in directory ${store.root} (looking for object volumes/a.tar)`
    )
    await expect(store.get('other', 'volumes/a.tar')).rejects.toBeInstanceOf(StoreError)
    expect(await store.has('other', 'volumes/a.tar')).toBe(false)
    expect(await store.has('s', 'volumes')).toBe(false)
    await expect(store.get('s', 'volumes')).rejects.toThrow(
      `object volumes of snapshot s is not in directory ${store.root}`
    )
  })
})

describe('names', () => {
  test.each([
    '../escape',
    'a/../../escape',
    '/etc/passwd',
    '..',
    '.',
    'a/./b',
    'a//b',
    'a/',
    '',
    'a\\..\\b',
    'nul\u0000byte',
    'volumes/pgdata.tar.zst.partial'
  ])('object name %j is refused before anything is touched', async name => {
    await expect(store.put('s', name, Readable.from(['x']))).rejects.toThrow(InvalidSettingsError)
    await expect(store.get('s', name)).rejects.toThrow(InvalidSettingsError)
    await expect(store.has('s', name)).rejects.toThrow(InvalidSettingsError)
    expect(await readdir(store.root)).toEqual([])
    expect(existsSync(join(scratch, 'escape'))).toBe(false)
  })

  test.each(['..', '.', '', '../store', 'a/b', 'Upper', '-dash', 'a'.repeat(129)])(
    'snapshot id %j is refused',
    async id => {
      await expect(store.put(id, 'obj', Readable.from(['x']))).rejects.toThrow(InvalidSettingsError)
      await expect(store.delete(id)).rejects.toThrow(`Invalid snapshot id '${id}'`)
      expect(() => snapshotDirectory(store.root, id)).toThrow(InvalidSettingsError)
      expect(existsSync(store.root)).toBe(true)
    }
  )
})

describe('list', () => {
  test('lists every snapshot newest first, with completeness and bytes', async () => {
    // complete, created first
    await store.put('old', 'volumes/a.tar', Readable.from([Buffer.alloc(1000)]))
    await store.put('old', 'manifest.json', Readable.from([manifestWith('2025-01-01T00:00:00Z')]))
    // complete, newest
    await store.put('new', 'volumes/a.tar', Readable.from([Buffer.alloc(300)]))
    await store.put('new', 'images/deep/b.tar', Readable.from([Buffer.alloc(200)]))
    await store.put('new', 'manifest.json', Readable.from([manifestWith('2025-03-01T00:00:00Z')]))
    // interrupted: no manifest; dated by its directory
    await store.put('interrupted', 'volumes/a.tar', Readable.from([Buffer.alloc(50)]))
    const february = new Date('2025-02-01T00:00:00Z')
    await utimes(join(store.root, 'interrupted'), february, february)
    // not snapshots
    await mkdir(join(store.root, 'lost+found'))
    await mkdir(join(store.root, 'Not-A-Snapshot'))
    await writeFile(join(store.root, 'README'), 'not a snapshot')

    const listed = await store.list()
    expect(listed.map(snapshot => snapshot.snapshotId)).toEqual(['new', 'interrupted', 'old'])
    const [newest, interrupted, oldest] = listed
    expect(newest).toEqual({
      snapshotId: 'new',
      complete: true,
      createdAt: new Date('2025-03-01T00:00:00Z'),
      bytes: 500 + manifestWith('2025-03-01T00:00:00Z').length
    })
    expect(interrupted).toEqual({
      snapshotId: 'interrupted',
      complete: false,
      createdAt: february,
      bytes: 50
    })
    expect(oldest!.complete).toBe(true)
    expect(oldest!.createdAt).toEqual(new Date('2025-01-01T00:00:00Z'))
  })

  test('a manifest without a readable createdAt is complete, dated by its directory', async () => {
    await store.put('garbled', 'manifest.json', Readable.from(['{ not json']))
    const march = new Date('2025-03-03T03:03:03Z')
    await utimes(join(store.root, 'garbled'), march, march)
    expect(await store.list()).toEqual([
      { snapshotId: 'garbled', complete: true, createdAt: march, bytes: 10 }
    ])
  })

  test('an empty snapshot directory is an incomplete snapshot', async () => {
    await mkdir(join(store.root, 'empty'))
    const [only] = await store.list()
    expect(only).toMatchObject({ snapshotId: 'empty', complete: false, bytes: 0 })
  })

  test('a store whose root does not exist yet lists nothing', async () => {
    expect(await new DirectoryStore(join(scratch, 'never-created')).list()).toEqual([])
  })
})

describe('delete', () => {
  test('removes the snapshot and only that snapshot', async () => {
    await store.put('keep', 'manifest.json', Readable.from([manifestWith('2025-01-01T00:00:00Z')]))
    await store.put('drop', 'volumes/a.tar', Readable.from(['a']))
    await store.put('drop', 'manifest.json', Readable.from([manifestWith('2025-01-02T00:00:00Z')]))
    await store.delete('drop')
    expect((await store.list()).map(snapshot => snapshot.snapshotId)).toEqual(['keep'])
    expect(await store.has('drop', 'volumes/a.tar')).toBe(false)
    expect(await filesUnder(store.root)).toEqual(['keep/manifest.json'])
  })

  test('deleting a snapshot that is not there does nothing', async () => {
    await expect(store.delete('absent')).resolves.toBeUndefined()
  })
})

describe('write failures', () => {
  const context = { root: '/srv/snapshots', object: 'nightly-1/volumes/pgdata.tar.zst' }

  test.each([
    [
      'ENOSPC',
      'store full: no space left on /srv/snapshots while writing nightly-1/volumes/pgdata.tar.zst ' +
        '(4096 bytes written); free space or choose another store'
    ],
    [
      'EDQUOT',
      'disk quota exceeded on /srv/snapshots while writing nightly-1/volumes/pgdata.tar.zst ' +
        '(4096 bytes written); free space within your quota or choose another store'
    ],
    [
      'EACCES',
      'permission denied writing nightly-1/volumes/pgdata.tar.zst in /srv/snapshots; ' +
        'make the store directory writable by this user or choose another store'
    ],
    [
      'EROFS',
      '/srv/snapshots is on a read-only file system; cannot write ' +
        'nightly-1/volumes/pgdata.tar.zst: choose a writable store directory'
    ],
    [
      'EIO',
      'cannot write nightly-1/volumes/pgdata.tar.zst to directory /srv/snapshots ' +
        '(4096 bytes written): EIO: i/o error, write'
    ]
  ])('%s', (code, expected) => {
    const cause = Object.assign(new Error(`${code}: i/o error, write`), { code, syscall: 'write' })
    const error = writeFailure(cause, { ...context, bytesWritten: 4096 })
    expect(error).toBeInstanceOf(StoreError)
    expect(error.name).toBe('StoreError')
    expect(error.message).toBe(expected)
    expect(error.cause).toBe(cause)
  })
})

// A real full disk: a 1 MiB tmpfs. Needs root (mount); skipped, and said so, without it.
describe('a full file system', () => {
  let mountPoint = ''
  let mounted = false

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'directory-store-tmpfs-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], {
        stdio: 'pipe'
      })
      mounted = true
    } catch (error) {
      // CI runs as root and must run this test; elsewhere (no root) it is skipped, loudly.
      if (process.env.CI) throw error
      console.warn(`skipping the ENOSPC test: cannot mount a tmpfs (${String(error)})`)
    }
  })

  afterAll(async () => {
    if (mounted) execFileSync('umount', [mountPoint])
    await rm(mountPoint, { recursive: true, force: true })
  })

  test('ENOSPC is a StoreError that says the store is full, and leaves nothing', async ctx => {
    if (!mounted) ctx.skip()
    const full = await DirectoryStore.open(join(mountPoint, 'store'))
    const error: unknown = await full
      .put('nightly-1', 'volumes/big.tar.zst', randomSource(3).stream)
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(StoreError)
    const message = (error as StoreError).message
    expect(message).toMatch(
      new RegExp(
        `^store full: no space left on ${full.root} while writing nightly-1/volumes/big\\.tar\\.zst ` +
          '\\((\\d+) bytes written\\); free space or choose another store$'
      )
    )
    const written = Number(/\((\d+) bytes written\)/.exec(message)![1])
    expect(written).toBeGreaterThan(0)
    expect(written).toBeLessThanOrEqual(MiB)
    expect(await filesUnder(full.root)).toEqual([])
    // The space is free again: a small object fits.
    expect(await full.put('nightly-1', 'small', Readable.from(['ok']))).toBe(2)
  })
})

// A read-only file system: a tmpfs remounted read-only. Needs root (mount), as above.
describe('a read-only file system', () => {
  let mountPoint = ''
  let mounted = false

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), 'directory-store-ro-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], {
        stdio: 'pipe'
      })
      mounted = true
      const writable = await DirectoryStore.open(join(mountPoint, 'store'))
      await writable.put(
        'nightly-1',
        'manifest.json',
        Readable.from([manifestWith('2026-01-02T03:04:05Z')])
      )
      execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'pipe' })
    } catch (error) {
      if (process.env.CI) throw error
      console.warn(`skipping the read-only tests: cannot mount a tmpfs (${String(error)})`)
    }
  })

  afterAll(async () => {
    if (mounted) execFileSync('umount', [mountPoint])
    await rm(mountPoint, { recursive: true, force: true })
  })

  test('is read: open for reading, list and get need read access only', async ctx => {
    if (!mounted) ctx.skip()
    const readOnly = await DirectoryStore.open(join(mountPoint, 'store'), false)
    expect((await readOnly.list()).map(s => [s.snapshotId, s.complete])).toEqual([
      ['nightly-1', true]
    ])
    expect(await sha256Of(await readOnly.get('nightly-1', 'manifest.json'))).toBe(
      createHash('sha256').update(manifestWith('2026-01-02T03:04:05Z')).digest('hex')
    )
  })

  test('is refused for writing, up front, with the reason', async ctx => {
    if (!mounted) ctx.skip()
    const root = join(mountPoint, 'store')
    await expect(DirectoryStore.open(root)).rejects.toThrow(
      `store directory ${root} is on a read-only file system; choose a writable store directory`
    )
    const missing = join(mountPoint, 'new', 'store')
    await expect(DirectoryStore.open(missing)).rejects.toThrow(
      `cannot create store directory ${missing}`
    )
  })
})
