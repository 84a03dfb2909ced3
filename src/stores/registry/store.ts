/**
 * A store in an OCI registry repository: each snapshot is an artifact (see oci/format.ts) tagged
 * with its id, each object a blob. What a registry cannot do, said plainly:
 * - An object's digest is known only once it is read: one equal to the previous snapshot's object
 *   of the same name is found by comparing the two while reading (reuse.ts), and not uploaded.
 * - Nothing is staged under a name: blobs are pushed, then `publish` puts the manifest under the
 *   tag in one request. An unpublished snapshot leaves only untagged blobs, which no reader sees
 *   and the registry's garbage collection removes; `discard`, `discardStaged` and
 *   `discardAbandoned` have nothing to remove.
 * - Holds: a registry has no locks, so `hold` marks nothing. A prune elsewhere may delete a
 *   snapshot being read; that read then fails with a StoreError naming the snapshot.
 * - Publishing checks the tag, then puts it: a registry offers no put-if-absent, so two runs
 *   publishing the same id in the same instant may both succeed (the later one wins).
 * - Deleting needs the registry to allow it (distribution: `storage.delete.enabled`); one that
 *   refuses makes `delete` fail saying so.
 */
import { Readable } from 'node:stream'
import type { RegistryCredentials } from '../../docker/credentials.js'
import { InvalidSettingsError, StoreError } from '../../shared/errors.js'
import { MANIFEST_FILE } from '../../manifest/manifest.js'
import { isValidObjectName, isValidSnapshotId } from '../../manifest/schema.js'
import {
  type ArtifactManifest,
  type ArtifactObject,
  ARTIFACT_TYPE,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  IMAGE_INDEX_MEDIA_TYPE,
  IMAGE_MANIFEST_MEDIA_TYPE,
  buildArtifactManifest,
  parseArtifactManifest
} from '../oci/format.js'
// The SnapshotStore contract: every store imports the same types (a repeated import, left so).
import type {
  DeleteOutcome,
  SnapshotHold,
  SnapshotStore,
  SnapshotWriter,
  StoredSnapshot
} from '../store.js'
import { RegistryClient } from './client.js'
import { pushUnlessSame } from './reuse.js'
import { cancelUpload, pushBlob, startUpload } from './upload.js'

/** What GET manifest accepts: ours, and what else a shared repository may hold (to skip it). */
const ACCEPT = [
  IMAGE_MANIFEST_MEDIA_TYPE,
  IMAGE_INDEX_MEDIA_TYPE,
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
].join(', ')

export class RegistryStore implements SnapshotStore {
  readonly description: string
  readonly canDelete = true
  readonly client: RegistryClient

  constructor(
    host: string,
    repository: string,
    credentials: () => Promise<RegistryCredentials | undefined>
  ) {
    this.client = new RegistryClient(host, repository, credentials)
    this.description = `registry oci://${host}/${repository}`
  }

