import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption'
import { beforeAll, describe, expect, it } from 'vitest'
import { MANIFEST_FILE } from '../../../src/manifest/manifest.js'
import { EncryptionKeyError } from '../../../src/shared/errors.js'
import { listSnapshots, readManifest } from '../../../src/stores/catalog.js'
import { AGE_MAGIC, EncryptedStore, KEY_OBJECT } from '../../../src/stores/encrypted.js'
import type { EncryptionSpec } from '../../../src/stores/encryption-spec.js'
import { FakeStore } from '../fakes/store.js'
import { manifestText } from '../restore/fixtures.js'

const NONE: EncryptionSpec = { recipients: [], identities: [] }
const PASSPHRASE = 'correct horse battery staple'

/** Bytes that arrive in many chunks of odd sizes, as an archive does. */
function chunked(data: Buffer): Readable {
  const chunks: Buffer[] = []
  for (let at = 0; at < data.length; at += 7_001) chunks.push(data.subarray(at, at + 7_001))
  return Readable.from(chunks)
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Writes and publishes `objects` as snapshot `snapshotId` through `store`. */
async function write(store: EncryptedStore, snapshotId: string, objects: Record<string, Buffer>) {
  const writer = await store.begin(snapshotId)
  for (const [name, data] of Object.entries(objects)) await writer.put(name, chunked(data))
  await writer.publish({ replace: false })
}

/** The header lines of a stored age file, up to its MAC line. */
function header(stored: Buffer): string[] {
  const text = stored.subarray(0, stored.indexOf('\n---') + 1).toString('latin1')
  return text.split('\n').filter(Boolean)
}

// scrypt takes seconds of a core each time a passphrase is used: on a shared machine, minutes.
describe('EncryptedStore', { timeout: 180_000 }, () => {
  let identity: string
  let recipient: string
  const archive = randomBytes(300_000)
  const manifest = Buffer.from(manifestText('snap-1', new Date('2026-03-01T00:00:00Z')))

  beforeAll(async () => {
    identity = await generateX25519Identity()
    recipient = await identityToRecipient(identity)
  })

  it('stores every object as an age file to the recipients, and reads it back whole', async () => {
    const inner = new FakeStore()
    const store = new EncryptedStore(inner, { recipients: [recipient], identities: [] })
    await write(store, 'snap-1', { 'volume.tar.zst': archive, [MANIFEST_FILE]: manifest })
    for (const [name, plain] of [
      ['volume.tar.zst', archive],
      [MANIFEST_FILE, manifest]
    ] as const) {
      const stored = inner.object('snap-1', name)!
      expect(stored.subarray(0, AGE_MAGIC.length)).toEqual(AGE_MAGIC)
      expect(header(stored)[1]).toMatch(/^-> X25519 /)
      expect(stored.includes(plain.subarray(0, 64))).toBe(false)
      // The library's own decrypter, apart from the store, opens it with the identity.
      const decrypter = new Decrypter()
      decrypter.addIdentity(identity)
      expect(Buffer.from(await decrypter.decrypt(stored))).toEqual(plain)
    }
    const reader = new EncryptedStore(inner, { recipients: [], identities: [identity] })
    expect(await bytesOf(await reader.get('snap-1', 'volume.tar.zst'))).toEqual(archive)
    expect((await readManifest(reader, 'snap-1')).snapshotId).toBe('snap-1')
    expect(inner.objects('snap-1')).toEqual([MANIFEST_FILE, 'volume.tar.zst'])
  })

  it('spends a passphrase once per snapshot: on a key object that opens every other', async () => {
    const inner = new FakeStore()
    await write(new EncryptedStore(inner, { ...NONE, passphrase: PASSPHRASE }), 'snap-1', {
      [MANIFEST_FILE]: manifest,
      'volume.tar.zst': archive
    })
    expect(inner.objects('snap-1')).toEqual([MANIFEST_FILE, KEY_OBJECT, 'volume.tar.zst'])
    expect(header(inner.object('snap-1', KEY_OBJECT)!)[1]).toMatch(/^-> scrypt /)
    expect(header(inner.object('snap-1', 'volume.tar.zst')!)[1]).toMatch(/^-> X25519 /)
    const unlock = new Decrypter()
    unlock.addPassphrase(PASSPHRASE)
    const snapshotKey = (await unlock.decrypt(inner.object('snap-1', KEY_OBJECT)!, 'text')).trim()
    const decrypter = new Decrypter()
    decrypter.addIdentity(snapshotKey)
    expect(Buffer.from(await decrypter.decrypt(inner.object('snap-1', 'volume.tar.zst')!))).toEqual(
      archive
    )

    const reader = new EncryptedStore(inner, { ...NONE, passphrase: PASSPHRASE })
    expect(await bytesOf(await reader.get('snap-1', 'volume.tar.zst'))).toEqual(archive)
    expect((await listSnapshots(reader)).map(s => s.status)).toEqual(['complete'])
  })

  it('shows an encrypted snapshot as encrypted without a key, and says which input to give', async () => {
    const inner = new FakeStore()
    await write(new EncryptedStore(inner, { recipients: [recipient], identities: [] }), 'snap-1', {
      [MANIFEST_FILE]: manifest
    })
    inner.seed('plain-1', MANIFEST_FILE, manifestText('plain-1', new Date('2026-02-01T00:00:00Z')))
    const keyless = new EncryptedStore(inner, NONE)
    const listed = await listSnapshots(keyless)
    expect(listed.map(s => [s.snapshotId, s.status]).sort()).toEqual([
      ['plain-1', 'complete'],
      ['snap-1', 'encrypted']
    ])
    const error = await readManifest(keyless, 'snap-1').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EncryptionKeyError)
    expect((error as Error).message).toBe(
      'Snapshot snap-1 in fake store is encrypted: give the encryption-identity (an age private ' +
        'key or key file) or encryption-passphrase it was taken with. Nothing was touched.'
    )
    // With the key, plain snapshots read as before.
    const keyed = new EncryptedStore(inner, { recipients: [], identities: [identity] })
    expect((await listSnapshots(keyed)).map(s => s.status)).toEqual(['complete', 'complete'])
  })

  it('refuses a wrong identity or passphrase by name, and never shows the key', async () => {
    const inner = new FakeStore()
    await write(new EncryptedStore(inner, { ...NONE, passphrase: PASSPHRASE }), 'snap-1', {
      [MANIFEST_FILE]: manifest
    })
    const other = await generateX25519Identity()
    const wrongIdentity = new EncryptedStore(inner, { recipients: [], identities: [other] })
    const byIdentity = await readManifest(wrongIdentity, 'snap-1').catch((e: unknown) => e)
    expect(byIdentity).toBeInstanceOf(EncryptionKeyError)
    expect((byIdentity as Error).message).toMatch(
      /^Snapshot snap-1 in fake store is encrypted, and the encryption-identity given does not open manifest.json\. /
    )
    expect((byIdentity as Error).message).not.toContain(other)
    const wrongPassphrase = new EncryptedStore(inner, { ...NONE, passphrase: 'not the passphrase' })
    const byPassphrase = await readManifest(wrongPassphrase, 'snap-1').catch((e: unknown) => e)
    expect(byPassphrase).toBeInstanceOf(EncryptionKeyError)
    expect((byPassphrase as Error).message).toMatch(/the encryption-passphrase given does not open/)
    expect((byPassphrase as Error).message).not.toContain('not the passphrase')
    expect((await listSnapshots(wrongPassphrase)).map(s => s.status)).toEqual(['encrypted'])
  })

  it('fails a read of a tampered object instead of returning altered bytes', async () => {
    const inner = new FakeStore()
    await write(new EncryptedStore(inner, { recipients: [recipient], identities: [] }), 'snap-1', {
      'volume.tar.zst': archive
    })
    const stored = Buffer.from(inner.object('snap-1', 'volume.tar.zst')!)
    stored[stored.length - 100] ^= 1
    inner.seed('snap-1', 'volume.tar.zst', stored)
    const reader = new EncryptedStore(inner, { recipients: [], identities: [identity] })
    await expect(bytesOf(await reader.get('snap-1', 'volume.tar.zst'))).rejects.toThrow()
  })

  it('writes and reads plainly without keys, byte for byte', async () => {
    const inner = new FakeStore()
    const store = new EncryptedStore(inner, NONE)
    await write(store, 'snap-1', { 'volume.tar.zst': archive })
    expect(inner.object('snap-1', 'volume.tar.zst')).toEqual(archive)
    expect(await bytesOf(await store.get('snap-1', 'volume.tar.zst'))).toEqual(archive)
  })
})
