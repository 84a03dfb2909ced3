// The data set: 1/4 random blobs, 1/2 log text, 1/4 small JSON files.
import { randomFillSync } from 'node:crypto'
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { BenchError } from '../process.js'
import { jsonDocument, MiB, prng, writeLogFile } from './text.js'

export interface DataSetStats {
  randomBytes: number
  logBytes: number
  jsonBytes: number
  jsonFiles: number
  /** Wall time of the generation. */
  seconds: number
}

/** 1/4 of the data set: four incompressible blobs (a database's pages, media, packed artefacts). */
function writeRandom(root: string, sizeMib: number): { randomBytes: number } {
  mkdirSync(join(root, 'random'))
  const blob = Math.floor((sizeMib * MiB) / 16)
  const buffer = Buffer.allocUnsafe(4 * MiB)
  for (let i = 0; i < 4; i++) {
    const fd = openSync(join(root, 'random', `blob-${i}.bin`), 'w')
    for (let left = blob; left > 0;) {
      const n = Math.min(left, buffer.length)
      randomFillSync(buffer, 0, n)
      writeSync(fd, buffer, 0, n)
      left -= n
    }
    closeSync(fd)
  }
  return { randomBytes: 4 * blob }
}

/** 1/2: log text in eight files, compressible but not trivially (about 4x with zstd -3). */
export function writeLogs(root: string, sizeMib: number): { logBytes: number } {
  const rnd = prng(0x10650000 + sizeMib)
  mkdirSync(join(root, 'logs'))
  let logBytes = 0
  for (let i = 0; i < 8; i++) {
    const start = 1767225600000 + i * 86400000
    logBytes += writeLogFile(join(root, 'logs', `app-${i}.log`), (sizeMib * MiB) / 16, rnd, start)
  }
  return { logBytes }
}

/** 1/4: small JSON files, 20k per GiB (about 13 KiB each), 200 to a directory. */
function writeJson(root: string, sizeMib: number): { jsonBytes: number; jsonFiles: number } {
  const rnd = prng(0x15030000 + sizeMib)
  const files = Math.max(1, Math.round((20000 * sizeMib) / 1024))
  const each = Math.floor((sizeMib * MiB) / 4 / files)
  let jsonBytes = 0
  for (let n = 0; n < files; n++) {
    const dir = join(root, 'json', `d${String(Math.floor(n / 200)).padStart(3, '0')}`)
    if (n % 200 === 0) mkdirSync(dir, { recursive: true })
    const text = jsonDocument(rnd, n, each)
    writeFileSync(join(dir, `order-${n}.json`), text)
    jsonBytes += text.length
  }
  return { jsonBytes, jsonFiles: files }
}

/** Runs writeLogs in a worker thread (log-worker.ts). */
function writeLogsInWorker(root: string, sizeMib: number): Promise<{ logBytes: number }> {
  const worker = new Worker(new URL('./log-worker.js', import.meta.url), {
    workerData: { root, sizeMib }
  })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', code => reject(new BenchError(`the log generator exited (${code})`)))
  })
}

/**
 * Fills `root` (a fresh, empty volume directory) with the data set: the log text in a worker
 * thread, the rest meanwhile here (two cores: about half the time).
 */
export async function generateDataSet(root: string, sizeMib: number): Promise<DataSetStats> {
  const started = Date.now()
  const logs = writeLogsInWorker(root, sizeMib)
  const random = writeRandom(root, sizeMib)
  const json = writeJson(root, sizeMib)
  return { ...random, ...json, ...(await logs), seconds: (Date.now() - started) / 1000 }
}
