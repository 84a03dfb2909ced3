/**
 * The OCI image layout the directory store keeps snapshots in: `<root>/oci-layout`,
 * `<root>/index.json` (one manifest descriptor per snapshot, named by its ref name annotation)
 * and `<root>/blobs/sha256/<hex>`, each blob stored once whoever uses it. Entries of index.json
 * that are not ours (an image copied in by another tool) are kept as they are.
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { isValidSnapshotId } from '../../manifest/schema.js'
import {
  ARTIFACT_TYPE,
  type ArtifactManifest,
  DamagedSnapshotError,
  type Descriptor,
  IMAGE_INDEX_MEDIA_TYPE,
  IMAGE_MANIFEST_MEDIA_TYPE,
  LAYOUT_CONTENT,
  LAYOUT_FILE,
  MAX_MANIFEST_BYTES,
  REF_NAME_ANNOTATION,
  isDigest,
  parseArtifactManifest
} from '../oci/format.js'
import { isFile, isMissing, replaceFile } from './files.js'

export const INDEX_FILE = 'index.json'
export const BLOBS = join('blobs', 'sha256')

/** index.json as read: its other fields and foreign entries are written back unchanged. */
export interface LayoutIndex {
  fields: Record<string, unknown>
  manifests: Record<string, unknown>[]
}

/** Where the blob of `digest` (`sha256:<hex>`) lives. */
export function blobPath(root: string, digest: string): string {
  return join(root, BLOBS, digest.slice('sha256:'.length))
}

/** Whether `root` is an image layout (its marker file is there). */
export function isLayout(root: string): Promise<boolean> {
  return isFile(join(root, LAYOUT_FILE))
}

/** Makes `root` an image layout, if it is not one yet: the marker file and the blob directory. */
export async function ensureLayout(root: string): Promise<void> {
  if (!(await isLayout(root))) {
    // An older version kept snapshots in `<root>/<id>/`: one named `blobs` is in the way.
    if (await isFile(join(root, 'blobs', 'manifest.json'))) {
      throw new StoreError(
        `${root} holds a snapshot named blobs from an older docker-snapshot, where new snapshots ` +
          'keep their data; move it to another store directory first'
      )
    }
    await replaceFile(join(root, LAYOUT_FILE), LAYOUT_CONTENT)
  }
  await mkdir(join(root, BLOBS), { recursive: true })
}

/** Reads index.json; a layout without one (or no layout yet) has no entries. */
export async function readIndex(root: string): Promise<LayoutIndex> {
  const path = join(root, INDEX_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (isMissing(error)) return { fields: {}, manifests: [] }
    throw new StoreError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error })
  }
  const damaged = (problem: string) =>
    new StoreError(
      `${path} is damaged: ${problem}. It lists the snapshots of the store; put back a copy of ` +
        'it, or move the store aside and take new snapshots'
    )
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw damaged('it is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw damaged('it is not a JSON object')
  }
  const { manifests, ...fields } = parsed as Record<string, unknown>
  if (fields.schemaVersion !== 2) throw damaged('its schemaVersion is not 2')
  if (!Array.isArray(manifests)) throw damaged('it has no manifests list')
  for (const entry of manifests as unknown[]) {
    if (typeof entry !== 'object' || entry === null || !isDigest((entry as Descriptor).digest)) {
      throw damaged('an entry of its manifests list has no valid sha256 digest')
    }
  }
  return { fields, manifests: manifests as Record<string, unknown>[] }
}

/** Writes index.json whole (call it holding the lock, after reading it under the same lock). */
export async function writeIndex(root: string, index: LayoutIndex): Promise<void> {
  const content = {
    schemaVersion: 2,
    mediaType: IMAGE_INDEX_MEDIA_TYPE,
    ...index.fields,
    manifests: index.manifests
  }
  await replaceFile(join(root, INDEX_FILE), `${JSON.stringify(content)}\n`)
}

/** The snapshot id an index entry names, if it names a valid one. */
export function entryId(entry: Record<string, unknown>): string | undefined {
  const annotations = entry.annotations as Record<string, unknown> | undefined
  const name = annotations?.[REF_NAME_ANNOTATION]
  return typeof name === 'string' && isValidSnapshotId(name) ? name : undefined
}

/** The descriptor of snapshot `snapshotId` in the index (the last, should there be several). */
export function findEntry(index: LayoutIndex, snapshotId: string): Descriptor | undefined {
  return index.manifests.findLast(entry => entryId(entry) === snapshotId) as Descriptor | undefined
}

/** The index entry of a published snapshot. */
export function snapshotEntry(snapshotId: string, manifest: ArtifactManifest): Descriptor {
  return {
    mediaType: IMAGE_MANIFEST_MEDIA_TYPE,
    digest: manifest.digest,
    size: manifest.bytes.length,
    artifactType: ARTIFACT_TYPE,
    annotations: { [REF_NAME_ANNOTATION]: snapshotId }
  }
}

/** Reads a manifest blob of at most MAX_MANIFEST_BYTES; DamagedSnapshotError when it is gone. */
export async function readManifestBlob(root: string, digest: string, what: string) {
  const path = blobPath(root, digest)
  try {
    if ((await stat(path)).size > MAX_MANIFEST_BYTES) {
      throw new DamagedSnapshotError(`${what}: its manifest blob ${path} is too large`)
    }
    return await readFile(path)
  } catch (error) {
    if (isMissing(error)) {
      throw new DamagedSnapshotError(
        `${what} is damaged: its artifact manifest ${digest} is missing from ${join(root, BLOBS)}`,
        { cause: error }
      )
    }
    if (error instanceof StoreError) throw error
    throw new StoreError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error })
  }
}

/** The artifact manifest an index entry points to, checked to be a snapshot of ours. */
export async function readArtifact(
  root: string,
  entry: Descriptor,
  where: string
): Promise<ArtifactManifest> {
  const bytes = await readManifestBlob(root, entry.digest, `snapshot ${where}`)
  const artifact = parseArtifactManifest(bytes, where)
  if (artifact.digest !== entry.digest) {
    throw new DamagedSnapshotError(
      `snapshot ${where} is damaged: the blob of its artifact manifest does not hash to ${entry.digest}`
    )
  }
  return artifact
}
