/**
 * The one format every store keeps a snapshot in: an OCI artifact. Its manifest (an OCI image
 * manifest with our `artifactType` and the empty config) lists each object of the snapshot (the
 * volume archives, the saved images, our snapshot manifest) as a layer addressed by sha256 and
 * titled with the object's name. The directory store keeps these in an OCI image layout, the
 * registry store pushes them as they are, and the other stores carry the same blobs.
 */
import { createHash } from 'node:crypto'
import { StoreError } from '../../shared/errors.js'

export const ARTIFACT_TYPE = 'application/vnd.docker-snapshot.snapshot.v1'
export const IMAGE_MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json'
export const IMAGE_INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json'
/** Names each layer with its object name. */
export const TITLE_ANNOTATION = 'org.opencontainers.image.title'
/** Names a manifest in an image layout's index.json: the snapshot id. */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name'
export const CREATED_ANNOTATION = 'org.opencontainers.image.created'
/** Registries cap a manifest at 4 MiB: a larger one is not a manifest anyone wrote. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** The empty config artifacts carry: `{}`. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2
}
export const EMPTY_CONFIG_BYTES = Buffer.from('{}')

/** An image layout's marker file and its content. */
export const LAYOUT_FILE = 'oci-layout'
export const LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}'

export interface Descriptor {
  mediaType: string
  /** `sha256:<64 hex>` */
  digest: string
  size: number
  /** What an artifact's manifest says it is (an index entry may repeat it). */
  artifactType?: string
  annotations?: Record<string, string>
}

/** One object of a snapshot as its artifact lists it. */
export interface ArtifactObject {
  name: string
  digest: string
  size: number
}

/** A snapshot's artifact manifest, serialized, with its own digest. */
export interface ArtifactManifest {
  bytes: Buffer
  digest: string
  objects: ArtifactObject[]
  created?: string
}

/**
 * A snapshot the store lists but cannot read whole: its artifact manifest is missing or not one
 * of ours, or an object's blob is gone. Listing shows it as damaged; prune leaves it alone.
 */
export class DamagedSnapshotError extends StoreError {}

const DIGEST = /^sha256:[a-f0-9]{64}$/

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST.test(value)
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** The layer media type that says what an object is, from its name. */
export function mediaTypeOf(objectName: string): string {
  if (objectName === 'manifest.json') return 'application/vnd.docker-snapshot.manifest.v1+json'
  if (objectName.endsWith('.tar.zst')) return 'application/vnd.oci.image.layer.v1.tar+zstd'
  if (objectName.endsWith('.tar.gz')) return 'application/vnd.oci.image.layer.v1.tar+gzip'
  if (objectName.endsWith('.tar')) return 'application/vnd.oci.image.layer.v1.tar'
  return 'application/octet-stream'
}

/** Builds the artifact manifest of a snapshot made of `objects` (in the order given). */
export function buildArtifactManifest(
  objects: ArtifactObject[],
  created?: string
): ArtifactManifest {
  const names = new Set<string>()
  for (const object of objects) {
    if (names.has(object.name)) throw new Error(`object ${object.name} listed twice`)
    names.add(object.name)
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: IMAGE_MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config: EMPTY_CONFIG,
    layers: objects.map(object => ({
      mediaType: mediaTypeOf(object.name),
      digest: object.digest,
      size: object.size,
      annotations: { [TITLE_ANNOTATION]: object.name }
    })),
    ...(created ? { annotations: { [CREATED_ANNOTATION]: created } } : {})
  }
  const bytes = Buffer.from(JSON.stringify(manifest))
  return { bytes, digest: digestOf(bytes), objects, ...(created ? { created } : {}) }
}

/**
 * Reads an artifact manifest, checking that it is one of ours and that every layer names an
 * object once with a valid digest. `where` names it in errors (e.g. `snapshot nightly in …`).
 * Rejects with DamagedSnapshotError (a StoreError) when it cannot.
 */
export function parseArtifactManifest(bytes: Buffer, where: string): ArtifactManifest {
  const fail = (problem: string) =>
    new DamagedSnapshotError(
      `The snapshot artifact of ${where} is not one docker-snapshot can read: ${problem}.`
    )
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw fail('its manifest is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null) throw fail('its manifest is not an object')
  const manifest = parsed as Record<string, unknown>
  if (manifest.artifactType !== ARTIFACT_TYPE) {
    throw fail(`its artifactType is ${JSON.stringify(manifest.artifactType)}, not ${ARTIFACT_TYPE}`)
  }
  if (!Array.isArray(manifest.layers)) throw fail('it lists no layers')
  const objects: ArtifactObject[] = []
  const names = new Set<string>()
  for (const layer of manifest.layers as unknown[]) {
    const entry = (layer ?? {}) as Record<string, unknown>
    const annotations = (entry.annotations ?? {}) as Record<string, unknown>
    const name = annotations[TITLE_ANNOTATION]
    if (typeof name !== 'string' || !name) throw fail('a layer has no title')
    if (names.has(name)) throw fail(`object ${name} is listed twice`)
    if (!isDigest(entry.digest)) throw fail(`object ${name} has no valid sha256 digest`)
    if (!Number.isSafeInteger(entry.size) || (entry.size as number) < 0) {
      throw fail(`object ${name} has no valid size`)
    }
    names.add(name)
    objects.push({ name, digest: entry.digest, size: entry.size as number })
  }
  const created = ((manifest.annotations ?? {}) as Record<string, unknown>)[CREATED_ANNOTATION]
  return {
    bytes,
    digest: digestOf(bytes),
    objects,
    ...(typeof created === 'string' ? { created } : {})
  }
}

/** The error for object `name` of snapshot `snapshotId` that store `where` cannot give. */
export function missingObject(
  where: string,
  snapshotId: string,
  name: string,
  why: string
): StoreError {
  return new StoreError(`object ${name} of snapshot ${snapshotId} is not in ${where}: ${why}`)
}

/** The object `name` that a snapshot's artifact lists; a StoreError when it lists none. */
export function findObject(
  manifest: ArtifactManifest,
  where: string,
  snapshotId: string,
  name: string
): ArtifactObject {
  const object = manifest.objects.find(o => o.name === name)
  if (!object) throw missingObject(where, snapshotId, name, 'the snapshot does not list it')
  return object
}
