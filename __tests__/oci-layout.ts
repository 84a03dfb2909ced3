/**
 * Reads a directory store's OCI image layout the way another tool would, from the OCI spec and
 * without the store's code: tests observe what is on disk through it.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

export interface LayoutSnapshot {
  /** The digest of its artifact manifest. */
  manifest: string
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
      layers: { digest: string; annotations: Record<string, string> }[]
    }
    snapshots[id] = {
      manifest: entry.digest,
      objects: Object.fromEntries(
        manifest.layers.map(layer => [layer.annotations['org.opencontainers.image.title'], layer.digest])
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