  /**
   * A store in the registry. For `write` it is checked up front, after `beforeCreate`: an upload
   * session is opened and cancelled (push access). Reading needs no check: a repository the
   * registry does not know lists no snapshots, and bad credentials fail the first read, saying so.
   */
  async open(write: boolean, beforeCreate?: () => Promise<void>): Promise<this> {
    if (write) {
      await beforeCreate?.()
      await cancelUpload(this.client, await startUpload(this.client))
    }
    return this
  }

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    checkSnapshotId(snapshotId)
    const objects = new Map<string, ArtifactObject>()
    let previous: Promise<Map<string, ArtifactObject>> | undefined
    return {
      snapshotId,
      put: async (name, data) => {
        if (!isValidObjectName(name)) {
          data.destroy()
          throw new InvalidSettingsError(`Invalid object name '${name}' for ${this.description}.`)
        }
        previous ??= this.previousObjects()
        const blob = await pushUnlessSame(this.client, data, (await previous).get(name))
        objects.set(name, { name, digest: blob.digest, size: blob.size })
        return blob.size
      },
      publish: ({ replace }) => this.publish(snapshotId, [...objects.values()], replace),
      // Blobs without a manifest are invisible; the registry's garbage collection removes them.
      discard: async () => objects.clear()
    }
  }

  async discardStaged(snapshotId: string): Promise<number> {
    checkSnapshotId(snapshotId)
    return 0
  }

  async discardAbandoned(): Promise<string[]> {
    return []
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const artifact = await this.artifact(snapshotId)
    const object = artifact?.objects.find(candidate => candidate.name === name)
    if (!artifact) {
      throw new StoreError(
        `snapshot ${snapshotId} is not in ${this.description} (looking for object ${name}); ` +
          'check the snapshot id and the store'
      )
    }
    if (!object) {
      throw new StoreError(
        `object ${name} of snapshot ${snapshotId} is not in ${this.description}; the snapshot is incomplete or damaged`
      )
    }
    return this.client.getBlob(object.digest)
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    const artifact = await this.artifact(snapshotId)
    return artifact?.objects.some(object => object.name === name) ?? false
  }

  async list(): Promise<StoredSnapshot[]> {
    return (await this.artifacts()).map(({ snapshotId, artifact, createdAt }) => ({
      snapshotId,
      hasManifest: artifact.objects.some(object => object.name === MANIFEST_FILE),
      modifiedAt: createdAt,
      bytes: artifact.objects.reduce((total, object) => total + object.size, 0)
    }))
  }

  /** Every snapshot's artifact, with when it was published. */
  private async artifacts() {
    const found: { snapshotId: string; artifact: ArtifactManifest; createdAt: Date }[] = []
    for (const tag of await this.client.tags()) {
      if (!isValidSnapshotId(tag)) continue
      const manifest = await this.client.getManifest(tag, ACCEPT)
      // Gone since the listing, or another kind of image in the same repository.
      if (!manifest || !isOurs(manifest.bytes)) continue
      const artifact = parseArtifactManifest(
        manifest.bytes,
        `snapshot ${tag} in ${this.description}`
      )
      const created = artifact.created ? new Date(artifact.created) : new Date(NaN)
      found.push({
        snapshotId: tag,
        artifact,
        createdAt: Number.isNaN(created.getTime()) ? new Date(0) : created
      })
    }
    return found
  }

  /**
   * The newest published object of each name: what a new object of that name probably equals
   * (see reuse.ts). Only an optimisation: a store that cannot be listed offers none.
   */
  private async previousObjects(): Promise<Map<string, ArtifactObject>> {
    const objects = new Map<string, ArtifactObject>()
    try {
      const oldestFirst = (await this.artifacts()).sort(
        (a, b) => a.createdAt.getTime() - b.createdAt.getTime()
      )
      for (const { artifact } of oldestFirst) {
        for (const object of artifact.objects) objects.set(object.name, object)
      }
    } catch {
      objects.clear()
    }
    return objects
  }

  /** Registries have no locks: see the top of this file. */
  async hold(snapshotId: string): Promise<SnapshotHold> {
    checkSnapshotId(snapshotId)
    return { release: async () => undefined }
  }

  async delete(snapshotId: string): Promise<DeleteOutcome> {
    checkSnapshotId(snapshotId)
    const digest = await this.client.headManifest(snapshotId, ACCEPT)
    if (digest === undefined) return 'deleted'
    try {
      await this.client.deleteManifest(digest || (await this.manifestDigest(snapshotId)))
    } catch (error) {
      if (error instanceof StoreError && /\(405/.test(error.message)) {
        throw new StoreError(
          `${this.description} does not allow deleting, so snapshot ${snapshotId} stays there. ` +
            'Enable deletes in the registry (distribution: storage.delete.enabled: true) or ' +
            'delete the tag with the registry’s own tools.',
          { cause: error }
        )
      }
      throw error
    }
    return 'deleted'
  }

  /** The artifact tagged `snapshotId`, or undefined when there is no such tag. */
  private async artifact(snapshotId: string): Promise<ArtifactManifest | undefined> {
    checkSnapshotId(snapshotId)
    const manifest = await this.client.getManifest(snapshotId, ACCEPT)
    if (!manifest) return undefined
    return parseArtifactManifest(manifest.bytes, `snapshot ${snapshotId} in ${this.description}`)
  }

  /** The digest of a tag's manifest, for a registry that sends no Docker-Content-Digest. */
  private async manifestDigest(snapshotId: string): Promise<string> {
    const artifact = await this.artifact(snapshotId)
    if (!artifact) throw new StoreError(`snapshot ${snapshotId} vanished from ${this.description}`)
    return artifact.digest
  }

  /** Puts the artifact manifest under the tag; an existing one only with `replace`. */
  private async publish(
    snapshotId: string,
    objects: ArtifactObject[],
    replace: boolean
  ): Promise<void> {
    if (!(await this.client.hasBlob(EMPTY_CONFIG.digest))) {
      await pushBlob(this.client, Readable.from([EMPTY_CONFIG_BYTES]))
    }
    const artifact = buildArtifactManifest(objects, new Date().toISOString())
    const existing = await this.client.headManifest(snapshotId, ACCEPT)
    if (existing !== undefined && !replace) {
      throw new StoreError(
        `snapshot ${snapshotId} appeared in ${this.description} while this one was taken; ` +
          'it was left as it is and this snapshot was not kept. Take it again under another id.'
      )
    }
    await this.client.putManifest(snapshotId, artifact.bytes, IMAGE_MANIFEST_MEDIA_TYPE)
    // The replaced manifest stays addressable by digest: remove it once the new one stands.
    if (existing && existing !== artifact.digest) {
      await this.client.deleteManifest(existing).catch(() => undefined)
    }
  }
}

/** Whether a manifest is one of our artifacts (its full check is parseArtifactManifest's). */
function isOurs(bytes: Buffer): boolean {
  try {
    return (
      (JSON.parse(bytes.toString('utf8')) as { artifactType?: unknown }).artifactType ===
      ARTIFACT_TYPE
    )
  } catch {
    return false
  }
}

function checkSnapshotId(snapshotId: string): void {
  if (!isValidSnapshotId(snapshotId)) {
    throw new InvalidSettingsError(
      `Invalid snapshot id '${snapshotId}'. Expected 1 to 128 characters of a-z, 0-9, '.', '_' ` +
        `and '-', starting with a letter or digit.`
    )
  }
}
