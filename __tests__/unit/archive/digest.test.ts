import { createHash } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { expect, test } from 'vitest'
import { ByteCounter, DigestCounter } from '../../../src/archive/index.js'

const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    }
  })

test.each([
  ['empty', [] as Buffer[]],
  ['one chunk', [Buffer.from('hello')]],
  ['many chunks', Array.from({ length: 100 }, (_, i) => Buffer.alloc(1000 + i, i))]
])('DigestCounter passes %s through with its sha256 and size', async (_name, chunks) => {
  const counter = new DigestCounter()
  const seen: Buffer[] = []
  await pipeline(
    Readable.from(chunks),
    counter,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        seen.push(chunk)
        callback()
      }
    })
  )
  const all = Buffer.concat(chunks)
  expect(Buffer.concat(seen).equals(all)).toBe(true)
  expect(counter.bytes).toBe(all.length)
  expect(counter.sha256).toBe(createHash('sha256').update(all).digest('hex'))
})

test('DigestCounter refuses to tell a digest before the end', () => {
  const counter = new DigestCounter()
  counter.write(Buffer.from('abc'))
  expect(() => counter.sha256).toThrow('read before the stream finished')
})

test('ByteCounter reports the running total', async () => {
  const totals: number[] = []
  const counter = new ByteCounter(total => totals.push(total))
  await pipeline(Readable.from([Buffer.alloc(3), Buffer.alloc(5)]), counter, discard())
  expect(totals).toEqual([3, 8])
  expect(counter.bytes).toBe(8)
})
