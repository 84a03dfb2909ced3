import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/shared/errors.js'
import { CHUNK_BYTES } from '../../src/stores/registry/upload.js'
import { RegistryStore } from '../../src/stores/registry/store.js'
import { startRegistry, type TestRegistry } from '../services/registries.js'
import { docker, inBusybox, removeByPrefix, runBundle, uniquePrefix } from './support.js'

const prefix = uniquePrefix('registry')
const volume = `${prefix}data`
let work: string
let basic: TestRegistry
let bearer: TestRegistry
let open: TestRegistry
/** An environment with no Docker config of the user's, and no password variable. */
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dst-registry-store-'))
  ;[basic, bearer, open] = await Promise.all([
    startRegistry(join(work, 'basic'), 'basic'),
    startRegistry(join(work, 'bearer'), 'bearer'),
    startRegistry(join(work, 'open'), 'none')
  ])
  env = { ...process.env, DOCKER_CONFIG: join(work, 'no-docker-config') }
  delete env.DOCKER_SNAPSHOT_REGISTRY_PASSWORD
  await docker('volume', 'create', volume)
  // Random bytes do not compress: the archive is larger than one upload chunk.
  await inBusybox(
    ['-v', `${volume}:/d`],
    'head -c 12000000 /dev/urandom > /d/random && echo hello > /d/small.txt'
  )
})

afterAll(async () => {
  await removeByPrefix(prefix)
  await Promise.all([basic, bearer, open].map(registry => registry?.stop()))
  if (work) await rm(work, { recursive: true, force: true })
})

const checksums = () => inBusybox(['-v', `${volume}:/d:ro`], 'cd /d && sha256sum random small.txt')

/** Snapshot, remove the volume, restore it from the store: its files come back the same. */
async function roundTrip(store: string, id: string, extra: string[], runEnv = env) {
  const before = await checksums()
  const snapshot = await runBundle(
    ['snapshot', '--volumes', volume, '--store', store, '--snapshot-id', id, ...extra],
    { env: runEnv }
  )
  expect(snapshot.code, snapshot.stderr).toBe(0)
  await docker('volume', 'rm', volume)
  const restore = await runBundle(['restore', '--store', store, '--snapshot-id', id, ...extra], {
    env: runEnv
  })
  expect(restore.code, restore.stderr).toBe(0)
  expect(await checksums()).toBe(before)
  return { snapshot, restore }
}

