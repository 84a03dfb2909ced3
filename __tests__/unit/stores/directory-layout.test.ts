import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { StoreError } from '../../../src/shared/errors.js'
import { processOwner } from '../../../src/shared/owner.js'
import { listSnapshots } from '../../../src/stores/catalog.js'
import { DirectoryStore } from '../../../src/stores/directory/store.js'
import { DamagedSnapshotError, EMPTY_CONFIG } from '../../../src/stores/oci/format.js'
import { blobFile, layoutBlobs, layoutObjects, layoutSnapshots, sha256 } from '../../oci-layout.js'

let scratch: string
let store: DirectoryStore

beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'directory-layout-'))
  store = await DirectoryStore.open(join(scratch, 'store'))
})

afterEach(async () => {
  await rm(scratch, { recursive: true, force: true })
})

async function publish(id: string, objects: Record<string, string>, replace = false) {
  const writer = await store.begin(id)
  for (const [name, content] of Object.entries(objects)) {
    await writer.put(name, Readable.from([Buffer.from(content)]))
  }
  await writer.publish({ replace })
}

async function textOf(id: string, name: string): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of await store.get(id, name)) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

const ids = async () => (await store.list()).map(snapshot => snapshot.snapshotId).sort()

describe('blobs are stored once', () => {
  test('two snapshots of the same object keep one blob of it', async () => {
    const archive = 'the same volume archive, twice'
    await publish('monday', { 'volumes/db.tar.zst': archive, 'manifest.json': 'monday' })
    await publish('tuesday', { 'volumes/db.tar.zst': archive, 'manifest.json': 'tuesday' })
    const snapshots = await layoutSnapshots(store.root)
    expect(snapshots.monday.objects['volumes/db.tar.zst']).toBe(sha256(archive))
    expect(snapshots.tuesday.objects['volumes/db.tar.zst']).toBe(sha256(archive))
    // One archive, two snapshot manifests, two artifact manifests, the empty config.
    expect(await readdir(join(store.root, 'blobs', 'sha256'))).toHaveLength(6)
    expect(await textOf('tuesday', 'volumes/db.tar.zst')).toBe(archive)
  })

  test('deleting one keeps the blob the other shares and removes what only it used', async () => {
    await publish('monday', { 'volumes/db.tar.zst': 'shared', 'volumes/logs.tar': 'monday only' })
    await publish('tuesday', { 'volumes/db.tar.zst': 'shared', 'manifest.json': 'tuesday' })
    const mondayManifest = (await layoutSnapshots(store.root)).monday.manifest
    expect(await store.delete('monday')).toBe('deleted')
    const blobs = await layoutBlobs(store.root)
    expect(blobs).toContain(sha256('shared'))
    expect(blobs).not.toContain(sha256('monday only'))
    expect(blobs).not.toContain(mondayManifest)
    expect(blobs).toHaveLength(4)
    expect(await textOf('tuesday', 'volumes/db.tar.zst')).toBe('shared')
    expect(await store.delete('tuesday')).toBe('deleted')
    expect(await layoutBlobs(store.root)).toEqual([])
  })

  test('a delete leaves alone the blobs a live writer has put but not yet published', async () => {
    await publish('old', { 'volumes/db.tar': 'reused by the writer' })
    const writer = await store.begin('new')
    await writer.put('volumes/db.tar', Readable.from(['reused by the writer']))
    await writer.put('volumes/fresh.tar', Readable.from(['only the writer has it']))
    expect(await store.delete('old')).toBe('deleted')
    expect(await layoutBlobs(store.root)).toEqual(
      [sha256('reused by the writer'), sha256('only the writer has it')].sort()
    )
    await writer.publish({ replace: false })
    expect(await textOf('new', 'volumes/db.tar')).toBe('reused by the writer')
    expect(await textOf('new', 'volumes/fresh.tar')).toBe('only the writer has it')
  })

  test("another tool's image in index.json, and its blobs, are kept through writes and deletes", async () => {
    const layer = Buffer.from('a foreign layer')
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: EMPTY_CONFIG,
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar',
            digest: sha256(layer),
            size: layer.length
          }
        ]
      })
    )
    await mkdir(join(store.root, 'blobs', 'sha256'), { recursive: true })
    await writeFile(blobFile(store.root, sha256(layer)), layer)
    await writeFile(blobFile(store.root, sha256(manifest)), manifest)
    const foreign = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha256(manifest),
      size: manifest.length,
      annotations: { 'org.opencontainers.image.ref.name': 'busybox:1.36' }
    }
    // As skopeo writes it: no mediaType of its own.
    await writeFile(
      join(store.root, 'index.json'),
      JSON.stringify({ schemaVersion: 2, manifests: [foreign] })
    )
    await writeFile(join(store.root, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    await publish('mine', { 'manifest.json': 'm' })
    expect(await store.delete('mine')).toBe('deleted')
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as {
      manifests: unknown[]
    }
    expect(index.manifests).toEqual([foreign])
    expect(await layoutBlobs(store.root)).toEqual(
      [sha256(layer), sha256(manifest), EMPTY_CONFIG.digest].sort()
    )
    expect(await ids()).toEqual([])
  })
})

