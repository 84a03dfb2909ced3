/**
 * The images of a snapshot: each container's commit or source image, pushed to a registry, saved
 * into the store, or referred to by digest; and the removal of what the run made on the engine.
 */
import { type Codec, packArchive } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { type RegistryTarget, imageTag } from '../docker/registry.js'
import type { ContainerDetails } from '../docker/types.js'
import { tryEach } from '../shared/cleanup.js'
import { formatBytes, plural } from '../shared/format.js'
import type { Logger } from '../shared/log.js'
import type { TransferListener } from '../shared/transfer.js'
import type { ImageRecord } from '../manifest/manifest.js'
import type { SnapshotWriter } from '../stores/store.js'
import { LABEL, containerName } from './capture.js'
import { archiveObject, archiveRecord, secondsSince } from './copies.js'

const COMMIT_REPOSITORY = 'docker-snapshot/commits'

/** A committed (or source) image, before it is published to a registry or the store. */
export interface PendingImage {
  record: Omit<ImageRecord, 'location' | 'reference'>
  /** `repo:tag` (or an id for an untagged source image) that names it on the engine. */
  localReference: string
  repo: string
  tag: string
}

/** What the images of a run depend on. */
export interface ImageOptions {
  snapshotId: string
  commit: boolean
  keepImages?: boolean
  registry?: RegistryTarget
  onTransfer?: TransferListener
}

export class SnapshotImages {
  /** Local image references this run made (commits, tags for a push), to remove at the end. */
  private readonly made: string[] = []

  constructor(
    private readonly engine: Engine,
    private readonly options: ImageOptions,
    private readonly log: Logger
  ) {}

  private wantsCommit(details: ContainerDetails): boolean {
    const label = details.Config.Labels?.[LABEL.commit]
    if (label === 'true') return true
    if (label === 'false') return false
    return this.options.commit
  }

  private repository(): string {
    const registry = this.options.registry
    return registry ? `${registry.address}/${registry.repository}` : COMMIT_REPOSITORY
  }

  /** Commits the containers that want it; the others' source images are kept as they are. */
  async commitAll(containers: ContainerDetails[]): Promise<Map<string, PendingImage>> {
    const { snapshotId } = this.options
    const pending = new Map<string, PendingImage>()
    for (const details of containers) {
      const name = containerName(details)
      if (this.wantsCommit(details)) {
        const repo = this.repository()
        const tag = imageTag(snapshotId, name)
        const started = Date.now()
        const id = await this.engine.commitContainer(details.Id, {
          repo,
          tag,
          pause: false,
          comment: `docker-snapshot ${snapshotId} of ${name}`
        })
        this.made.push(`${repo}:${tag}`)
        this.log.info(
          `committed ${name} as ${repo}:${tag} in ${secondsSince(started).toFixed(1)} s`
        )
        pending.set(`commit:${name}`, {
          record: { key: `commit:${name}`, role: 'commit', container: name, id },
          localReference: `${repo}:${tag}`,
          repo,
          tag
        })
      } else {
        const key = `source:${details.Image}`
        if (pending.has(key)) continue
        pending.set(key, {
          record: { key, role: 'source', id: details.Image },
          localReference: details.Config.Image,
          repo: this.repository(),
          tag: imageTag(snapshotId, 'image', details.Image.replace('sha256:', '').slice(0, 12))
        })
      }
    }
    return pending
  }

  /** Pushes committed and locally built images, or saves them into the store. */
  async publish(
    pending: PendingImage[],
    writer: SnapshotWriter,
    codec: Codec
  ): Promise<ImageRecord[]> {
    const { onTransfer, registry } = this.options
    const records: ImageRecord[] = []
    for (const image of pending) {
      const started = Date.now()
      if (image.record.role === 'source') {
        const details = await this.engine.findImage(image.record.id)
        const pinned = details?.RepoDigests?.[0]
        if (pinned) {
          // It came from a registry: refer to it by digest rather than copy it again.
          records.push({
            ...image.record,
            location: 'registry',
            reference: pinned,
            digest: pinned.split('@')[1]
          })
          continue
        }
      }
      const name = image.localReference
      if (registry) {
        if (image.record.role === 'source') {
          await this.engine.tagImage(image.record.id, image.repo, image.tag)
          this.made.push(`${image.repo}:${image.tag}`)
        }
        onTransfer?.({ kind: 'image', name, bytes: 0, done: false })
        const digest = await this.engine.pushImage(image.repo, image.tag, registry.auth)
        onTransfer?.({ kind: 'image', name, bytes: 0, done: true })
        records.push({
          ...image.record,
          location: 'registry',
          reference: `${image.repo}@${digest}`,
          digest
        })
        this.log.info(
          `pushed ${image.repo}:${image.tag} (${digest}) in ${secondsSince(started).toFixed(1)} s`
        )
        continue
      }
      const object = archiveObject('images', imageTag(image.record.key.replace(':', '-')), codec)
      // By id: a tag can have moved to another image since the container was created.
      const saved = await this.engine.saveImages([image.record.id])
      const packed = await packArchive(
        saved,
        codec,
        compressed => writer.put(object, compressed),
        bytes => onTransfer?.({ kind: 'image', name, bytes, done: false })
      )
      onTransfer?.({ kind: 'image', name, bytes: packed.tarBytes, done: true })
      records.push({
        ...image.record,
        location: 'store',
        reference: name,
        archive: archiveRecord(object, packed)
      })
      this.log.info(
        `saved ${name} into the store: ${formatBytes(packed.storedBytes)} in ` +
          `${secondsSince(started).toFixed(1)} s`
      )
    }
    return records
  }

  /**
   * Removes the commits and tags this run made, pushed, saved or not (a failed run's too): the
   * snapshot holds them now. A source image loses only the tag added for the push.
   */
  async removeMade(): Promise<void> {
    const made = this.made.splice(0)
    if (made.length === 0) return
    if (this.options.keepImages) {
      this.log.info(`kept images on the engine (keep-images): ${made.join(', ')}`)
      return
    }
    const left = await tryEach(
      made.map(reference => ({ what: reference, run: () => this.engine.removeImage(reference) }))
    )
    this.log.info(`removed ${plural(made.length - left.length, 'image')} this run made`)
    if (left.length > 0) {
      this.log.warn(`could not remove ${left.join('; ')}: remove them with docker rmi`)
    }
  }
}

/** The key of the image a container is recreated from: its commit, or its source image. */
export function imageKeyFor(details: ContainerDetails, pending: Map<string, PendingImage>): string {
  const commitKey = `commit:${containerName(details)}`
  return pending.has(commitKey) ? commitKey : `source:${details.Image}`
}
