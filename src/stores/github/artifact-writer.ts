/**
 * Writing a snapshot into this run's artifacts: each object through one temporary file, then the
 * OCI artifact manifest last (see artifact.ts). And the artifact client's errors as StoreErrors.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ArtifactNotFoundError, GHESNotSupportedError } from '@actions/artifact'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { type ArtifactObject, buildArtifactManifest } from '../oci/format.js'
import type { SnapshotWriter } from '../store.js'
import type { ArtifactStore } from './artifact.js'
import { writeHashed } from './files.js'

export const MANIFEST_SUFFIX = '.oci-manifest.json'
/** Characters an artifact name cannot hold (besides '/', which becomes '.'). */
const UNNAMEABLE = /[":<>|*?\r\n\\]/

/** The artifact that holds object `name` of snapshot `snapshotId`. */
export function artifactName(snapshotId: string, name: string): string {
  return `${snapshotId}.${name.replaceAll('/', '.')}`
}

export class ArtifactWriter implements SnapshotWriter {
  private readonly objects: ArtifactObject[] = []
  private readonly uploaded: string[] = []

  constructor(
    private readonly store: ArtifactStore,
    readonly snapshotId: string
  ) {}

  private async send(
    name: string,
    write: (path: string) => Promise<{ digest: string; size: number }>
  ) {
    if (UNNAMEABLE.test(name) || this.uploaded.includes(name)) {
      throw new StoreError(
        `cannot keep ${name} in an artifact: ${this.uploaded.includes(name) ? 'two objects map to that name' : 'artifact names cannot hold " : < > | * ? \\ or line breaks'}`
      )
    }
    const dir = await this.store.transferDirectory()
    const path = join(dir, name)
    try {
      const written = await write(path)
      this.uploaded.push(name)
      const uploaded = await this.store.upload(path, name)
      if (uploaded !== written.digest) {
        throw new StoreError(
          `artifact ${name} was stored as ${uploaded}, but ${written.digest} was written: try again`
        )
      }
      return written
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }

  async put(name: string, data: Readable): Promise<number> {
    const { digest, size } = await this.send(artifactName(this.snapshotId, name), path =>
      writeHashed(data, path)
    )
    this.objects.push({ name, digest, size })
    return size
  }

  async publish(): Promise<void> {
    const manifest = buildArtifactManifest(this.objects, new Date().toISOString())
    await this.send(this.snapshotId + MANIFEST_SUFFIX, path =>
      writeHashed(Readable.from([manifest.bytes]), path)
    )
  }

  async discard(): Promise<void> {
    await this.store.remove([...this.uploaded].reverse())
  }
}

export function isNotFound(error: unknown): boolean {
  return (
    error instanceof ArtifactNotFoundError || /not found/i.test(String((error as Error)?.message))
  )
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** A client error as a StoreError that names the store and says what to do. */
export function failure(error: unknown, what: string): StoreError {
  if (error instanceof StoreError) return error
  const message = errorMessage(error)
  const say = (text: string) =>
    new StoreError(`workflow artifacts: ${what} failed: ${text}`, { cause: error })
  if (error instanceof GHESNotSupportedError) {
    return say(
      'GitHub Enterprise Server does not support these artifacts; choose a directory store'
    )
  }
  if (isNotFound(error))
    return say('not found; check run-id, run-repository and the snapshot id, or whether it expired')
  if (/Bad credentials|\b401\b/i.test(message)) {
    return say(
      'github-token was refused (bad credentials): give a valid token with actions: read, e.g. ${{ github.token }}'
    )
  }
  if (/quota/i.test(message)) {
    return say(
      'the artifact storage quota is used up: delete old artifacts (prune), lower retention-days, or choose another store'
    )
  }
  return say(`${message}. Try again; if it keeps failing, check the GitHub status page`)
}
