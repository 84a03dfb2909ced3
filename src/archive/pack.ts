import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { StoreError } from '../shared/errors.js'
import type { Compression, RootMetadata } from '../manifest/manifest.js'
import type { Codec } from './compression.js'
import { DigestCounter } from './digest.js'
import { TarScanner } from './tar-scan.js'

/** What a packed archive is: the proof of its stored bytes and what the tar held. */
export interface PackResult {
  /** sha256 of the stored (compressed) bytes, lowercase hex. */
  sha256: string
  storedBytes: number
  tarBytes: number
  compression: Compression
  /** Metadata of the tar's `./` entry; undefined when the tar has none (e.g. a `docker save`). */
  root: RootMetadata | undefined
  /** Entries below the root. */
  entries: number
}

/**
 * Streams `tar` through `codec` into `sink` as one pipeline (tar -> count and scan -> compress ->
 * digest and count -> sink), so memory stays flat whatever the size. The tar is scanned on the
 * way with the same checks restore applies, so an archive restore would refuse is never stored.
 * Rejects, and destroys every stream, on the first failure on either side.
 */
export async function packArchive(
  tar: Readable,
  codec: Codec,
  sink: (compressed: Readable) => Promise<unknown>,
  onProgress?: (tarBytes: number) => void
): Promise<PackResult> {
  const scanner = new TarScanner('The tar stream', 'snapshot')
  const tee = new ScanningCounter(scanner, onProgress)
  const compressor = codec.compress()
  const stored = new DigestCounter()
  const streams = [tar, tee, compressor, stored]

  return new Promise<PackResult>((resolve, reject) => {
    let settled = false
    const settle = (error?: unknown) => {
      if (settled) return
      settled = true
      if (error === undefined) {
        const scan = scanner.result
        resolve({
          sha256: stored.sha256,
          storedBytes: stored.bytes,
          tarBytes: scan.tarBytes,
          compression: codec.algorithm,
          root: scan.root,
          entries: scan.entries
        })
        return
      }
      const reason = error instanceof Error ? error : new Error(String(error))
      for (const stream of streams) stream.destroy(reason)
      reject(reason)
    }

    // The first stream to fail is the cause: the source, the scan or the compressor fail the
    // pack at once; if the sink broke its own input, its rejection says why.
    let origin: 'producer' | 'sink' | undefined
    for (const stream of [tar, tee, compressor]) {
      stream.on('error', (error: unknown) => {
        origin ??= 'producer'
        if (origin === 'producer') settle(error)
      })
    }
    // Closed before the producers failed: the sink destroyed its input (or finished reading).
    stored.on('close', () => {
      origin ??= 'sink'
    })
    // Its errors reach the sink, and us through the pipeline; this only keeps a late one quiet.
    stored.on('error', () => undefined)

    let produced = false
    let consumed = false
    pipeline(streams).then(
      () => {
        produced = true
        if (consumed) settle()
      },
      (error: unknown) => {
        if (origin !== 'sink') settle(error)
      }
    )
    Promise.resolve()
      .then(() => sink(stored))
      .then(
        () => {
          if (stored.errored) return settle(stored.errored)
          if (!stored.readableEnded) {
            return settle(new StoreError('The store finished before reading the whole archive.'))
          }
          consumed = true
          if (produced) settle()
        },
        (error: unknown) => settle(error)
      )
  })
}

/** Counts the tar's bytes and feeds them to a TarScanner, waiting for it when it falls behind. */
class ScanningCounter extends Transform {
  #bytes = 0

  constructor(
    private readonly scanner: TarScanner,
    private readonly onProgress?: (tarBytes: number) => void
  ) {
    super()
    scanner.on('error', (error: Error) => this.destroy(error))
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.#bytes += chunk.length
    this.onProgress?.(this.#bytes)
    if (this.scanner.write(chunk)) callback(null, chunk)
    else this.scanner.once('drain', () => callback(null, chunk))
  }

  override _flush(callback: TransformCallback) {
    this.scanner.end()
    finished(this.scanner).then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)))
    )
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    this.scanner.destroy()
    callback(error)
  }
}
