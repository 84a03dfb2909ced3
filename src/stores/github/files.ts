/**
 * The one temporary file at a time that the GitHub clients need: they upload and download files,
 * not streams. An object is written to disk while it is hashed, uploaded, and removed; a download
 * is hashed, checked, and handed on as a stream of a file already unlinked (its space is freed
 * when the reader closes it).
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { StoreError } from '../../shared/errors.js'

/** A private directory for one transfer, under RUNNER_TEMP in a workflow job; remove it after. */
export function transferDirectory(env: NodeJS.ProcessEnv): Promise<string> {
  return mkdtemp(join(env.RUNNER_TEMP || tmpdir(), 'docker-snapshot-'))
}

/** Writes `data` to `path`, hashing it: `sha256:<hex>` and the size. */
export async function writeHashed(
  data: Readable,
  path: string
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256')
  let size = 0
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk)
      size += chunk.length
      done(null, chunk)
    }
  })
  await pipeline(data, tap, createWriteStream(path, { mode: 0o600 }))
  return { digest: `sha256:${hash.digest('hex')}`, size }
}

/** `sha256:<hex>` of a file. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest('hex')}`
}

/**
 * Checks the downloaded file at `path` against `digest`, then opens it, removes it and returns a
 * stream of it. A mismatch removes it and fails with a StoreError naming `what`.
 */
export async function checkedStream(path: string, digest: string, what: string): Promise<Readable> {
  let actual: string
  try {
    actual = await fileDigest(path)
  } catch (error) {
    await rm(path, { force: true })
    throw new StoreError(`cannot read the download of ${what}: ${(error as Error).message}`, {
      cause: error
    })
  }
  if (actual !== digest) {
    await rm(path, { force: true })
    throw new StoreError(
      `${what} does not match the digest the snapshot recorded (${digest}, downloaded ` +
        `${actual}): it was changed or damaged after it was written. Restore another snapshot.`
    )
  }
  const file = await open(path)
  await rm(path)
  return file.createReadStream()
}