describe('the registry store, through the CLI', () => {
  it('snapshots into a registry with Basic auth and restores from it', async () => {
    const store = `oci://${basic.host}/dst/snaps`
    const { snapshot } = await roundTrip(store, 'basic-one', [
      '--registry-username',
      basic.username,
      '--registry-password',
      basic.password
    ])
    expect(snapshot.stdout + snapshot.stderr).not.toContain(basic.password)
    // The archive went in more than one chunk.
    expect(basic.requests.filter(r => r.startsWith('PATCH')).length).toBeGreaterThan(1)
    const tags = await fetch(`http://${basic.host}/v2/dst/snaps/tags/list`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`
      }
    })
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(['basic-one'])
  })

  it('says the registry refused the credentials for a wrong password, without it', async () => {
    const run = await runBundle(
      [
        'ls',
        '--store',
        `oci://${basic.host}/dst/snaps`,
        '--registry-username',
        basic.username,
        '--registry-password',
        'wrong-password-1'
      ],
      { env }
    )
    expect(run.code).not.toBe(0)
    expect(run.stderr).toContain(
      `registry ${basic.host} (repository dst/snaps) refused list tags (401: UNAUTHORIZED`
    )
    expect(run.stderr).toContain(
      'It does not accept the credentials from the registry-username and registry-password inputs'
    )
    expect(run.stderr).not.toContain('wrong-password-1')
  })

  it('takes Bearer tokens from a credential helper named in the Docker config', async () => {
    const config = join(work, 'helper-config')
    const bin = join(work, 'bin')
    await mkdir(config, { recursive: true })
    await mkdir(bin, { recursive: true })
    await writeFile(
      join(config, 'config.json'),
      JSON.stringify({ credHelpers: { [bearer.host]: 'dstest' } })
    )
    const helper = join(bin, 'docker-credential-dstest')
    // Answers only for the host it is asked about on stdin, as real helpers do.
    await writeFile(
      helper,
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread -r server\n` +
        `[ "$server" = '${bearer.host}' ] || { echo 'credentials not found in native keychain'; exit 1; }\n` +
        `printf '{"ServerURL":"%s","Username":"${bearer.username}","Secret":"${bearer.password}"}' "$server"\n`
    )
    await chmod(helper, 0o755)
    const helperEnv = { ...env, DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH ?? ''}` }
    const store = `oci://${bearer.host}/dst/snaps`
    await roundTrip(store, 'bearer-one', [], helperEnv)
    // Tokens were asked with the helper's credentials, for this repository's scopes.
    expect(bearer.tokenScopes.flat()).toContain('repository:dst/snaps:pull,push')
    expect(bearer.tokenScopes.flat()).toContain('repository:dst/snaps:pull')
    // Reused per scope: far fewer tokens than requests.
    expect(bearer.tokenScopes.length).toBeLessThan(bearer.requests.length / 3)

    const denied = await runBundle(['ls', '--store', store], { env })
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toContain('refused the credentials from anonymous access')
  })

  it('uploads no archive again for an unchanged volume (12 MB), and prunes by deleting tags', async () => {
    const store = `oci://${open.host}/dst/pruned`
    const archiveUploads: number[] = []
    const patches: number[] = []
    let archiveDigest = ''
    for (const id of ['old-one', 'new-one']) {
      const before = open.requests.length
      const run = await runBundle(
        ['snapshot', '--volumes', volume, '--store', store, '--snapshot-id', id],
        { env }
      )
      expect(run.code, run.stderr).toBe(0)
      const manifest = (await (
        await fetch(`http://${open.host}/v2/dst/pruned/manifests/${id}`, {
          headers: { accept: 'application/vnd.oci.image.manifest.v1+json' }
        })
      ).json()) as { layers: { digest: string; annotations: Record<string, string> }[] }
      const archive = manifest.layers.find(layer =>
        layer.annotations['org.opencontainers.image.title'].startsWith('volumes/')
      )
      expect(archive).toBeDefined()
      archiveDigest ||= archive!.digest
      expect(archive!.digest).toBe(archiveDigest)
      const made = open.requests.slice(before)
      archiveUploads.push(
        made.filter(r => r.startsWith('PUT') && r.includes(encodeURIComponent(archiveDigest)))
          .length
      )
      patches.push(made.filter(r => r.startsWith('PATCH')).length)
    }
    expect(archiveUploads).toEqual([1, 0])
    // The 12 MB archive went in two chunks the first time, in none the second.
    expect(patches).toEqual([2, 0])
    const pruned = await runBundle(['prune', '--store', store, '--keep', '1'], { env })
    expect(pruned.code, pruned.stderr).toBe(0)
    const tags = await fetch(`http://${open.host}/v2/dst/pruned/tags/list`)
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(['new-one'])
  })
})

