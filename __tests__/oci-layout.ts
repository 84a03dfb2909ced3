/**
 * Reads a directory store's OCI image layout the way another tool would, from the OCI spec and
 * without the store's code: tests observe what is on disk through it.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface LayoutSnapshot {
  /** The digest of its artifact manifest. */
  manifest: string
  /** The digest of the config its manifest names. */
  config: string
  /** Object name (layer title) → `sha256:<hex>`. */
  objects: Record<string, string>
}

/** The path of a blob of the layout. */
export function blobFile(root: string, digest: string): string {
  return join(root, 'blobs', 'sha256', digest.replace(/^sha256:/, ''))
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** Every snapshot index.json names, with its objects. */
export async function layoutSnapshots(root: string): Promise<Record<string, LayoutSnapshot>> {
  const indexPath = join(root, 'index.json')
  if (!existsSync(indexPath)) return {}
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[]
  }
  const snapshots: Record<string, LayoutSnapshot> = {}
  for (const entry of index.manifests) {
    const id = entry.annotations?.['org.opencontainers.image.ref.name']
    if (id === undefined) continue
    const manifest = JSON.parse(await readFile(blobFile(root, entry.digest), 'utf8')) as {
      config: { digest: string }
      layers: { digest: string; annotations: Record<string, string> }[]
    }
    snapshots[id] = {
      manifest: entry.digest,
      config: manifest.config.digest,
      objects: Object.fromEntries(
        manifest.layers.map(layer => [
          layer.annotations['org.opencontainers.image.title'],
          layer.digest
        ])
      )
    }
  }
  return snapshots
}

/** The objects of snapshot `id` as index.json and its manifest name them (name → digest). */
export async function layoutObjects(root: string, id: string): Promise<Record<string, string>> {
  const snapshot = (await layoutSnapshots(root))[id]
  if (snapshot === undefined) throw new Error(`index.json of ${root} names no snapshot ${id}`)
  return snapshot.objects
}

/** The file that holds object `name` of snapshot `id`. */
export async function layoutObjectFile(root: string, id: string, name: string): Promise<string> {
  const digest = (await layoutObjects(root, id))[name]
  if (digest === undefined) throw new Error(`snapshot ${id} in ${root} has no object ${name}`)
  return blobFile(root, digest)
}

/** The digests of the blobs in blobs/sha256, sorted. */
export async function layoutBlobs(root: string): Promise<string[]> {
  const directory = join(root, 'blobs', 'sha256')
  if (!existsSync(directory)) return []
  return (await readdir(directory)).map(hex => `sha256:${hex}`).sort()
}

/** The blobs the snapshots of index.json reach (manifests, configs, objects), sorted. */
export async function reachedBlobs(root: string): Promise<string[]> {
  const reached = new Set<string>()
  for (const snapshot of Object.values(await layoutSnapshots(root))) {
    reached.add(snapshot.manifest)
    reached.add(snapshot.config)
    for (const digest of Object.values(snapshot.objects)) reached.add(digest)
  }
  return [...reached].sort()
}

/**
 * Gives object `name` of snapshot `id` new bytes (adding it if missing) the way a tool that knows
 * the layout would: a new blob, a new artifact manifest naming it, index.json pointing to that.
 */
export async function rewriteLayoutObject(
  root: string,
  id: string,
  name: string,
  bytes: Buffer | string
): Promise<void> {
  const content = Buffer.from(bytes)
  await writeFile(blobFile(root, sha256(content)), content)
  const indexPath = join(root, 'index.json')
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
    manifests: { digest: string; size: number; annotations?: Record<string, string> }[]
  }
  const entry = index.manifests.find(
    e => e.annotations?.['org.opencontainers.image.ref.name'] === id
  )
  if (entry === undefined) throw new Error(`index.json of ${root} names no snapshot ${id}`)
  const manifest = JSON.parse(await readFile(blobFile(root, entry.digest), 'utf8')) as {
    layers: {
      mediaType?: string
      digest: string
      size: number
      annotations: Record<string, string>
    }[]
  }
  let layer = manifest.layers.find(l => l.annotations['org.opencontainers.image.title'] === name)
  if (layer === undefined) {
    const annotations = { 'org.opencontainers.image.title': name }
    layer = { mediaType: 'application/octet-stream', digest: '', size: 0, annotations }
    manifest.layers.push(layer)
  }
  layer.digest = sha256(content)
  layer.size = content.length
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  await writeFile(blobFile(root, sha256(manifestBytes)), manifestBytes)
  entry.digest = sha256(manifestBytes)
  entry.size = manifestBytes.length
  await writeFile(indexPath, JSON.stringify(index))
}
