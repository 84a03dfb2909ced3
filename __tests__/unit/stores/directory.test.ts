import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest'
import { InvalidSettingsError, StoreError } from '../../../src/shared/errors.js'
import { processOwner } from '../../../src/shared/owner.js'
import { EMPTY_CONFIG } from '../../../src/stores/oci/format.js'
import { writeFailure } from '../../../src/stores/directory/files.js'
import { DirectoryStore } from '../../../src/stores/directory/store.js'
import { blobFile, layoutBlobs, layoutObjects, layoutSnapshots, sha256 } from '../../oci-layout.js'

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

/** The files under `directory`, outside the store's own dot-folders (staging, holds). */
async function filesUnder(directory: string): Promise<string[]> {
  if (!existsSync(directory)) return []
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  return entries
    .filter(entry => entry.isFile())
    .map(entry => join(entry.parentPath, entry.name).slice(directory.length + 1))
    .filter(path => !path.startsWith('.'))
    .sort()
}

function manifestWith(createdAt: string): string {
  return JSON.stringify({ schemaVersion: 1, createdAt })
}

/** Writes and publishes snapshot `id` with these objects. */
async function publish(
  id: string,
  objects: Record<string, string | Buffer>,
  replace = false
): Promise<void> {
  const writer = await store.begin(id)
  for (const [name, content] of Object.entries(objects)) {
    await writer.put(name, Readable.from([content]))
  }
  await writer.publish({ replace })
}

async function textOf(id: string, name: string): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of await store.get(id, name)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

/** Every object of a published snapshot with the bytes of its blob, to compare before and after. */
async function snapshotBytes(id: string): Promise<Record<string, string>> {
  const objects = await layoutObjects(store.root, id)
  return Object.fromEntries(
    await Promise.all(
      Object.entries(objects).map(async ([name, digest]) => [
        name,
        (await readFile(blobFile(store.root, digest))).toString('hex')
      ])
    )
  )
}

/** What the layout holds: each snapshot's objects (name → digest) and every blob. */
async function layout() {
  const snapshots = await layoutSnapshots(store.root)
  return {
    objects: Object.fromEntries(Object.entries(snapshots).map(([id, s]) => [id, s.objects])),
    blobs: await layoutBlobs(store.root)
  }
}

/** The blobs a layout holding exactly these snapshots must have: theirs, their manifests, `{}`. */
async function blobsOf(...ids: string[]): Promise<string[]> {
  const snapshots = await layoutSnapshots(store.root)
  const digests = new Set<string>(ids.length > 0 ? [EMPTY_CONFIG.digest] : [])
  for (const id of ids) {
    digests.add(snapshots[id].manifest)
    for (const digest of Object.values(snapshots[id].objects)) digests.add(digest)
  }
  return [...digests].sort()
}

