/**
 * Pushes a stream of unknown length as one blob: the sha256 is computed on the way, so it is
 * known only at the end. A stream that ends within the first chunk has its digest known before
 * anything is sent: a blob the registry holds already is not sent again. A longer one goes in an
 * upload session (POST, then PATCH chunk after chunk with its Content-Range, then PUT
 * `?digest=`), holding at most two chunks in memory and nothing on disk.
 */
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { StoreError } from '../../shared/errors.js'
import type { RegistryClient } from './client.js'

/** Bytes per PATCH: large enough for registries with a minimum chunk size (5 MiB on ECR). */
export const CHUNK_BYTES = 8 * 1024 * 1024

export interface PushedBlob {
  digest: string
  size: number
  /** False when the registry held the blob already and nothing was sent. */
  uploaded: boolean
}

/** Reads a stream in chunks of `size` bytes (the last one shorter); an empty chunk ends it. */
export class ChunkReader {
  private readonly iterator: AsyncIterator<unknown>
  private leftover: Buffer = Buffer.alloc(0)
  private done = false
  /** Set when the source failed (its error is the caller's, not the registry's). */
  sourceError: unknown

  constructor(
    data: Readable,
    private readonly size: number
  ) {
    this.iterator = data[Symbol.asyncIterator]()
  }

  async next(): Promise<Buffer> {
    const parts: Buffer[] = [this.leftover]
    let length = this.leftover.length
    while (length < this.size && !this.done) {
      let step: IteratorResult<unknown>
      try {
        step = await this.iterator.next()
      } catch (error) {
        this.sourceError = error
        throw error
      }
      if (step.done) {
        this.done = true
        break
      }
      const chunk = toBuffer(step.value)
      parts.push(chunk)
      length += chunk.length
    }
    const whole = Buffer.concat(parts, length)
    this.leftover = whole.subarray(Math.min(this.size, whole.length))
    return whole.subarray(0, Math.min(this.size, whole.length))
  }

  /** What is left of the stream after the chunks read so far. */
  async *rest(): AsyncGenerator<Buffer> {
    if (this.leftover.length > 0) yield this.leftover
    this.leftover = Buffer.alloc(0)
    while (!this.done) {
      const step = await this.iterator.next()
      if (step.done) break
      yield toBuffer(step.value)
    }
    this.done = true
  }
}

/** Streams `data` into a blob of the client's repository. */
export async function pushBlob(
  client: RegistryClient,
  data: Readable,
  chunkBytes = CHUNK_BYTES
): Promise<PushedBlob> {
  const reader = new ChunkReader(data, chunkBytes)
  const hash = createHash('sha256')
  let location: string | undefined
  let sent = 0
  try {
    const first = await reader.next()
    hash.update(first)
    const second = first.length === chunkBytes ? reader.next() : Promise.resolve(Buffer.alloc(0))
    // Read ahead: the next chunk arrives while this one is sent. A rejection is handled below.
    second.catch(() => undefined)
    const rest = await peekEmpty(second)
    if (rest) {
      const digest = `sha256:${hash.digest('hex')}`
      if (await client.hasBlob(digest)) return { digest, size: first.length, uploaded: false }
      location = await startUpload(client)
      await finishUpload(client, location, digest, first, 0)
      return { digest, size: first.length, uploaded: true }
    }
    location = await startUpload(client)
    let chunk = first
    let ahead = second
    while (chunk.length > 0) {
      location = await patchChunk(client, location, chunk, sent)
      sent += chunk.length
      chunk = await ahead
      hash.update(chunk)
      ahead = chunk.length === chunkBytes ? reader.next() : Promise.resolve(Buffer.alloc(0))
      ahead.catch(() => undefined)
    }
    const digest = `sha256:${hash.digest('hex')}`
    await finishUpload(client, location, digest, Buffer.alloc(0), sent)
    return { digest, size: sent, uploaded: true }
  } catch (error) {
    if (!data.destroyed) data.destroy()
    if (location) await cancelUpload(client, location)
    throw error
  }
}

/** Whether the promised chunk is empty (the stream ended with the first chunk). */
async function peekEmpty(chunk: Promise<Buffer>): Promise<boolean> {
  return (await chunk).length === 0
}

/** Opens an upload session; resolves with its URL. */
export async function startUpload(client: RegistryClient): Promise<string> {
  const response = await client.request('start a blob upload', client.path('blobs/uploads/'), {
    method: 'POST',
    scope: client.pushScope,
    headers: { 'content-length': '0' },
    expect: [202]
  })
  await response.body?.cancel()
  return nextLocation(client, response)
}

/** Sends bytes `offset…` of the blob; resolves with the URL for the next request. */
async function patchChunk(
  client: RegistryClient,
  location: string,
  chunk: Buffer,
  offset: number
): Promise<string> {
  const range = `${offset}-${offset + chunk.length - 1}`
  const call = `upload bytes ${range} of a blob`
  const how = { method: 'PATCH' as const, expect: [202], range }
  const response = await sendChunk(client, call, location, chunk, offset, how)
  return nextLocation(client, response)
}

/** Closes the session with the blob's digest (and its last bytes, if any). */
async function finishUpload(
  client: RegistryClient,
  location: string,
  digest: string,
  last: Buffer,
  sent: number
): Promise<void> {
  const url = new URL(location)
  url.searchParams.set('digest', digest)
  const call = `finish the upload of blob ${digest}`
  await sendChunk(client, call, url.toString(), last, sent, { method: 'PUT', expect: [201] })
}

/**
 * Sends one chunk of the blob (PATCH midway, PUT with the last bytes to finish); when the registry
 * refuses it midway, the error names the bytes accepted so far.
 */
async function sendChunk(
  client: RegistryClient,
  call: string,
  url: string,
  chunk: Buffer,
  sent: number,
  how: { method: 'PATCH' | 'PUT'; expect: number[]; range?: string }
): Promise<Response> {
  try {
    const response = await client.request(call, url, {
      method: how.method,
      scope: client.pushScope,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.length),
        ...(how.range ? { 'content-range': how.range } : {})
      },
      body: chunk,
      expect: how.expect
    })
    await response.body?.cancel()
    return response
  } catch (error) {
    if (sent === 0 || !(error instanceof StoreError)) throw error
    throw new StoreError(
      `${error.message} The blob was refused midway, after ${sent} bytes had been accepted; ` +
        'nothing of it is kept under the snapshot.',
      { cause: error }
    )
  }
}

/**
 * Cancels a session (best effort: the registry drops idle sessions itself, and some want delete
 * rights for it).
 */
export async function cancelUpload(client: RegistryClient, location: string): Promise<void> {
  try {
    const response = await client.request('cancel a blob upload', location, {
      method: 'DELETE',
      scope: client.pushScope,
      expect: [204, 404, 405]
    })
    await response.body?.cancel()
  } catch {
    // The failure that led here is what the user needs to see.
  }
}

async function nextLocation(client: RegistryClient, response: Response): Promise<string> {
  const location = response.headers.get('location')
  if (!location) {
    throw new StoreError(`${client.where} opened a blob upload without a Location header.`)
  }
  return new URL(location, await client.baseUrl()).toString()
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  throw new TypeError(`a store object must be a byte stream, got a chunk of type ${typeof chunk}`)
}
