import { Writable, type Duplex, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ArchiveIntegrityError, SnapshotError, StoreError, errorMessage } from '../shared/errors.js'
import type { Compression, RootMetadata } from '../manifest/manifest.js'
import { createDecompressor } from './compression.js'
import { DigestCounter } from './digest.js'
import { TarScanner } from './tar-scan.js'

/** What the manifest recorded about an archive. */
export interface ExpectedArchive {
  sha256: string
  storedBytes: number
  compression: Compression
  /** The object's name, e.g. `volumes/db.tar.zst`, for error messages. */
  object?: string
}

/** What a verified archive holds. */
export interface ArchiveInspection {
  root: RootMetadata
  /** Entries below the root. */
  entries: number
  tarBytes: number
}

const MAGIC: Record<Compression, Buffer> = {
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  gzip: Buffer.from([0x1f, 0x8b])
}

/**
 * Reads a stored archive to its end and proves it can be restored: its size and sha256 match the
 * manifest, it decompresses, and its tar is whole and safe to unpack (every entry stays below the
 * root). Rejects with ArchiveIntegrityError saying what is wrong; a digest or size mismatch is
 * reported before any decompression or tar error, since it explains them.
 */
export async function inspectArchive(
  stored: Readable,
  expected: ExpectedArchive
): Promise<ArchiveInspection> {
  const subject = expected.object ? `Archive ${expected.object}` : 'The archive'
  let decompressor: Duplex
  try {
    decompressor = createDecompressor(expected.compression)
  } catch (error) {
    stored.destroy()
    throw error
  }
  const digest = new DigestCounter()
  const scanner = new TarScanner(subject)
  const feed = new BranchFeed(decompressor)

  // The first of the two to fail is the cause; the other only saw it propagate.
  let unpackError: { error: unknown; from: 'decompressor' | 'tar' } | undefined
  decompressor.on('error', (error: unknown) => (unpackError ??= { error, from: 'decompressor' }))
  scanner.on('error', (error: unknown) => (unpackError ??= { error, from: 'tar' }))
  const unpacking = pipeline(decompressor, scanner).catch(() => undefined)
  try {
    await pipeline(stored, digest, feed)
  } catch (error) {
    decompressor.destroy()
    if (error instanceof SnapshotError) throw error
    throw new StoreError(
      `Reading ${expected.object ?? 'the archive'} failed: ${errorMessage(error)}`,
      {
        cause: error
      }
    )
  }
  await unpacking

  if (digest.bytes < expected.storedBytes) {
    throw new ArchiveIntegrityError(
      `${subject} is truncated: ${digest.bytes} bytes are stored, the manifest recorded ` +
        `${expected.storedBytes}. The upload was cut short or the file was damaged; restore from ` +
        'another snapshot.'
    )
  }
  if (digest.bytes !== expected.storedBytes || digest.sha256 !== expected.sha256) {
    throw new ArchiveIntegrityError(
      `${subject} does not match its manifest: expected sha256 ${expected.sha256} ` +
        `(${expected.storedBytes} bytes), got ${digest.sha256} (${digest.bytes} bytes). The ` +
        'archive was modified or corrupted; restore from another snapshot.'
    )
  }
  checkFormat(subject, expected.compression, feed.head)
  if (unpackError?.from === 'tar') throw unpackError.error
  if (unpackError !== undefined) {
    throw explainDecompressionError(unpackError.error, subject, expected.compression)
  }
  const { root, entries, tarBytes } = scanner.result
  if (root === undefined) {
    throw new ArchiveIntegrityError(
      `${subject} has no root directory entry './', so it is not a volume archive made by ` +
        'docker-snapshot; restore from another snapshot.'
    )
  }
  return { root, entries, tarBytes }
}

/** The stored bytes must start as `compression` says: some zstd programs also read gzip. */
function checkFormat(subject: string, compression: Compression, head: Buffer) {
  if (startsWith(head, MAGIC[compression])) return
  const other: Compression = compression === 'zstd' ? 'gzip' : 'zstd'
  const actual = startsWith(head, MAGIC[other]) ? `${other}-compressed` : `not ${compression} data`
  throw new ArchiveIntegrityError(
    `${subject} is ${actual}, but the manifest records ${compression}. The manifest does not ` +
      'describe this archive; restore from another snapshot.'
  )
}

function explainDecompressionError(error: unknown, subject: string, compression: Compression) {
  const text = errorMessage(error)
  if (/unexpected end|premature end/i.test(text)) {
    return new ArchiveIntegrityError(
      `${subject} is truncated: the ${compression} stream ends early (${text}). It was cut ` +
        'while the snapshot was written; restore from another snapshot.',
      { cause: error }
    )
  }
  return new ArchiveIntegrityError(
    `${subject} cannot be decompressed as ${compression} (${text}); restore from another snapshot.`,
    { cause: error }
  )
}

/**
 * Feeds the decompressor while it works, and keeps draining (so the digest still covers every
 * byte) once it has failed.
 */
class BranchFeed extends Writable {
  /** The first bytes of the stored archive, to recognise its compression. */
  head = Buffer.alloc(0)

  constructor(private readonly branch: Duplex) {
    super()
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void) {
    if (this.head.length < 4) this.head = Buffer.concat([this.head, chunk.subarray(0, 4)])
    if (this.branch.destroyed || this.branch.writableEnded) return callback()
    if (this.branch.write(chunk)) return callback()
    const resume = () => {
      this.branch.off('drain', resume)
      this.branch.off('close', resume)
      callback()
    }
    this.branch.on('drain', resume)
    this.branch.on('close', resume)
  }

  override _final(callback: () => void) {
    if (!this.branch.destroyed) this.branch.end()
    callback()
  }
}

function startsWith(bytes: Buffer, prefix: Buffer) {
  return bytes.length >= prefix.length && bytes.subarray(0, prefix.length).equals(prefix)
}