describe('a writer killed before it published', () => {
  /** Makes this process's staging area look like a dead run's, as a kill would leave it. */
  async function killWriter(id: string): Promise<void> {
    const dead = encodeURIComponent(`${hostname()}:${spawnSync('true').pid}`)
    const staging = join(store.root, '.staging')
    const [area] = (await readdir(staging)).filter(name => name.startsWith(`${id}@`))
    await rename(
      join(staging, area),
      join(staging, area.replace(encodeURIComponent(processOwner), dead))
    )
  }

  test('leaves no snapshot; discardAbandoned removes its area and its blobs', async () => {
    await publish('kept', { 'volumes/db.tar': 'shared' })
    const before = await layoutBlobs(store.root)
    const writer = await store.begin('killed')
    await writer.put('volumes/db.tar', Readable.from(['shared']))
    await writer.put('volumes/big.tar', Readable.from(['written, never published']))
    expect(await layoutBlobs(store.root)).toContain(sha256('written, never published'))
    await killWriter('killed')

    expect(await ids()).toEqual(['kept'])
    expect(await store.has('killed', 'volumes/big.tar')).toBe(false)
    await expect(store.get('killed', 'volumes/big.tar')).rejects.toThrow(
      `snapshot killed is not in directory ${store.root}`
    )
    expect(await store.discardAbandoned()).toEqual(['killed'])
    expect(await readdir(join(store.root, '.staging'))).toEqual([])
    expect(await layoutBlobs(store.root)).toEqual(before)
    expect(await textOf('kept', 'volumes/db.tar')).toBe('shared')
  })

  test('its staging area, once removed, cannot be published', async () => {
    const writer = await store.begin('s')
    await writer.put('manifest.json', Readable.from(['m']))
    await killWriter('s')
    await store.discardAbandoned()
    await expect(writer.publish({ replace: false })).rejects.toThrow(
      `cannot publish snapshot s in directory ${store.root}: what was written for it is gone`
    )
    expect(await ids()).toEqual([])
  })
})

describe('a damaged layout', () => {
  test.each([
    ['not JSON', '{"schemaVersion": 2, "manifests": [', 'it is not JSON'],
    ['not an object', '[]', 'it is not a JSON object'],
    ['of another version', '{"schemaVersion": 1, "manifests": []}', 'its schemaVersion is not 2'],
    ['without manifests', '{"schemaVersion": 2}', 'it has no manifests list'],
    [
      'with a bad digest',
      '{"schemaVersion": 2, "manifests": [{"digest": "md5:00"}]}',
      'an entry of its manifests list has no valid sha256 digest'
    ]
  ])('an index.json %s is a StoreError that names it, for every use', async (_, text, problem) => {
    await publish('s', { 'manifest.json': 'm' })
    await writeFile(join(store.root, 'index.json'), text)
    const message = `${join(store.root, 'index.json')} is damaged: ${problem}.`
    await expect(store.list()).rejects.toThrow(message)
    await expect(store.get('s', 'manifest.json')).rejects.toThrow(message)
    await expect(store.has('s', 'manifest.json')).rejects.toThrow(message)
    await expect(store.delete('s')).rejects.toThrow(message)
    const writer = await store.begin('t')
    await writer.put('manifest.json', Readable.from(['n']))
    await expect(writer.publish({ replace: false })).rejects.toThrow(message)
    // Nothing was collected while the index could not be read.
    expect(existsSync(blobFile(store.root, sha256('m')))).toBe(true)
    await writer.discard()
    expect(existsSync(blobFile(store.root, sha256('m')))).toBe(true)
    expect(await readFile(join(store.root, 'index.json'), 'utf8')).toBe(text)
  })

  test('a missing object blob is a DamagedSnapshotError naming the object; ls shows it damaged', async () => {
    await publish('s', { 'volumes/db.tar': 'gone', 'manifest.json': '{}' })
    await publish('other', { 'manifest.json': 'fine' })
    await rm(blobFile(store.root, sha256('gone')))
    const error: unknown = await store.get('s', 'volumes/db.tar').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedSnapshotError)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as Error).message).toBe(
      `snapshot s in directory ${store.root} is damaged: the blob of its object volumes/db.tar is ` +
        `missing (${blobFile(store.root, sha256('gone'))}); restore another snapshot`
    )
    await expect(store.has('s', 'volumes/db.tar')).rejects.toThrow(DamagedSnapshotError)
    expect(await textOf('other', 'manifest.json')).toBe('fine')
  })

  test('a missing artifact manifest makes the snapshot damaged, and prune-safe, not the store unreadable', async () => {
    await publish('s', { 'manifest.json': '{}' })
    await publish('other', { 'manifest.json': 'fine' })
    const manifest = (await layoutSnapshots(store.root)).s.manifest
    await rm(blobFile(store.root, manifest))
    await expect(store.get('s', 'manifest.json')).rejects.toThrow(
      `snapshot s in directory ${store.root} is damaged: its artifact manifest ${manifest} is missing`
    )
    const listed = await listSnapshots(store)
    const damaged = listed.find(snapshot => snapshot.snapshotId === 's')
    expect(damaged?.status).toBe('damaged')
    expect(damaged?.problem).toContain(`its artifact manifest ${manifest} is missing`)
    expect(listed.map(snapshot => snapshot.snapshotId).sort()).toEqual(['other', 's'])
  })

  test('a manifest blob that is not our artifact is damaged', async () => {
    await publish('s', { 'manifest.json': '{}' })
    const manifest = (await layoutSnapshots(store.root)).s.manifest
    await writeFile(blobFile(store.root, manifest), '{"schemaVersion":2,"layers":[]}')
    await expect(store.get('s', 'manifest.json')).rejects.toThrow(DamagedSnapshotError)
    await expect(store.get('s', 'manifest.json')).rejects.toThrow(
      `The snapshot artifact of s in directory ${store.root} is not one docker-snapshot can read`
    )
  })
})

