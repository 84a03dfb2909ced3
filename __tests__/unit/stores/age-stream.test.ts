import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { Decrypter, generateX25519Identity, identityToRecipient } from 'age-encryption'
import { beforeAll, describe, expect, it } from 'vitest'
import { ageDecryptor, ageEncryptor } from '../../../src/stores/age-stream.js'

const CHUNK = 64 * 1024

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

describe('age payload with node:crypto', () => {
  let identity: string
  let recipient: string
  beforeAll(async () => {
    identity = await generateX25519Identity()
    recipient = await identityToRecipient(identity)
  })

  const decrypter = () => {
    const d = new Decrypter()
    d.addIdentity(identity)
    return d
  }
  const encrypt = async (plain: Buffer) =>
    collect(
      Readable.from([plain.subarray(0, 1000), plain.subarray(1000)]).pipe(
        await ageEncryptor([recipient])
      )
    )
  const decrypt = (sealed: Buffer) => {
    const { stream } = ageDecryptor(decrypter())
    return collect(Readable.from([sealed]).pipe(stream))
  }

  it.each([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17])(
    'writes %i bytes as the age library reads them, and reads them back',
    async size => {
      const plain = randomBytes(size)
      const sealed = await encrypt(plain)
      expect(sealed.length).toBe(
        // Header and nonce, then a 16-byte tag per chunk (one, empty, for no data).
        sealed.indexOf('\n', sealed.indexOf('\n---') + 1) +
          1 +
          16 +
          size +
          16 * Math.max(1, Math.ceil(size / CHUNK))
      )
      expect(Buffer.from(await decrypter().decrypt(sealed))).toEqual(plain)
      expect(await decrypt(sealed)).toEqual(plain)
    }
  )

  it('refuses a file cut at a chunk boundary, one with bytes appended, and a flipped bit', async () => {
    const plain = randomBytes(2 * CHUNK + 5)
    const sealed = await encrypt(plain)
    const cut = sealed.subarray(0, sealed.length - (5 + 16))
    await expect(decrypt(cut)).rejects.toThrow()
    await expect(decrypt(Buffer.concat([sealed, Buffer.from('x')]))).rejects.toThrow()
    const flipped = Buffer.from(sealed)
    flipped[flipped.length - 30] ^= 1
    await expect(decrypt(flipped)).rejects.toThrow()
  })

  it('rejects `opened` before any plaintext when no identity opens the header', async () => {
    const sealed = await encrypt(randomBytes(100))
    const other = new Decrypter()
    other.addIdentity(await generateX25519Identity())
    const { stream, opened } = ageDecryptor(other)
    const failed = new Promise(resolve => stream.on('error', resolve))
    Readable.from([sealed]).pipe(stream)
    await expect(opened).rejects.toThrow(/no identity matched/)
    expect(await failed).toBeInstanceOf(Error)
  })
})
