/**
 * Encryption at rest, as a store decorator: every object written is an age file (the `age` tool
 * decrypts it), and reads decrypt in the stream. Objects are encrypted to X25519 public keys,
 * which is fast; a passphrase (scrypt, seconds of one core each time) is spent once per snapshot:
 * it encrypts a fresh X25519 private key, the snapshot key object, whose public key every other
 * object is encrypted to. `age -d KEY_OBJECT > key; age -d -i key OBJECT` opens one by hand.
 * The payload is ciphered with node:crypto (age-stream.ts), off the age library's slow path.
 */
import { Readable, pipeline } from 'node:stream'
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption'
import { ageDecryptor, ageEncryptor } from './age-stream.js'
import { EncryptionKeyError } from '../shared/errors.js'
import type { EncryptionSpec } from './encryption-spec.js'
import { encrypts, recipientsOf } from './encryption-spec.js'
import type { SnapshotStore, SnapshotWriter } from './store.js'

/** How every age file begins. */
export const AGE_MAGIC = Buffer.from('age-encryption.org/v1')

/** The object holding a snapshot's private key, encrypted under the passphrase. */
export const KEY_OBJECT = 'snapshot-key.age'

const KEY_INPUTS = 'encryption-identity (an age private key or key file) or encryption-passphrase'

/** The first bytes of a stream (at least `length`, unless it is shorter), and the rest of it. */
async function peek(stream: Readable, length: number) {
  const rest = stream[Symbol.asyncIterator]() as AsyncIterator<unknown>
  const chunks: Buffer[] = []
  let bytes = 0
  while (bytes < length) {
    const next = await rest.next()
    if (next.done) break
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : (next.value as Buffer)
    chunks.push(chunk)
    bytes += chunk.length
  }
  return { head: Buffer.concat(chunks), rest }
}

async function* prefixed(head: Buffer, rest: AsyncIterator<unknown>) {
  try {
    if (head.length > 0) yield head
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value
  } finally {
    await rest.return?.()
  }
}

/** Writes each object as an age file to `recipients`. */
class EncryptingWriter implements SnapshotWriter {
  constructor(
    private readonly inner: SnapshotWriter,
    private readonly recipients: string[]
  ) {}

  get snapshotId(): string {
    return this.inner.snapshotId
  }

  async put(name: string, data: Readable): Promise<number> {
    const encryptor = await ageEncryptor(this.recipients)
    // Either side failing ends both; the store sees the error on what it reads.
    return this.inner.put(
      name,
      pipeline(data, encryptor, () => undefined)
    )
  }

  publish(options: { replace: boolean }): Promise<void> {
    return this.inner.publish(options)
  }

  discard(): Promise<void> {
    return this.inner.discard()
  }
}

/** A store whose snapshots are encrypted when the run has keys, and read whether or not. */
export class EncryptedStore implements SnapshotStore {
  /** Per snapshot, what decrypts it (a passphrase costs seconds: spent once per snapshot). */
  private readonly decrypters = new Map<string, Promise<Decrypter>>()

  constructor(
    private readonly inner: SnapshotStore,
    private readonly spec: EncryptionSpec
  ) {}

  get description(): string {
    return this.inner.description
  }

  get canDelete(): boolean {
    return this.inner.canDelete
  }

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    const writer = await this.inner.begin(snapshotId)
    if (!encrypts(this.spec)) return writer
    try {
      const recipients = await recipientsOf(this.spec)
      if (this.spec.passphrase) {
        const snapshotKey = await generateX25519Identity()
        const keyEncrypter = new Encrypter()
        keyEncrypter.setPassphrase(this.spec.passphrase)
        const sealed = await keyEncrypter.encrypt(`${snapshotKey}\n`)
        await writer.put(KEY_OBJECT, Readable.from([Buffer.from(sealed)]))
        recipients.push(await identityToRecipient(snapshotKey))
      }
      return new EncryptingWriter(writer, recipients)
    } catch (error) {
      await writer.discard()
      throw error
    }
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const stored = await this.inner.get(snapshotId, name)
    const { head, rest } = await peek(stored, AGE_MAGIC.length)
    if (!head.subarray(0, AGE_MAGIC.length).equals(AGE_MAGIC)) {
      return Readable.from(prefixed(head, rest))
    }
    const decrypter = await this.decrypterFor(snapshotId)
    const { stream, opened } = ageDecryptor(decrypter)
    pipeline(Readable.from(prefixed(head, rest)), stream, () => undefined)
    try {
      await opened
    } catch (error) {
      stream.destroy()
      throw new EncryptionKeyError(
        `Snapshot ${snapshotId} in ${this.description} is encrypted, and the ` +
          `${this.given()} given does not open ${name}. Give the ${KEY_INPUTS} it was taken with.`,
        { cause: error }
      )
    }
    return stream
  }

  /** The inputs this run was given to decrypt with, for messages. */
  private given(): string {
    const given = [
      ...(this.spec.identities.length > 0 ? ['encryption-identity'] : []),
      ...(this.spec.passphrase ? ['encryption-passphrase'] : [])
    ]
    return given.join(' and ')
  }

  private decrypterFor(snapshotId: string): Promise<Decrypter> {
    let decrypter = this.decrypters.get(snapshotId)
    if (!decrypter) {
      decrypter = this.openDecrypter(snapshotId)
      this.decrypters.set(snapshotId, decrypter)
      // A failure is not kept: the next read tries again.
      decrypter.catch(() => this.decrypters.delete(snapshotId))
    }
    return decrypter
  }

  private async openDecrypter(snapshotId: string): Promise<Decrypter> {
    const { identities, passphrase } = this.spec
    if (identities.length === 0 && !passphrase) {
      throw new EncryptionKeyError(
        `Snapshot ${snapshotId} in ${this.description} is encrypted: give the ${KEY_INPUTS} ` +
          'it was taken with. Nothing was touched.'
      )
    }
    const decrypter = new Decrypter()
    for (const identity of identities) decrypter.addIdentity(identity)
    if (passphrase && (await this.inner.has(snapshotId, KEY_OBJECT))) {
      const unlock = new Decrypter()
      unlock.addPassphrase(passphrase)
      const chunks: Buffer[] = []
      for await (const chunk of await this.inner.get(snapshotId, KEY_OBJECT))
        chunks.push(chunk as Buffer)
      const sealed = Buffer.concat(chunks)
      try {
        decrypter.addIdentity((await unlock.decrypt(sealed, 'text')).trim())
      } catch (error) {
        // A snapshot encrypted to recipients as well may still open with an identity.
        if (identities.length === 0) {
          throw new EncryptionKeyError(
            `Snapshot ${snapshotId} in ${this.description} is encrypted, and the ` +
              'encryption-passphrase given does not open it. Give the passphrase (or an ' +
              'encryption-identity) it was taken with. Nothing was touched.',
            { cause: error }
          )
        }
      }
    }
    return decrypter
  }

  has(snapshotId: string, name: string): Promise<boolean> {
    return this.inner.has(snapshotId, name)
  }

  list() {
    return this.inner.list()
  }

  hold(snapshotId: string) {
    return this.inner.hold(snapshotId)
  }

  delete(snapshotId: string) {
    return this.inner.delete(snapshotId)
  }

  discardStaged(snapshotId: string, owner: string): Promise<number> {
    return this.inner.discardStaged(snapshotId, owner)
  }

  discardAbandoned(): Promise<string[]> {
    return this.inner.discardAbandoned()
  }
}
