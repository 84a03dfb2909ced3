// Byte pipelines run inside the bench process, through the project's own streams.
import { createReadStream } from 'node:fs'
import { Writable, type Duplex, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ByteCounter } from './project.js'

const CHUNK = 1024 * 1024

/** A Writable that drops what it is given. */
const discard = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done()
    }
  })

/** Streams `source` through `filters` and counts the bytes that come out (like `| wc -c`). */
export async function countThrough(source: Readable, filters: Duplex[] = []): Promise<number> {
  const counter = new ByteCounter()
  await pipeline([source, ...filters, counter, discard()])
  return counter.bytes
}

export const readFile = (path: string) => createReadStream(path, { highWaterMark: CHUNK })
