import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { gzipSync } from 'node:zlib'
import tar from 'tar-stream'
import { describe, expect, it } from 'vitest'
import { ArchiveIntegrityError, StoreError } from '../../../src/shared/errors.js'
import type { ArchiveRecord } from '../../../src/manifest/manifest.js'
import {
  openArchiveTar,
  verifyStoredDigest,
  verifyVolumeArchive
} from '../../../src/restore/archives.js'
import type { SnapshotStore } from '../../../src/stores/store.js'
import { volumeRecord } from './fixtures.js'

/** A store in memory whose objects can be swapped between two reads. */
class MemoryStore implements SnapshotStore {
  readonly description = 'memory'
  readonly canDelete = false
  readonly objects = new Map<string, Buffer>()
  reads = 0
  begin(): never {
    throw new Error('read-only')
  }
  discardStaged(): never {
    throw new Error('read-only')
  }
  discardAbandoned(): never {
    throw new Error('read-only')
  }
  hold(): never {
    throw new Error('read-only')
  }
  async get(snapshotId: string, name: string): Promise<Readable> {
    const bytes = this.objects.get(`${snapshotId}/${name}`)
    if (bytes === undefined) throw new StoreError(`object ${name} is not in memory`)
    this.reads++
    return Readable.from([bytes.subarray(0, 100), bytes.subarray(100)])
  }
  async has(snapshotId: string, name: string): Promise<boolean> {
    return this.objects.has(`${snapshotId}/${name}`)
  }
  async list() {
    return []
  }
  delete(): never {
    throw new Error('read-only')
  }
}

const mtime = new Date('2020-02-02T02:02:02Z')

async function volumeTar(content: string): Promise<Buffer> {
  const pack = tar.pack()
  pack.entry({ name: './', type: 'directory', mode: 0o750, uid: 33, gid: 33, mtime })
  pack.entry({ name: './a.txt', mode: 0o644, uid: 0, gid: 0, mtime }, content)
  pack.entry({ name: './sub/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime })
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function storedVolume(store: MemoryStore, content = 'hello') {
  const tarBytes = await volumeTar(content)
  const stored = gzipSync(tarBytes)
  const archive: ArchiveRecord = {
    object: 'volumes/v.tar.gz',
    compression: 'gzip',
    sha256: createHash('sha256').update(stored).digest('hex'),
    storedBytes: stored.length,
    tarBytes: tarBytes.length
  }
  store.objects.set(`s/${archive.object}`, stored)
  return volumeRecord('v', {
    archive,
    entries: 2,
    root: { uid: 33, gid: 33, mode: 0o750, mtime: mtime.getTime() / 1000 }
  })
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('verifyVolumeArchive', () => {
  it('accepts an archive that holds what the manifest records', async () => {
    const store = new MemoryStore()
    const volume = await storedVolume(store)
    expect(await verifyVolumeArchive(store, 's', volume)).toMatchObject({ entries: 2 })
  })

  it.each([
    ['entries', { entries: 5 }, /2 entries where it recorded 5/],
    [
      'root owner',
      { root: { uid: 0, gid: 33, mode: 0o750, mtime: 1580608922 } },
      /root uid 33 where it recorded 0/
    ]
  ])('refuses an archive whose %s differ from the manifest', async (_what, change, message) => {
    const store = new MemoryStore()
    const volume = { ...(await storedVolume(store)), ...change }
    await expect(verifyVolumeArchive(store, 's', volume)).rejects.toThrow(ArchiveIntegrityError)
    await expect(verifyVolumeArchive(store, 's', volume)).rejects.toThrow(message)
  })
})

describe('verifyStoredDigest', () => {
  it('names the object and both digests when the bytes differ', async () => {
    const store = new MemoryStore()
    const { archive } = await storedVolume(store)
    await verifyStoredDigest(store, 's', archive, 'image x')
    const other = { ...archive, sha256: 'f'.repeat(64) }
    await expect(verifyStoredDigest(store, 's', other, 'image x')).rejects.toThrow(
      new RegExp(
        `Archive volumes/v.tar.gz \\(image x\\) does not match its manifest.*${'f'.repeat(64)}`
      )
    )
  })
})

describe('openArchiveTar', () => {
  it('reads nothing until the stream is read, then gives the tar and a passing check', async () => {
    const store = new MemoryStore()
    const volume = await storedVolume(store)
    const { tar: stream, check } = openArchiveTar(store, 's', volume.archive, 'volume v')
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(store.reads).toBe(0)
    expect(await drain(stream)).toEqual(await volumeTar('hello'))
    expect(check).not.toThrow()
  })

  it('fails the check when the object changed since it was verified', async () => {
    const store = new MemoryStore()
    const volume = await storedVolume(store)
    // Same length, other bytes: a swap after the first pass.
    await storedVolume(store, 'jello')
    const { tar: stream, check } = openArchiveTar(store, 's', volume.archive, 'volume v')
    await drain(stream)
    expect(check).toThrow(/volume v\) does not match its manifest: it changed in the store/)
  })

  it('fails the stream itself when the bytes cannot be decompressed or read', async () => {
    const store = new MemoryStore()
    const volume = await storedVolume(store)
    store.objects.set(`s/${volume.archive.object}`, Buffer.from('not gzip at all'))
    await expect(drain(openArchiveTar(store, 's', volume.archive, 'v').tar)).rejects.toThrow()
    const missing = { ...volume.archive, object: 'volumes/missing.tar.gz' }
    await expect(drain(openArchiveTar(store, 's', missing, 'v').tar)).rejects.toThrow(StoreError)
  })
})
