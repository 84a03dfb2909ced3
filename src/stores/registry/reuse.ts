/**
 * An object's digest is known only once it has all been read, too late to skip its upload. So
 * an object that probably equals one the registry holds (the same object of the previous
 * snapshot: an unchanged volume's archive) is first compared with it, chunk by chunk, as it is
 * read, sending nothing: if it is the same to the end, nothing is uploaded. At the first
 * difference the upload starts, from the stored blob's bytes up to there (read from the
 * registry again: downloads are cheaper than uploads, and nothing is kept on disk) followed by
 * the rest of the new stream.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { StoreError } from '../../shared/errors.js'
import type { ArtifactObject } from '../oci/format.js'
import type { RegistryClient } from './client.js'
import { CHUNK_BYTES, ChunkReader, type PushedBlob, pushBlob } from './upload.js'

/** Streams `data` into a blob, uploading nothing when it equals `previous`. */
export async function pushUnlessSame(
  client: RegistryClient,
  data: Readable,
  previous: ArtifactObject | undefined,
  chunkBytes = CHUNK_BYTES
): Promise<PushedBlob> {
  if (!previous) return pushBlob(client, data, chunkBytes)
  const incoming = new ChunkReader(data, chunkBytes)
  const stored = await client.getBlob(previous.digest)
  const storedChunks = new ChunkReader(stored, chunkBytes)
  const hash = createHash('sha256')
  let matched = 0
  try {
    for (;;) {
      const mine = await incoming.next()
      const theirs = await storedChunks.next()
      if (!mine.equals(theirs)) {
        stored.destroy()
        const whole = Readable.from(
          joined(prefixOf(client, previous.digest, matched), mine, incoming)
        )
        return await pushBlob(client, whole, chunkBytes)
      }
      if (mine.length === 0) break
      hash.update(mine)
      matched += mine.length
    }
  } catch (error) {
    if (!data.destroyed) data.destroy()
    throw error
  } finally {
    stored.destroy()
  }
  const digest = `sha256:${hash.digest('hex')}`
  if (digest !== previous.digest || !(await client.hasBlob(digest))) {
    throw new StoreError(
      `Blob ${previous.digest} in ${client.where} changed or vanished while a new object was ` +
        'compared with it; nothing of the new object was kept. Take the snapshot again.'
    )
  }
  return { digest, size: matched, uploaded: false }
}

/** The first `bytes` bytes of a stored blob, read again from the registry. */
async function* prefixOf(
  client: RegistryClient,
  digest: string,
  bytes: number
): AsyncGenerator<Buffer> {
  if (bytes === 0) return
  const stream = await client.getBlob(digest)
  let left = bytes
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      yield chunk.subarray(0, left)
      left -= Math.min(left, chunk.length)
      if (left === 0) return
    }
  } finally {
    stream.destroy()
  }
  throw new StoreError(`Blob ${digest} in ${client.where} ended before ${bytes} bytes.`)
}

async function* joined(
  prefix: AsyncGenerator<Buffer>,
  middle: Buffer,
  rest: ChunkReader
): AsyncGenerator<Buffer> {
  yield* prefix
  if (middle.length > 0) yield middle
  yield* rest.rest()
}
