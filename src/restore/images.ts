/**
 * Bringing back the images containers are created from: an image already on the engine (by its
 * id) is used as it is; otherwise it is pulled (and must be the recorded digest) or loaded from
 * the snapshot's `docker save` archive (and must be the recorded id).
 */
import type { Engine } from '../docker/engine.js'
import type { ImageDetails, RegistryAuth } from '../docker/types.js'
import { ArchiveIntegrityError, NotFoundError, RegistryError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { ImageRecord } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { openArchiveTar } from './archives.js'
import type { RestoredImage } from './types.js'

export interface ReadyImage extends RestoredImage {
  /** The image config's environment, for redacted variables (env.ts). */
  env: string[]
}

/** `repo` of `repo:tag` or `repo@digest` (a registry port's colon is not a tag). */
export function repositoryOf(reference: string): string {
  const at = reference.indexOf('@')
  if (at >= 0) return reference.slice(0, at)
  const colon = reference.lastIndexOf(':')
  return colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference
}

/** `repo` and `tag` of a tag reference; undefined for a digest reference or an image id. */
export function tagOf(reference: string): { repo: string; tag: string } | undefined {
  if (reference.includes('@') || /^sha256:[a-f0-9]{64}$/.test(reference)) return undefined
  const repo = repositoryOf(reference)
  const tag = reference === repo ? 'latest' : reference.slice(repo.length + 1)
  return { repo, tag }
}

/** Whether the engine's image carries the registry manifest digest `digest` for `reference`. */
export function hasDigest(details: ImageDetails, reference: string, digest: string): boolean {
  const wanted = `${repositoryOf(reference)}@${digest}`
  return (details.RepoDigests ?? []).some(entry => entry === wanted)
}

export async function restoreImage(
  engine: Engine,
  store: SnapshotStore,
  snapshotId: string,
  image: ImageRecord,
  auth: RegistryAuth,
  log: Logger
): Promise<ReadyImage> {
  const ready = (reference: string, details: ImageDetails, action: ReadyImage['action']) => ({
    key: image.key,
    reference,
    id: details.Id,
    action,
    env: details.Config?.Env ?? []
  })

  /** The recorded tag when it names the image or is free (then it is given back), else the id. */
  const referenceFor = async (how: string): Promise<string> => {
    const byReference = await engine.findImage(image.reference)
    if (byReference?.Id === image.id) return image.reference
    const tag = tagOf(image.reference)
    if (byReference === undefined && tag !== undefined) {
      // The tag is free: give it back; a tag that now names another image is left alone.
      await engine.tagImage(image.id, tag.repo, tag.tag)
      log.info(`image ${image.id} is ${how}; tagged it ${image.reference} again`)
      return image.reference
    }
    log.info(
      `image ${image.id} is ${how}` +
        (byReference ? ` (${image.reference} now names another image, so the id is used)` : '')
    )
    return image.id
  }

  const byReference = await engine.findImage(image.reference)
  if (byReference?.Id === image.id) {
    log.info(`image ${image.reference} is present`)
    return ready(image.reference, byReference, 'present')
  }
  const byId = await engine.findImage(image.id)
  if (byId !== undefined) return ready(await referenceFor('present'), byId, 'present')

  switch (image.location) {
    case 'local':
      throw new NotFoundError(
        `Image ${image.reference} (${image.id}) of ${describeImage(image)} was recorded as ` +
          'present on the engine, and this engine does not have it. Load or build it, or take ' +
          'the snapshot with a registry so images travel with it.'
      )
    case 'registry': {
      log.info(`pulling ${image.reference}`)
      await engine.pullImage(image.reference, auth)
      const pulled = await engine.findImage(image.reference)
      if (pulled === undefined) {
        throw new RegistryError(`pull ${image.reference}: the engine has no such image afterwards`)
      }
      if (image.digest !== undefined && !hasDigest(pulled, image.reference, image.digest)) {
        throw new RegistryError(
          `pull ${image.reference} gave an image with digests ` +
            `${(pulled.RepoDigests ?? []).join(', ') || '(none)'}, not the recorded ` +
            `${image.digest}: the tag was moved since the snapshot. Push the original back or ` +
            'restore from a snapshot that pins it.'
        )
      }
      if (pulled.Id !== image.id) {
        log.warn(`pulled ${image.reference} has id ${pulled.Id}; the snapshot recorded ${image.id}`)
      }
      return ready(image.reference, pulled, 'pulled')
    }
    case 'store': {
      const archive = image.archive!
      log.info(`loading ${image.reference} from ${archive.object}`)
      const what = `image ${image.reference}`
      const { tar, check } = openArchiveTar(store, snapshotId, archive, what)
      await engine.loadImages(tar)
      check()
      // Saved by id, the archive names no tag: the recorded one is given back when free.
      const loaded = await engine.findImage(image.id)
      if (loaded === undefined) {
        throw new ArchiveIntegrityError(
          `Archive ${archive.object} loaded, but the engine has no image ${image.id} ` +
            `(${image.reference}) afterwards: the archive does not hold the recorded image.`
        )
      }
      return ready(await referenceFor('loaded'), loaded, 'loaded')
    }
  }
}

function describeImage(image: ImageRecord): string {
  return image.role === 'commit' ? `the commit of container ${image.container}` : 'a source image'
}
