import { describe, expect, test } from 'vitest'
import { StoreError } from '../../../src/shared/errors.js'
import {
  ARTIFACT_TYPE,
  DamagedSnapshotError,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BYTES,
  buildArtifactManifest,
  digestOf,
  parseArtifactManifest
} from '../../../src/stores/oci/format.js'

const objects = [
  { name: 'volumes/db.tar.zst', digest: digestOf(Buffer.from('db')), size: 2 },
  { name: 'manifest.json', digest: digestOf(Buffer.from('{}')), size: 2 }
]

describe('the snapshot artifact', () => {
  test('the empty config is `{}`, by its digest and size', () => {
    expect(digestOf(EMPTY_CONFIG_BYTES)).toBe(EMPTY_CONFIG.digest)
    expect(EMPTY_CONFIG_BYTES.length).toBe(EMPTY_CONFIG.size)
  })

  test('is built and read back with its objects in order, and its creation time', () => {
    const built = buildArtifactManifest(objects, '2026-11-30T12:00:00.000Z')
    expect(built.digest).toBe(digestOf(built.bytes))
    const parsed = parseArtifactManifest(built.bytes, 'snapshot s')
    expect(parsed).toEqual(built)
    const raw = JSON.parse(built.bytes.toString()) as Record<string, unknown>
    expect(raw).toMatchObject({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: ARTIFACT_TYPE,
      config: EMPTY_CONFIG
    })
  })

  test.each([
    ['not JSON', '{', 'its manifest is not JSON'],
    [
      'an image, not ours',
      '{"schemaVersion":2,"layers":[]}',
      `its artifactType is undefined, not ${ARTIFACT_TYPE}`
    ],
    [
      'a layer without a title',
      JSON.stringify({
        artifactType: ARTIFACT_TYPE,
        layers: [{ digest: objects[0].digest, size: 2 }]
      }),
      'a layer has no title'
    ],
    [
      'a layer with a bad digest',
      JSON.stringify({
        artifactType: ARTIFACT_TYPE,
        layers: [
          { digest: 'sha256:00', size: 2, annotations: { 'org.opencontainers.image.title': 'a' } }
        ]
      }),
      'object a has no valid sha256 digest'
    ]
  ])('%s is a DamagedSnapshotError (a StoreError) that says why', (_, text, problem) => {
    const error: unknown = (() => {
      try {
        return parseArtifactManifest(Buffer.from(text), 'snapshot s in directory /srv')
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(DamagedSnapshotError)
    expect(error).toBeInstanceOf(StoreError)
    expect((error as Error).name).toBe('DamagedSnapshotError')
    expect((error as Error).message).toBe(
      `The snapshot artifact of snapshot s in directory /srv is not one docker-snapshot can read: ${problem}.`
    )
  })
})