describe('snapshots of the older layout', () => {
  /** Writes snapshot `id` as docker-snapshot wrote it before: `<root>/<id>/<object>` files. */
  async function writeLegacy(id: string, objects: Record<string, string>): Promise<void> {
    for (const [name, content] of Object.entries(objects)) {
      await mkdir(join(store.root, id, name, '..'), { recursive: true })
      await writeFile(join(store.root, id, name), content)
    }
  }

  test('are listed, read and deleted beside new ones; new ones are written as the layout', async () => {
    await writeLegacy('old', { 'manifest.json': 'old manifest', 'volumes/db.tar.zst': 'old data' })
    await publish('new', { 'manifest.json': 'new manifest' })
    expect(await ids()).toEqual(['new', 'old'])
    expect((await store.list()).find(s => s.snapshotId === 'old')).toMatchObject({
      hasManifest: true,
      bytes: 'old manifest'.length + 'old data'.length
    })
    expect(await textOf('old', 'volumes/db.tar.zst')).toBe('old data')
    expect(await store.has('old', 'volumes/db.tar.zst')).toBe(true)
    expect(await store.has('old', 'volumes/other.tar')).toBe(false)
    expect(await store.pathOf('old', 'manifest.json')).toBe(
      join(store.root, 'old', 'manifest.json')
    )
    expect(Object.keys(await layoutSnapshots(store.root))).toEqual(['new'])
    expect(existsSync(join(store.root, 'new'))).toBe(false)

    expect(await store.delete('old')).toBe('deleted')
    expect(existsSync(join(store.root, 'old'))).toBe(false)
    expect(await ids()).toEqual(['new'])
    expect(await textOf('new', 'manifest.json')).toBe('new manifest')
  })

  test('one is replaced only with replace, and its directory goes once the new one stands', async () => {
    await writeLegacy('keep', { 'manifest.json': 'old manifest' })
    const writer = await store.begin('keep')
    await writer.put('manifest.json', Readable.from(['new manifest']))
    await expect(writer.publish({ replace: false })).rejects.toThrow(
      `snapshot keep appeared in directory ${store.root} while this one was taken`
    )
    expect(await textOf('keep', 'manifest.json')).toBe('old manifest')
    await writer.publish({ replace: true })
    expect(await textOf('keep', 'manifest.json')).toBe('new manifest')
    expect(existsSync(join(store.root, 'keep'))).toBe(false)
    expect(await layoutObjects(store.root, 'keep')).toEqual({
      'manifest.json': sha256('new manifest')
    })
  })

  test('an older snapshot named blobs is listed, and refuses new snapshots a place to go', async () => {
    await writeLegacy('blobs', { 'manifest.json': 'm' })
    expect(await ids()).toEqual(['blobs'])
    const writer = await store.begin('new')
    await expect(writer.put('manifest.json', Readable.from(['n']))).rejects.toThrow(
      `${store.root} holds a snapshot named blobs from an older docker-snapshot`
    )
    expect(await textOf('blobs', 'manifest.json')).toBe('m')
  })
})
