import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'

/** Passes bytes through unchanged and counts them; `onBytes` sees the running total. */
export class ByteCounter extends Transform {
  #bytes = 0

  constructor(private readonly onBytes?: (total: number) => void) {
    super()
  }

  /** Bytes seen so far (the total once the stream has finished). */
  get bytes(): number {
    return this.#bytes
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    this.#bytes += chunk.length
    this.observe(chunk)
    this.onBytes?.(this.#bytes)
    callback(null, chunk)
  }

  /** Hook for subclasses that look at each chunk. */
  protected observe(_chunk: Buffer): void {}
}

/** Passes bytes through unchanged, counting them and computing their sha256. */
export class DigestCounter extends ByteCounter {
  readonly #hash: Hash = createHash('sha256')
  #sha256: string | undefined

  /** Lowercase hex sha256 of every byte that passed; only once the stream has finished. */
  get sha256(): string {
    if (this.#sha256 === undefined) {
      throw new Error('DigestCounter.sha256 was read before the stream finished')
    }
    return this.#sha256
  }

  protected override observe(chunk: Buffer): void {
    this.#hash.update(chunk)
  }

  override _flush(callback: TransformCallback) {
    this.#sha256 = this.#hash.digest('hex')
    callback()
  }
}
