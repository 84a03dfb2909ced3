import { randomFillSync } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { pack } from 'tar-stream'
import { describe, expect, test } from 'vitest'
import { packArchive, resolveCompression, type Codec } from '../../../src/archive/index.js'
import { ArchiveIntegrityError, StoreError } from '../../../src/shared/errors.js'
import { buildTar, CODECS, VOLUME, zstdChildren } from './tar-fixtures.js'

const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    }
  })

/** The first choice this machine has: the zstd binary when present, so leaks show up as processes. */
const fastest = (): Promise<Codec> => resolveCompression('zstd', 1, CODECS[0]!.available)

/** A source that sends `prefix`, then fails like an engine connection that drops. */
function failingSource(prefix: Buffer, error: Error): Readable {
  return new Readable({
    read() {
      if (prefix.length > 0) {
        this.push(prefix)
        prefix = Buffer.alloc(0)
      } else {
        setTimeout(() => this.destroy(error), 10)
      }
    }
  })
}

async function noZstdLeft() {
  for (let i = 0; i < 50 && zstdChildren().length > 0; i++) await sleep(20)
  expect(zstdChildren()).toEqual([])
}

describe('packArchive failures', () => {
  test('a source that fails rejects with its error and fails the sink', async () => {
    const tar = await buildTar(VOLUME)
    const dropped = new Error('engine connection dropped')
    let sinkError: unknown
    const attempt = packArchive(
      failingSource(tar.subarray(0, 5000), dropped),
      await fastest(),
      async compressed => {
        try {
          await pipeline(compressed, discard())
        } catch (error) {
          sinkError = error
          throw new StoreError('upload aborted', { cause: error })
        }
      }
    )
    await expect(attempt).rejects.toBe(dropped)
    await sleep(20)
    expect(sinkError).toBe(dropped)
    await noZstdLeft()
  })

  test('a sink that fails rejects with its error and destroys the source', async () => {
    const source = Readable.from([await buildTar(VOLUME)])
    const full = new StoreError('directory /srv/snapshots is full')
    const attempt = packArchive(source, await fastest(), async compressed => {
      for await (const chunk of compressed) {
        void chunk
        throw full
      }
    })
    await expect(attempt).rejects.toBe(full)
    expect(source.destroyed).toBe(true)
    await noZstdLeft()
  })

  test('a sink that breaks its input and rejects is reported with its own error', async () => {
    const full = new StoreError('write failed: ENOSPC')
    const attempt = packArchive(
      Readable.from([await buildTar(VOLUME)]),
      await fastest(),
      async compressed => {
        compressed.destroy(new Error('ENOSPC'))
        await sleep(20)
        throw full
      }
    )
    await expect(attempt).rejects.toBe(full)
    await noZstdLeft()
  })

  test('a sink that returns without reading everything cannot leave the pack hanging', async () => {
    const source = Readable.from([await buildTar(VOLUME)])
    const attempt = packArchive(source, await fastest(), async () => undefined)
    await expect(attempt).rejects.toThrow(StoreError)
    await expect(attempt).rejects.toThrow('The store finished before reading the whole archive.')
    expect(source.destroyed).toBe(true)
    await noZstdLeft()
  })

  test('a source that ends in the middle of an entry (a file changed while copied) is refused as truncated', async () => {
    const tar = await buildTar(VOLUME)
    const attempt = packArchive(
      Readable.from([tar.subarray(0, 3000)]),
      await fastest(),
      compressed => pipeline(compressed, discard())
    )
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(
      'The tar stream is truncated: the tar inside ends early (in the middle of an entry). The ' +
        'engine stops the stream when a file changes while it is copied; take the snapshot ' +
        'again (or use consistency stop).'
    )
    await expect(attempt).rejects.not.toThrow(/restore/)
  })
})

test('progress reports the running tar size, ending at the total', async () => {
  const tar = await buildTar(VOLUME)
  const seen: number[] = []
  const result = await packArchive(
    Readable.from([tar.subarray(0, 4096), tar.subarray(4096)]),
    await fastest(),
    compressed => pipeline(compressed, discard()),
    bytes => seen.push(bytes)
  )
  expect(seen).toEqual([4096, tar.length])
  expect(result.tarBytes).toBe(tar.length)
})

/** A tar of one `size`-byte file, generated as it is read (never whole in memory). */
function generatedTar(size: number): Readable {
  const tar = pack()
  const chunkSize = 256 * 1024
  void (async () => {
    await new Promise<void>(resolve =>
      tar.entry({ name: './', type: 'directory' }, () => resolve())
    )
    const entry = tar.entry({ name: './data.bin', size })
    for (let written = 0; written < size; written += chunkSize) {
      // Random bytes: a leak on the compressed side would be as large as one on the tar side.
      const chunk = randomFillSync(Buffer.alloc(Math.min(chunkSize, size - written)))
      if (!entry.write(chunk))
        await new Promise<void>(resolve => entry.once('drain', () => resolve()))
    }
    entry.end(null)
    tar.finalize()
  })()
  return Readable.from(tar)
}

// Sampling after a forced collection measures what the pipeline keeps alive, not garbage not yet
// collected.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void

test('packing 64 MiB keeps memory flat', async () => {
  const size = 64 * 1024 * 1024
  const live = () => {
    collectGarbage()
    const { heapUsed, arrayBuffers } = process.memoryUsage()
    return { heapUsed, arrayBuffers }
  }
  const before = live()
  const peak = { ...before }
  let nextSample = 0
  const result = await packArchive(
    generatedTar(size),
    await fastest(),
    compressed => pipeline(compressed, discard()),
    tarBytes => {
      if (tarBytes < nextSample) return
      nextSample += 8 * 1024 * 1024
      const now = live()
      peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed)
      peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers)
    }
  )
  expect(result.entries).toBe(1)
  expect(result.tarBytes).toBe(size + 2 * 512 + 1024)
  expect(nextSample).toBeGreaterThan(size / 2)
  // Measured: heap +0.3 MiB; buffers +1 to +17 MiB (stream buffers in flight, and V8 frees buffer
  // memory in the background). Keeping the data would be +64 MiB or more.
  expect(peak.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024)
  expect(peak.arrayBuffers - before.arrayBuffers).toBeLessThan(32 * 1024 * 1024)
})
