/**
 * Garbage collection of the image layout: a blob stays while index.json reaches it (a manifest,
 * its config and layers, an index and what it lists, however deep) or a live writer's staging
 * record lists it; every other blob goes. When a reachable manifest cannot be read, nothing is
 * collected: what it reaches cannot be known, and a blob kept costs space, not a snapshot.
 */
import { readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { IMAGE_INDEX_MEDIA_TYPE, MAX_MANIFEST_BYTES, isDigest } from '../oci/format.js'
import { namesIn } from './files.js'
import { BLOBS, blobPath, readIndex } from './layout.js'
import { stagedDigests } from './staging.js'

/** Media types of descriptors that point to more descriptors. */
const MANIFEST_TYPES = new Set([
  IMAGE_INDEX_MEDIA_TYPE,
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
])

/**
 * Removes every blob that nothing reaches. Call it holding the lock. Resolves with the number
 * of blobs removed; none when the store's index or a reachable manifest cannot be read.
 */
export async function collectGarbage(root: string): Promise<number> {
  const reached = await reachedDigests(root).catch(() => undefined)
  if (reached === undefined) return 0
  let removed = 0
  for (const name of await namesIn(join(root, BLOBS))) {
    // Only finished blobs: nothing else is ours to judge.
    if (!/^[a-f0-9]{64}$/.test(name) || reached.has(`sha256:${name}`)) continue
    await rm(join(root, BLOBS, name), { force: true })
    removed++
  }
  return removed
}

async function reachedDigests(root: string): Promise<Set<string>> {
  const reached = await stagedDigests(root)
  const read = new Set<string>()
  const pending = (await readIndex(root)).manifests.map(entry => entry.digest as string)
  for (let digest = pending.pop(); digest !== undefined; digest = pending.pop()) {
    reached.add(digest)
    if (read.has(digest)) continue
    read.add(digest)
    const { blobs, manifests } = await descriptorsOf(root, digest)
    for (const blob of blobs) reached.add(blob)
    pending.push(...manifests)
  }
  return reached
}

/**
 * What a manifest or index blob lists: manifests (to read in turn) and other blobs (a subject
 * is only kept: it may be in another repository). Throws when it cannot be read as JSON.
 */
async function descriptorsOf(root: string, digest: string) {
  const path = blobPath(root, digest)
  if ((await stat(path)).size > MAX_MANIFEST_BYTES) throw new Error(`${path} is too large`)
  const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : [])
  const blobs: string[] = []
  const manifests: string[] = []
  for (const item of [
    manifest.config,
    manifest.subject,
    ...listOf(manifest.layers),
    ...listOf(manifest.blobs),
    ...listOf(manifest.manifests)
  ]) {
    const descriptor = (item ?? {}) as { digest?: unknown; mediaType?: unknown }
    if (!isDigest(descriptor.digest)) continue
    const isManifest =
      item !== manifest.subject && MANIFEST_TYPES.has(descriptor.mediaType as string)
    ;(isManifest ? manifests : blobs).push(descriptor.digest)
  }
  return { blobs, manifests }
}