describe('the registry store, directly', () => {
  const store = () => new RegistryStore(open.host, 'dst/direct', async () => undefined)
  const bytes = (text: string) => Readable.from([Buffer.from(text)])

  it('does not upload a blob the registry holds, and refuses to publish over a tag', async () => {
    const first = await store().begin('same-one')
    await first.put('manifest.json', bytes('{"same":1}'))
    await first.put('volumes/v.tar.zst', bytes('archive bytes'))
    await first.publish({ replace: false })
    const uploadsBefore = open.requests.filter(r => r.startsWith('POST')).length

    const second = await store().begin('same-two')
    expect(await second.put('volumes/v.tar.zst', bytes('archive bytes'))).toBe(13)
    expect(open.requests.filter(r => r.startsWith('POST')).length).toBe(uploadsBefore)

    const again = await store().begin('same-one')
    await again.put('manifest.json', bytes('{"other":2}'))
    const refused = await again.publish({ replace: false }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(StoreError)
    expect((refused as Error).message).toContain('snapshot same-one appeared in registry')
    const kept = await store().get('same-one', 'manifest.json')
    expect(Buffer.concat(await kept.toArray()).toString()).toBe('{"same":1}')

    await again.publish({ replace: true })
    const replaced = await store().get('same-one', 'manifest.json')
    expect(Buffer.concat(await replaced.toArray()).toString()).toBe('{"other":2}')
    expect((await store().list()).map(s => s.snapshotId).sort()).toEqual(['same-one'])
  })

  it('streams an object of several chunks and reads it back byte for byte', async () => {
    const size = 2 * CHUNK_BYTES + 12345
    const data = Buffer.alloc(size)
    for (let i = 0; i < size; i++) data[i] = (i * 7919) % 251
    const writer = await store().begin('chunks')
    // Odd-sized pieces, as a compressor hands them.
    const pieces = Array.from({ length: Math.ceil(size / 100_003) }, (_, i) =>
      data.subarray(i * 100_003, (i + 1) * 100_003)
    )
    expect(await writer.put('big.bin', Readable.from(pieces))).toBe(size)
    await writer.publish({ replace: false })
    const back = Buffer.concat(await (await store().get('chunks', 'big.bin')).toArray())
    expect(back.equals(data)).toBe(true)
    const missing = await store()
      .get('chunks', 'nope.bin')
      .catch((error: unknown) => error)
    expect((missing as Error).message).toContain('object nope.bin of snapshot chunks is not in')
  })

  it('a source that fails midway leaves no object and says why', async () => {
    const writer = await store().begin('broken')
    async function* failing() {
      yield Buffer.alloc(CHUNK_BYTES + 10)
      throw new Error('the engine went away')
    }
    await expect(writer.put('x.bin', Readable.from(failing()))).rejects.toThrow(
      'the engine went away'
    )
    await writer.discard()
    expect(await store().has('broken', 'x.bin')).toBe(false)
  })

  it('says the registry refused a blob midway, and the bytes it had taken', async () => {
    const writer = await store().begin('refused')
    let patches = 0
    open.refuse = request => (request.startsWith('PATCH') && ++patches === 2 ? 413 : undefined)
    try {
      const failure = await writer
        .put('big.bin', Readable.from([Buffer.alloc(3 * CHUNK_BYTES)]))
        .catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(StoreError)
      const message = (failure as Error).message
      expect(message).toContain(
        `registry ${open.host} (repository dst/direct) refused upload bytes ${CHUNK_BYTES}-`
      )
      expect(message).toContain('(413: DENIED quota exceeded)')
      expect(message).toContain('storage quota was reached')
      expect(message).toContain(`refused midway, after ${CHUNK_BYTES} bytes had been accepted`)
    } finally {
      open.refuse = undefined
    }
    await writer.discard()
    expect(await store().has('refused', 'big.bin')).toBe(false)
  })

  it('says so when the registry does not allow deletes, and keeps the snapshot', async () => {
    const writer = await store().begin('kept')
    await writer.put('manifest.json', bytes('{"kept":1}'))
    await writer.publish({ replace: false })
    open.refuse = request =>
      request.startsWith('DELETE /v2/dst/direct/manifests/') ? 405 : undefined
    try {
      await expect(store().delete('kept')).rejects.toThrow(
        `registry oci://${open.host}/dst/direct does not allow deleting, so snapshot kept stays there.`
      )
    } finally {
      open.refuse = undefined
    }
    expect(await store().has('kept', 'manifest.json')).toBe(true)
    expect(await store().delete('kept')).toBe('deleted')
    expect(await store().has('kept', 'manifest.json')).toBe(false)
  })

  it('mounts a blob from another repository without uploading it', async () => {
    const source = await store().begin('mount-source')
    await source.put('data.bin', bytes('mount me'))
    await source.publish({ replace: false })
    const [object] = (await store().list()).filter(s => s.snapshotId === 'mount-source')
    expect(object).toBeDefined()
    const other = new RegistryStore(open.host, 'dst/elsewhere', async () => undefined)
    const digest = `sha256:${createHash('sha256').update('mount me').digest('hex')}`
    expect(await other.client.hasBlob(digest)).toBe(false)
    expect(await other.client.mountBlob(digest, 'dst/direct')).toBe(true)
    expect(await other.client.hasBlob(digest)).toBe(true)
  })
})
