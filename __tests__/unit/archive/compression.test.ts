import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import {
  createDecompressor,
  resolveCompression,
  type CodecAvailability,
  type CompressorChoice
} from '../../../src/archive/index.js'
import { ArchiveIntegrityError, InvalidSettingsError } from '../../../src/shared/errors.js'
import { CODECS, zstdChildren } from './tar-fixtures.js'

const BINARY: CodecAvailability = { zstdBinary: '/usr/bin/zstd', nodeZstd: true }
const NODE_ONLY: CodecAvailability = { zstdBinary: null, nodeZstd: true }
const NOTHING: CodecAvailability = { zstdBinary: null, nodeZstd: false }
const binaryCodec = CODECS.find(codec => codec.name === 'zstd binary')

async function collect(source: Readable, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  await pipeline(
    source,
    transform,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk)
        callback()
      }
    })
  )
  return Buffer.concat(chunks)
}

describe('resolveCompression', () => {
  test.each<[CompressorChoice, number | undefined, CodecAvailability, string, string]>([
    ['auto', undefined, BINARY, 'zstd', 'zstd binary -T0 -3'],
    ['auto', 7, NODE_ONLY, 'zstd', 'node zlib zstd -7'],
    ['auto', undefined, NOTHING, 'gzip', 'node zlib gzip -6'],
    ['zstd', 19, BINARY, 'zstd', 'zstd binary -T0 -19'],
    ['zstd', 1, NODE_ONLY, 'zstd', 'node zlib zstd -1'],
    ['gzip', undefined, BINARY, 'gzip', 'node zlib gzip -6'],
    ['gzip', 9, NOTHING, 'gzip', 'node zlib gzip -9']
  ])('%s level %s picks %s (%s)', async (choice, level, available, algorithm, implementation) => {
    const codec = await resolveCompression(choice, level, available)
    expect(codec.algorithm).toBe(algorithm)
    expect(codec.implementation).toBe(implementation)
  })

  test.each<[CompressorChoice, number, CodecAvailability, string]>([
    [
      'zstd',
      0,
      BINARY,
      'Invalid compression level 0 for zstd. Expected a whole number from 1 to 19.'
    ],
    [
      'zstd',
      20,
      NODE_ONLY,
      'Invalid compression level 20 for zstd. Expected a whole number from 1 to 19.'
    ],
    [
      'zstd',
      2.5,
      BINARY,
      'Invalid compression level 2.5 for zstd. Expected a whole number from 1 to 19.'
    ],
    [
      'gzip',
      0,
      BINARY,
      'Invalid compression level 0 for gzip. Expected a whole number from 1 to 9.'
    ],
    [
      'gzip',
      10,
      BINARY,
      'Invalid compression level 10 for gzip. Expected a whole number from 1 to 9.'
    ],
    [
      'auto',
      12,
      NOTHING,
      'Invalid compression level 12 for gzip (zstd is not available here, so auto chose gzip). ' +
        'Expected a whole number from 1 to 9.'
    ]
  ])('%s level %s is refused', async (choice, level, available, message) => {
    const attempt = resolveCompression(choice, level, available)
    await expect(attempt).rejects.toThrow(InvalidSettingsError)
    await expect(attempt).rejects.toThrow(message)
  })

  test('explicit zstd with neither the binary nor Node zstd says how to fix it', async () => {
    const attempt = resolveCompression('zstd', undefined, NOTHING)
    await expect(attempt).rejects.toThrow(InvalidSettingsError)
    await expect(attempt).rejects.toThrow(/Install zstd .*run on Node 24/)
  })

  test('an unknown choice is refused with the valid ones', async () => {
    const attempt = resolveCompression('brotli' as CompressorChoice)
    await expect(attempt).rejects.toThrow(
      "Invalid compression 'brotli'. Expected one of: auto, zstd, gzip."
    )
  })
})

describe('createDecompressor', () => {
  const data = Buffer.from('some bytes to compress, '.repeat(10_000))

  // Every compressor's output must be readable by every decompressor of the same algorithm.
  const pairs = CODECS.flatMap(writer =>
    CODECS.filter(reader => (reader.choice === 'gzip') === (writer.choice === 'gzip')).map(
      reader => [writer.name, reader.name, writer, reader] as const
    )
  )
  test.each(pairs)('%s output decompresses with %s', async (_w, _r, writer, reader) => {
    const codec = await resolveCompression(writer.choice, undefined, writer.available)
    const compressed = await collect(Readable.from([data]), codec.compress())
    expect(compressed.length).toBeLessThan(data.length / 10)
    const restored = await collect(
      Readable.from([compressed]),
      createDecompressor(codec.algorithm, reader.available)
    )
    expect(restored.equals(data)).toBe(true)
  })

  test('zstd without the binary or Node zstd is refused', () => {
    expect(() => createDecompressor('zstd', NOTHING)).toThrow(/Install zstd .*run on Node 24/)
  })

  test.runIf(binaryCodec)('the zstd binary failing reports its stderr', async () => {
    const attempt = collect(
      Readable.from([Buffer.from('this is not zstd data')]),
      createDecompressor('zstd', binaryCodec!.available)
    )
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(
      /zstd could not decompress the archive: exit code 1: zstd: .*(unsupported format|unknown header)/
    )
  })

  test.runIf(binaryCodec)('a missing zstd binary fails the stream instead of hanging', async () => {
    const attempt = collect(
      Readable.from([Buffer.from('x')]),
      createDecompressor('zstd', { zstdBinary: '/nonexistent/zstd', nodeZstd: false })
    )
    await expect(attempt).rejects.toThrow(/cannot run \/nonexistent\/zstd/)
  })

  test.runIf(binaryCodec && process.platform === 'linux')(
    'destroying a zstd binary stream midway leaves no process behind',
    async () => {
      const codec = await resolveCompression('zstd', 1, binaryCodec!.available)
      const stream = codec.compress()
      stream.resume()
      stream.write(Buffer.alloc(1024 * 1024, 7))
      await sleep(50)
      expect(zstdChildren().length).toBeGreaterThan(0)
      stream.destroy()
      for (let i = 0; i < 50 && zstdChildren().length > 0; i++) await sleep(20)
      expect(zstdChildren()).toEqual([])
    }
  )
})