/** The staging areas of the store (snapshots being written or abandoned). */
async function staged(): Promise<string[]> {
  const directory = join(store.root, '.staging')
  return existsSync(directory) ? readdir(directory) : []
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync('true').pid
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

describe('writing a snapshot', () => {
  test('round-trips a multi-MiB stream, byte for byte, once published', async () => {
    const source = randomSource(6)
    const writer = await store.begin('nightly-1')
    const written = await writer.put('volumes/pgdata.tar.zst', source.stream)
    expect(written).toBe(source.bytes)
    await writer.publish({ replace: false })
    expect(await store.has('nightly-1', 'volumes/pgdata.tar.zst')).toBe(true)
    expect(await sha256Of(await store.get('nightly-1', 'volumes/pgdata.tar.zst'))).toBe(
      source.sha256
    )
    const data = `sha256:${source.sha256}`
    expect(await layout()).toEqual({
      objects: { 'nightly-1': { 'volumes/pgdata.tar.zst': data } },
      blobs: await blobsOf('nightly-1')
    })
    expect(await layoutBlobs(store.root)).toHaveLength(3)
    expect(sha256(await readFile(blobFile(store.root, data)))).toBe(data)
    expect(await filesUnder(store.root)).toEqual([
      ...(await blobsOf('nightly-1')).map(digest => `blobs/sha256/${digest.slice(7)}`),
      'index.json',
      'oci-layout'
    ])
    expect(await staged()).toEqual([])
  })

  test('accepts string chunks and an empty stream', async () => {
    const writer = await store.begin('s')
    expect(await writer.put('text', Readable.from(['héllo ', 'world']))).toBe(12)
    expect(await writer.put('empty', Readable.from([]))).toBe(0)
    await writer.publish({ replace: false })
    expect(await sha256Of(await store.get('s', 'empty'))).toBe(createHash('sha256').digest('hex'))
  })

  test('a second put replaces the object whole', async () => {
    const writer = await store.begin('s')
    await writer.put('obj', randomSource(2).stream)
    const second = randomSource(1)
    await writer.put('obj', second.stream)
    await writer.publish({ replace: false })
    expect(await sha256Of(await store.get('s', 'obj'))).toBe(second.sha256)
  })

  test('until it is published, nothing of it is under its id or in the list', async () => {
    const writer = await store.begin('s')
    await writer.put('volumes/a.tar', Readable.from(['a']))
    await writer.put('manifest.json', Readable.from([manifestWith('2025-01-01T00:00:00Z')]))
    expect(existsSync(join(store.root, 's'))).toBe(false)
    expect(await layoutSnapshots(store.root)).toEqual({})
    expect(await store.has('s', 'volumes/a.tar')).toBe(false)
    await expect(store.get('s', 'volumes/a.tar')).rejects.toThrow(StoreError)
    expect(await store.list()).toEqual([])
    const [area] = await staged()
    expect(area).toMatch(new RegExp(`^s@${encodeURIComponent(processOwner)}@[0-9a-f]{8}$`))
    await writer.publish({ replace: false })
    expect((await store.list()).map(snapshot => snapshot.snapshotId)).toEqual(['s'])
    expect(await staged()).toEqual([])
  })

  test('while an object is being written it is not visible, even to the writer', async () => {
    const writer = await store.begin('s')
    const data = new PassThrough()
    const done = writer.put('volumes/slow.tar', data)
    data.write(randomBytes(MiB))
    const [area] = await staged()
    const partials = async () =>
      (await readdir(join(store.root, '.staging', area))).filter(name => name.endsWith('.partial'))
    for (let tries = 0; (await partials()).length === 0 && tries < 200; tries++) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    expect(await partials()).toHaveLength(1)
    expect(await layoutBlobs(store.root)).toEqual([])
    expect(await store.has('s', 'volumes/slow.tar')).toBe(false)
    const last = randomBytes(MiB)
    data.end(last)
    expect(await done).toBe(2 * MiB)
    expect(await partials()).toEqual([])
    await writer.publish({ replace: false })
    expect(Object.keys((await layout()).objects.s)).toEqual(['volumes/slow.tar'])
  })

  test('a source that fails midway leaves no object and no partial file', async () => {
    const writer = await store.begin('s')
    const failure = new Error('engine closed the archive stream')
    await expect(writer.put('volumes/broken.tar', failingSource(3, failure))).rejects.toBe(failure)
    expect(await filesUnder(join(store.root, '.staging'))).toEqual([])
    expect(await layoutBlobs(store.root)).toEqual([])
  })

  test('a failed replacement keeps the previous object', async () => {
    const writer = await store.begin('s')
    const first = randomSource(1)
    await writer.put('obj', first.stream)
    await expect(writer.put('obj', failingSource(2, new Error('boom')))).rejects.toThrow('boom')
    await writer.publish({ replace: false })
    expect(await sha256Of(await store.get('s', 'obj'))).toBe(first.sha256)
    expect(await layout()).toEqual({
      objects: { s: { obj: `sha256:${first.sha256}` } },
      blobs: await blobsOf('s')
    })
  })

  test('an object stream (not bytes) is refused and leaves nothing', async () => {
    const writer = await store.begin('s')
    await expect(writer.put('obj', Readable.from([{ not: 'bytes' }]))).rejects.toThrow(StoreError)
    expect(await filesUnder(join(store.root, '.staging'))).toEqual([])
  })

  test('discard removes what was written, and only that', async () => {
    await publish('s', { obj: 'old' })
    const writer = await store.begin('s')
    await writer.put('obj', Readable.from(['new']))
    await writer.discard()
    expect(await staged()).toEqual([])
    expect(await textOf('s', 'obj')).toBe('old')
  })

  test('get of a missing object names the object, the snapshot and the store', async () => {
    await publish('s', { 'volumes/a.tar': 'a' })
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

describe('publishing over an existing snapshot', () => {
  test('without replace it fails and leaves the existing snapshot byte for byte', async () => {
    await publish('keep', { 'manifest.json': 'old manifest', 'volumes/a.tar': 'old data' })
    const before = await snapshotBytes('keep')
    const writer = await store.begin('keep')
    await writer.put('manifest.json', Readable.from(['new manifest']))
    const error: unknown = await writer.publish({ replace: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as StoreError).message).toBe(
      `snapshot keep appeared in directory ${store.root} while this one was taken; it was left ` +
        'as it is and this snapshot was not kept. Take it again under another id.'
    )
    expect(await snapshotBytes('keep')).toEqual(before)
    await writer.discard()
    expect(await staged()).toEqual([])
    expect(await snapshotBytes('keep')).toEqual(before)
  })

  test('with replace the new snapshot takes the id whole and the old one is gone', async () => {
    await publish('keep', { 'manifest.json': 'old manifest', 'volumes/old.tar': 'old data' })
    await publish('keep', { 'manifest.json': 'new manifest', 'volumes/new.tar': 'new' }, true)
    expect(await layout()).toEqual({
      objects: {
        keep: { 'manifest.json': sha256('new manifest'), 'volumes/new.tar': sha256('new') }
      },
      // The old snapshot's blobs went with it.
      blobs: await blobsOf('keep')
    })
    expect(await textOf('keep', 'manifest.json')).toBe('new manifest')
  })

  test('with replace, a failure to move the new one in puts the old one back', async () => {
    await publish('keep', { 'manifest.json': 'old manifest' })
    const before = await snapshotBytes('keep')
    const writer = await store.begin('keep')
    await writer.put('manifest.json', Readable.from(['new manifest']))
    // What was staged vanishes (a hostile hand, a mistaken cleanup): publishing must fail.
    await rm(join(store.root, '.staging'), { recursive: true })
    await expect(writer.publish({ replace: true })).rejects.toThrow(
      `cannot publish snapshot keep in directory ${store.root}`
    )
    expect(await snapshotBytes('keep')).toEqual(before)
    expect(await textOf('keep', 'manifest.json')).toBe('old manifest')
  })

  test('with replace, a snapshot a live process holds is left as it is', async () => {
    await publish('keep', { 'manifest.json': 'old manifest' })
    const hold = await store.hold('keep')
    const writer = await store.begin('keep')
    await writer.put('manifest.json', Readable.from(['new manifest']))
    await expect(writer.publish({ replace: true })).rejects.toThrow(
      `snapshot keep in directory ${store.root} is being read by ${processOwner}`
    )
    expect(await textOf('keep', 'manifest.json')).toBe('old manifest')
    await hold.release()
    await writer.publish({ replace: true })
    expect(await textOf('keep', 'manifest.json')).toBe('new manifest')
  })
})

describe('discardStaged', () => {
  test('removes only what the owner staged for that id, never a published snapshot', async () => {
    await publish('keep', { 'manifest.json': 'published' })
    const mine = await store.begin('keep')
    await mine.put('volumes/a.tar', Readable.from(['a']))
    const otherId = await store.begin('other')
    await otherId.put('volumes/a.tar', Readable.from(['a']))
    const someoneElse = `${encodeURIComponent('elsewhere:42')}`
    await mkdir(join(store.root, '.staging', `keep@${someoneElse}@00000000`))

    const mineName = `keep@${encodeURIComponent(processOwner)}@`
    const others = (await staged()).filter(name => !name.startsWith(mineName)).sort()
    expect(others).toHaveLength(2)

    expect(await store.discardStaged('keep', processOwner)).toBe(1)
    expect((await staged()).sort()).toEqual(others)
    expect(await textOf('keep', 'manifest.json')).toBe('published')
    expect(await store.discardStaged('keep', processOwner)).toBe(0)
    expect(await store.discardStaged('never', processOwner)).toBe(0)
  })
})

describe('discardAbandoned', () => {
  test("removes only what dead runs of this host staged; live and other hosts' stay", async () => {
    await publish('keep', { 'manifest.json': 'published' })
    const live = await store.begin('keep')
    await live.put('volumes/a.tar', Readable.from(['a']))
    const dead = encodeURIComponent(`${hostname()}:${deadPid()}`)
    const elsewhere = encodeURIComponent('elsewhere:42')
    await mkdir(join(store.root, '.staging', `keep@${dead}@00000000`, 'volumes'), {
      recursive: true
    })
    await mkdir(join(store.root, '.staging', `gone@${dead}@11111111`))
    await mkdir(join(store.root, '.staging', `keep@${elsewhere}@22222222`))

    expect((await store.discardAbandoned()).sort()).toEqual(['gone', 'keep'])
    const left = await staged()
    expect(left).toHaveLength(2)
    expect(left).toContain(`keep@${elsewhere}@22222222`)
    expect(left.some(name => name.startsWith(`keep@${encodeURIComponent(processOwner)}@`))).toBe(
      true
    )
    expect(await textOf('keep', 'manifest.json')).toBe('published')
    await live.publish({ replace: true })
    expect(await textOf('keep', 'volumes/a.tar')).toBe('a')
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
    const writer = await store.begin('s')
    await expect(writer.put(name, Readable.from(['x']))).rejects.toThrow(InvalidSettingsError)
    await expect(store.get('s', name)).rejects.toThrow(InvalidSettingsError)
    await expect(store.has('s', name)).rejects.toThrow(InvalidSettingsError)
    expect(await filesUnder(store.root)).toEqual([])
    expect(existsSync(join(scratch, 'escape'))).toBe(false)
  })

  test.each(['..', '.', '', '../store', 'a/b', 'Upper', '-dash', 'a'.repeat(129)])(
    'snapshot id %j is refused',
    async id => {
      await expect(store.begin(id)).rejects.toThrow(InvalidSettingsError)
      await expect(store.delete(id)).rejects.toThrow(`Invalid snapshot id '${id}'`)
      await expect(store.hold(id)).rejects.toThrow(`Invalid snapshot id '${id}'`)
      await expect(store.discardStaged(id, processOwner)).rejects.toThrow(InvalidSettingsError)
      await expect(store.get(id, 'manifest.json')).rejects.toThrow(InvalidSettingsError)
      await expect(store.has(id, 'manifest.json')).rejects.toThrow(InvalidSettingsError)
      expect(await readdir(store.root)).toEqual([])
    }
  )
})

describe('list', () => {
  test('lists every published snapshot, with its manifest or not, its time and bytes', async () => {
    await publish('old', {
      'volumes/a.tar': Buffer.alloc(1000),
      'manifest.json': manifestWith('2025-01-01T00:00:00Z')
    })
    const before = Date.now()
    await publish('new', {
      'volumes/a.tar': Buffer.alloc(300),
      'images/deep/b.tar': Buffer.alloc(200),
      'manifest.json': '{ not json'
    })
    const after = Date.now()
    // Interrupted, as an older version left it: no manifest.
    await mkdir(join(store.root, 'interrupted'))
    await writeFile(join(store.root, 'interrupted', 'a.tar'), Buffer.alloc(50))
    const february = new Date('2025-02-01T00:00:00Z')
    await utimes(join(store.root, 'interrupted'), february, february)
    // Not snapshots: another file system's folder, a bad id, a file, one being written.
    await mkdir(join(store.root, 'lost+found'))
    await mkdir(join(store.root, 'Not-A-Snapshot'))
    await writeFile(join(store.root, 'README'), 'not a snapshot')
    await (await store.begin('staged')).put('manifest.json', Readable.from(['{}']))

    const listed = await store.list()
    const byId = Object.fromEntries(listed.map(snapshot => [snapshot.snapshotId, snapshot]))
    expect(Object.keys(byId).sort()).toEqual(['interrupted', 'new', 'old'])
    expect(byId.new).toMatchObject({
      snapshotId: 'new',
      hasManifest: true,
      bytes: 500 + '{ not json'.length
    })
    expect(byId.new.modifiedAt.getTime()).toBeGreaterThanOrEqual(before)
    expect(byId.new.modifiedAt.getTime()).toBeLessThanOrEqual(after)
    expect(byId.interrupted).toEqual({
      snapshotId: 'interrupted',
      hasManifest: false,
      modifiedAt: february,
      bytes: 50
    })
    expect(byId.old.hasManifest).toBe(true)
  })

  test('an empty snapshot directory is a snapshot without a manifest', async () => {
    await mkdir(join(store.root, 'empty'))
    const [only] = await store.list()
    expect(only).toMatchObject({ snapshotId: 'empty', hasManifest: false, bytes: 0 })
  })

  test('a store whose root does not exist yet lists nothing', async () => {
    expect(await new DirectoryStore(join(scratch, 'never-created')).list()).toEqual([])
  })
})

describe('delete and hold', () => {
  test('removes the snapshot and only that snapshot', async () => {
    await publish('keep', { 'manifest.json': manifestWith('2025-01-01T00:00:00Z') })
    await publish('drop', {
      'volumes/a.tar': 'a',
      'manifest.json': manifestWith('2025-01-02T00:00:00Z')
    })
    expect(await store.delete('drop')).toBe('deleted')
    expect((await store.list()).map(snapshot => snapshot.snapshotId)).toEqual(['keep'])
    expect(await store.has('drop', 'volumes/a.tar')).toBe(false)
    expect(await layout()).toEqual({
      objects: { keep: { 'manifest.json': sha256(manifestWith('2025-01-01T00:00:00Z')) } },
      blobs: await blobsOf('keep')
    })
  })

  test('deleting a snapshot that is not there does nothing', async () => {
    await expect(store.delete('absent')).resolves.toBe('deleted')
  })

  test('a held snapshot is not deleted until the hold is released', async () => {
    await publish('keep', { 'manifest.json': 'm' })
    const first = await store.hold('keep')
    const second = await store.hold('keep')
    expect(await store.delete('keep')).toBe('held')
    await first.release()
    expect(await store.delete('keep')).toBe('held')
    expect(await textOf('keep', 'manifest.json')).toBe('m')
    await second.release()
    expect(await store.delete('keep')).toBe('deleted')
    expect(await layout()).toEqual({ objects: {}, blobs: [] })
  })

  test("a dead process's hold is ignored, and removed with the snapshot", async () => {
    await publish('keep', { 'manifest.json': 'm' })
    const dead = `${hostname()}:${deadPid()}`
    await mkdir(join(store.root, '.holds', 'keep'), { recursive: true })
    await writeFile(join(store.root, '.holds', 'keep', `${encodeURIComponent(dead)}@00000000`), '')
    expect(await store.delete('keep')).toBe('deleted')
    expect(existsSync(join(store.root, '.holds', 'keep'))).toBe(false)
  })

  test("another host's hold counts: nothing here can tell whether it still runs", async () => {
    await publish('keep', { 'manifest.json': 'm' })
    await mkdir(join(store.root, '.holds', 'keep'), { recursive: true })
    await writeFile(
      join(store.root, '.holds', 'keep', `${encodeURIComponent('elsewhere:1')}@00000000`),
      ''
    )
    expect(await store.delete('keep')).toBe('held')
  })

  test("a dead process's lock is broken; a live one's makes others wait", async () => {
    await publish('keep', { 'manifest.json': 'm' })
    await writeFile(join(store.root, '.lock'), `${hostname()}:${deadPid()}`)
    expect(await store.delete('keep')).toBe('deleted')
    expect(existsSync(join(store.root, '.lock'))).toBe(false)

    await publish('keep', { 'manifest.json': 'm' })
    await writeFile(join(store.root, '.lock'), processOwner)
    let settled = false
    const deleting = store.delete('keep').finally(() => (settled = true))
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(settled).toBe(false)
    expect(await textOf('keep', 'manifest.json')).toBe('m')
    await rm(join(store.root, '.lock'))
    expect(await deleting).toBe('deleted')
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

/**
 * A 1 MiB tmpfs mounted for the enclosing describe block, after which `prepare` runs (e.g. to
 * remount it read-only). Needs root (mount): CI runs as root and must run these tests; elsewhere
 * they are skipped, loudly.
 */
function tmpfsFor(what: string, prepare: (mountPoint: string) => Promise<void> = async () => {}) {
  const tmpfs = { path: '', mounted: false }
  beforeAll(async () => {
    tmpfs.path = await mkdtemp(join(tmpdir(), 'directory-store-tmpfs-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', tmpfs.path], {
        stdio: 'pipe'
      })
      tmpfs.mounted = true
      await prepare(tmpfs.path)
    } catch (error) {
      if (process.env.CI) throw error
      console.warn(`skipping ${what}: cannot mount a tmpfs (${String(error)})`)
      tmpfs.mounted = false
    }
  })
  afterAll(async () => {
    if (tmpfs.mounted) execFileSync('umount', [tmpfs.path])
    await rm(tmpfs.path, { recursive: true, force: true })
  })
  return tmpfs
}

// A real full disk.
describe('a full file system', () => {
  const tmpfs = tmpfsFor('the ENOSPC test')

  test('ENOSPC is a StoreError that says the store is full, and leaves nothing', async ctx => {
    if (!tmpfs.mounted) ctx.skip()
    const full = await DirectoryStore.open(join(tmpfs.path, 'store'))
    const writer = await full.begin('nightly-1')
    const error: unknown = await writer
      .put('volumes/big.tar.zst', randomSource(3).stream)
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
    expect(await filesUnder(join(full.root, '.staging'))).toEqual([])
    // The space is free again: a small object fits.
    expect(await writer.put('small', Readable.from(['ok']))).toBe(2)
  })
})

// A read-only mount: the tmpfs remounted read-only.
describe('a read-only store', () => {
  const tmpfs = tmpfsFor('the read-only store test')

  test('can be held (as a no-op) and read, so restore and verify work from it', async ctx => {
    if (!tmpfs.mounted) ctx.skip()
    const writable = await DirectoryStore.open(join(tmpfs.path, 'store'))
    const writer = await writable.begin('keep')
    await writer.put('manifest.json', Readable.from(['m']))
    await writer.publish({ replace: false })
    execFileSync('mount', ['-o', 'remount,ro', tmpfs.path])
    const readOnly = new DirectoryStore(join(tmpfs.path, 'store'))
    const hold = await readOnly.hold('keep')
    const chunks: Buffer[] = []
    for await (const chunk of await readOnly.get('keep', 'manifest.json')) {
      chunks.push(chunk as Buffer)
    }
    expect(Buffer.concat(chunks).toString()).toBe('m')
    await expect(hold.release()).resolves.toBeUndefined()
    await expect(readOnly.begin('other')).rejects.toThrow(StoreError)
  })
})

// A read-only file system: the tmpfs remounted read-only before the tests.
describe('a read-only file system', () => {
  const tmpfs = tmpfsFor('the read-only tests', async mountPoint => {
    const writable = await DirectoryStore.open(join(mountPoint, 'store'))
    const writer = await writable.begin('nightly-1')
    await writer.put('manifest.json', Readable.from([manifestWith('2026-01-02T03:04:05Z')]))
    await writer.publish({ replace: false })
    execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'pipe' })
  })

  test('is read: open for reading, list and get need read access only', async ctx => {
    if (!tmpfs.mounted) ctx.skip()
    const readOnly = await DirectoryStore.open(join(tmpfs.path, 'store'), false)
    expect((await readOnly.list()).map(s => [s.snapshotId, s.hasManifest])).toEqual([
      ['nightly-1', true]
    ])
    expect(await sha256Of(await readOnly.get('nightly-1', 'manifest.json'))).toBe(
      createHash('sha256').update(manifestWith('2026-01-02T03:04:05Z')).digest('hex')
    )
  })

  test('is refused for writing, up front, with the reason', async ctx => {
    if (!tmpfs.mounted) ctx.skip()
    const root = join(tmpfs.path, 'store')
    await expect(DirectoryStore.open(root)).rejects.toThrow(
      `store directory ${root} is on a read-only file system; choose a writable store directory`
    )
    const missing = join(tmpfs.path, 'new', 'store')
    await expect(DirectoryStore.open(missing)).rejects.toThrow(
      `cannot create store directory ${missing}`
    )
  })
})
