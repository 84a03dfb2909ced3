import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { beforeAll, describe, expect, test } from 'vitest'
import type { ArtifactStore as Store } from '../../src/stores/github/artifact.js'
import type { SnapshotStore } from '../../src/stores/store.js'
import { StoreError } from '../../src/shared/errors.js'
import { parseArtifactManifest } from '../../src/stores/oci/format.js'
import { gitHubServicesForFile, inEnv, type GitHubServices } from '../services/github-services.js'
import { QUOTA_EXCEEDED } from '../services/results-service.js'
import { bytesOf, rejection } from './support.js'

/**
 * The artifact store with the real @actions/artifact client against the local stand-ins
 * (results service + Azurite). Runs A and B and C are runs of one workflow, in that order; the
 * tests build on each other's snapshots.
 */

const MiB = 1024 * 1024
const RUN_A = 5101
const RUN_B = 5102
const RUN_C = 5103
const OTHER_WORKFLOW_RUN = 5201

const bed = gitHubServicesForFile(github => {
  // the runs exist in this order (the REST API lists a workflow's runs newest first)
  for (const run of [RUN_A, RUN_B, RUN_C]) github.runEnv(run)
  github.runEnv(OTHER_WORKFLOW_RUN, 2)
  return github.runEnv(RUN_A)
})
const { connections } = bed
let github: GitHubServices
let ArtifactStore: typeof Store

beforeAll(async () => {
  github = bed.github
  // @actions/artifact fixes GITHUB_API_URL when first imported: import the store after the env
  ;({ ArtifactStore } = await import('../../src/stores/github/artifact.js'))
})

/** Runs `body` as a job of `runId`, then goes back to the environment before. */
const asRun = <T>(runId: number, body: () => Promise<T>) => inEnv(github.runEnv(runId), body)

function otherRun(runId: number, token = github.token) {
  return { runId, token, repository: github.repository }
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`

/** The store as the rest of the code sees it (discardStaged takes an owner it does not need). */
const reader = (): SnapshotStore => ArtifactStore.open({}, 'read')

const published = (runId: number) =>
  github.service
    .artifacts()
    .filter(a => a.runId === runId && a.finalized)
    .map(a => a.name)

/** Snapshot `id` in this run: a 9 MiB archive (two upload blocks) and a small manifest. */
async function writeSnapshot(id: string, archive = randomBytes(9 * MiB + 17)) {
  const store = ArtifactStore.open({}, 'write')
  const writer = await store.begin(id)
  expect(await writer.put('volumes/data.tar.zst', Readable.from([archive]))).toBe(archive.length)
  expect(await writer.put('manifest.json', Readable.from([Buffer.from(`{"id":"${id}"}`)]))).toBe(
    `{"id":"${id}"}`.length
  )
  return { writer, archive }
}

describe('one run', () => {
  let archive: Buffer

  test('objects are artifacts of their own, and the snapshot exists once its manifest is uploaded', async () => {
    const blocks = github.service.calls('blob PUT block')
    const written = await writeSnapshot('snap-1')
    archive = written.archive
    // two 8 MiB blocks for the archive, one for the small manifest
    expect(github.service.calls('blob PUT block') - blocks).toBe(3)
    // written, not yet published: a reader sees nothing
    const reader = ArtifactStore.open({}, 'read')
    expect(await reader.list()).toEqual([])
    expect(await reader.has('snap-1', 'manifest.json')).toBe(false)

    await written.writer.publish({ replace: false })
    expect(published(RUN_A)).toEqual([
      'snap-1.volumes.data.tar.zst',
      'snap-1.manifest.json',
      'snap-1.oci-manifest.json'
    ])
    // the archive is stored as is (not zipped): what a person downloads from the run page
    const stored = github.service.artifacts().find(a => a.name === 'snap-1.volumes.data.tar.zst')!
    const blob = await github.azurite.blobs
      .getContainerClient('actions-results')
      .getBlobClient(stored.blob)
      .downloadToBuffer()
    expect(blob.equals(archive)).toBe(true)
    expect(stored.mimeType).not.toBe('application/zip')
    // the last artifact is the OCI artifact manifest listing both objects by digest
    const ociEntry = github.service.artifacts().find(a => a.name === 'snap-1.oci-manifest.json')!
    const oci = parseArtifactManifest(
      await github.azurite.blobs
        .getContainerClient('actions-results')
        .getBlobClient(ociEntry.blob)
        .downloadToBuffer(),
      'snap-1'
    )
    expect(oci.objects).toEqual([
      { name: 'volumes/data.tar.zst', digest: sha256(archive), size: archive.length },
      { name: 'manifest.json', digest: sha256(Buffer.from('{"id":"snap-1"}')), size: 15 }
    ])
  })

  test('the same run lists it and reads it back, checked', async () => {
    const store = ArtifactStore.open({}, 'read')
    expect(store.description).toBe(`workflow artifacts of run ${RUN_A}`)
    const listed = await store.list()
    expect(listed).toEqual([
      {
        snapshotId: 'snap-1',
        hasManifest: true,
        modifiedAt: expect.any(Date),
        bytes: archive.length + 15
      }
    ])
    expect(await store.has('snap-1', 'volumes/data.tar.zst')).toBe(true)
    expect(await store.has('snap-1', 'volumes/other.tar.zst')).toBe(false)
    expect((await bytesOf(await store.get('snap-1', 'volumes/data.tar.zst'))).equals(archive)).toBe(
      true
    )
    const missing = await rejection(store.get('snap-1', 'volumes/other.tar.zst'))
    expect(missing).toBeInstanceOf(StoreError)
    expect(missing.message).toMatch(/object volumes\/other.tar.zst of snapshot snap-1 .*not list/)
  })

  test('a snapshot id cannot be written twice in one run', async () => {
    const error = await rejection(ArtifactStore.open({}, 'write').begin('snap-1'))
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(/cannot be reused.*choose another snapshot-id/)
  })

  test('an upload failing midway publishes nothing; discard removes what was written; a retry succeeds', async () => {
    const store = ArtifactStore.open({}, 'write')
    const writer = await store.begin('snap-fail')
    await writer.put('manifest.json', Readable.from([Buffer.from('{}')]))
    const clear = github.service.fail({
      endpoint: 'blob PUT block',
      nth: 2,
      times: Infinity,
      answer: { status: 403, code: 'AuthenticationFailed', message: 'Signature expired' }
    })
    const error = await rejection(
      writer.put('volumes/big.tar.zst', Readable.from([randomBytes(17 * MiB)]))
    )
    clear()
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(
      /^workflow artifacts: uploading artifact snap-fail.volumes.big.tar.zst to this run .* failed: .*Signature expired/
    )
    await writer.discard()
    expect(published(RUN_A).filter(name => name.startsWith('snap-fail.'))).toEqual([])
    expect((await ArtifactStore.open({}, 'read').list()).map(s => s.snapshotId)).toEqual(['snap-1'])

    const retry = await writeSnapshot('snap-fail')
    await retry.writer.publish({ replace: false })
    const got = await ArtifactStore.open({}, 'read').get('snap-fail', 'volumes/data.tar.zst')
    expect((await bytesOf(got)).equals(retry.archive)).toBe(true)
  })

  test('a full artifact quota says so and what to do', async () => {
    github.service.fail({ endpoint: 'CreateArtifact', answer: QUOTA_EXCEEDED })
    const writer = await ArtifactStore.open({}, 'write').begin('snap-quota')
    const error = await rejection(writer.put('manifest.json', Readable.from([Buffer.from('{}')])))
    expect(error.message).toMatch(/workflow artifacts: .*quota is used up: delete old artifacts/)
    await writer.discard()
  })

  test('a killed run’s unpublished objects are removed by discardStaged, nothing else', async () => {
    const writer = await ArtifactStore.open({}, 'write').begin('snap-1.x')
    await writer.put('manifest.json', Readable.from([Buffer.from('{}')]))
    const writerOfPrefix = await ArtifactStore.open({}, 'write').begin('snap')
    await writerOfPrefix.put('manifest.json', Readable.from([Buffer.from('{}')]))
    // 'snap' must not take snap-1's nor snap-1.x's artifacts with it
    expect(await reader().discardStaged('snap', 'host:1')).toBe(1)
    expect(published(RUN_A)).not.toContain('snap.manifest.json')
    expect(published(RUN_A)).toContain('snap-1.x.manifest.json')
    expect(published(RUN_A)).toContain('snap-1.oci-manifest.json')
    expect(await reader().discardStaged('snap-1', 'host:1')).toBe(0)
    expect(await reader().discardStaged('snap-1.x', 'host:1')).toBe(1)
    expect(published(RUN_A).filter(name => name.startsWith('snap-1.x'))).toEqual([])
  })

  test('no temporary file is left behind', async () => {
    expect(await readdir(process.env.RUNNER_TEMP!)).toEqual([])
  })

  test('outside a workflow job it cannot write, and says so', () => {
    expect(() => ArtifactStore.open({}, 'write', {})).toThrow(/no workflow job.*directory store/)
    expect(() => ArtifactStore.open({}, 'read', {})).toThrow(/needs run-id/)
  })
})

describe('other runs', () => {
  test('run B reads run A’s snapshot by run id, repository and token', async () => {
    await asRun(RUN_B, async () => {
      const store = ArtifactStore.open(otherRun(RUN_A), 'read')
      expect(store.description).toBe(`workflow artifacts of run ${RUN_A} in ${github.repository}`)
      expect((await store.list()).map(s => s.snapshotId).sort()).toEqual(['snap-1', 'snap-fail'])
      const data = await bytesOf(await store.get('snap-1', 'volumes/data.tar.zst'))
      expect(sha256(data)).toBe(
        (await listedDigest(RUN_A, 'snap-1.volumes.data.tar.zst')) ?? 'missing'
      )
    })
  })

  test('a wrong token, a missing run and a missing token are specific errors', async () => {
    await asRun(RUN_B, async () => {
      const wrong = await rejection(
        ArtifactStore.open(otherRun(RUN_A, 'ghs_wrong-token-value'), 'read').list()
      )
      expect(wrong).toBeInstanceOf(StoreError)
      expect(wrong.message).toMatch(/^workflow artifacts: listing .*github-token was refused/)
      expect(wrong.message).not.toContain('ghs_wrong-token-value')

      const noRun = await ArtifactStore.open(otherRun(999_999), 'read').list()
      expect(noRun).toEqual([])
      const noSnapshot = await rejection(
        ArtifactStore.open(otherRun(999_999), 'read').get('snap-1', 'manifest.json')
      )
      expect(noSnapshot.message).toMatch(
        /snapshot snap-1 is not in workflow artifacts of run 999999/
      )

      expect(() => ArtifactStore.open({ runId: RUN_A }, 'read')).toThrow(/needs github-token/)
      expect(() =>
        ArtifactStore.open({ repository: 'octo-org/elsewhere', token: github.token }, 'read')
      ).toThrow(/run-repository octo-org\/elsewhere is not this run's repository: give run-id/)
    })
  })

  test('a download that does not match the recorded digest is refused', async () => {
    const archive = randomBytes(MiB)
    await asRun(RUN_C, async () => {
      const { writer } = await writeSnapshot('snap-tampered', archive)
      await writer.publish({ replace: false })
    })
    const entry = github.service
      .artifacts()
      .find(a => a.runId === RUN_C && a.name === 'snap-tampered.volumes.data.tar.zst')!
    const damaged = Buffer.from(archive)
    damaged[1000] ^= 0xff
    await github.azurite.blobs
      .getContainerClient('actions-results')
      .getBlockBlobClient(entry.blob)
      .uploadData(damaged)
    const error = await rejection(
      ArtifactStore.open(otherRun(RUN_C), 'read').get('snap-tampered', 'volumes/data.tar.zst')
    )
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(/does not match the digest the snapshot recorded/)
  })

  test('an object whose artifact is gone (deleted, expired) is a specific error', async () => {
    const entry = github.service
      .artifacts()
      .find(a => a.runId === RUN_C && a.name === 'snap-tampered.volumes.data.tar.zst')!
    const deleted = await fetch(
      `${github.service.url}/repos/${github.repository}/actions/artifacts/${entry.id}`,
      { method: 'DELETE', headers: { authorization: `Bearer ${github.token}` } }
    )
    expect(deleted.status).toBe(204)
    const error = await rejection(
      ArtifactStore.open(otherRun(RUN_C), 'read').get('snap-tampered', 'volumes/data.tar.zst')
    )
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(
      /its artifact snap-tampered.volumes.data.tar.zst is gone \(deleted, or expired after its retention days\)/
    )
  })

  test('without run-id, a token reads this run and the earlier runs of its workflow, newest first', async () => {
    await asRun(RUN_B, async () => {
      const { writer, archive } = await writeSnapshot('snap-1')
      await writer.publish({ replace: false })
      const newer = archive
      // run C: snap-1 is in A and B; B's, the newer, is the one seen
      await asRun(RUN_C, async () => {
        const store: SnapshotStore = ArtifactStore.open({ token: github.token }, 'read')
        expect(store.description).toMatch(/run 5103 and the earlier runs of its workflow/)
        const ids = (await store.list()).map(s => s.snapshotId).sort()
        expect(ids).toEqual(['snap-1', 'snap-fail', 'snap-tampered'])
        const data = await bytesOf(await store.get('snap-1', 'volumes/data.tar.zst'))
        expect(data.equals(newer)).toBe(true)
        // without a token: this run only
        expect((await ArtifactStore.open({}, 'read').list()).map(s => s.snapshotId)).toEqual([
          'snap-tampered'
        ])
      })
    })
    // a run of another workflow sees none of them
    await asRun(OTHER_WORKFLOW_RUN, async () => {
      expect(await ArtifactStore.open({ token: github.token }, 'read').list()).toEqual([])
    })
  })

  test('delete removes the manifest first, then the objects, from another run', async () => {
    await asRun(RUN_C, async () => {
      const store = ArtifactStore.open({ token: github.token }, 'read')
      expect(await store.delete('snap-1')).toBe('deleted')
      expect(published(RUN_B).filter(name => name.startsWith('snap-1.'))).toEqual([])
      // A's snap-1 shows again, B's is gone
      const again = ArtifactStore.open({ token: github.token }, 'read')
      expect((await again.list()).find(s => s.snapshotId === 'snap-1')?.modifiedAt.getTime()).toBe(
        github.service
          .artifacts()
          .find(a => a.name === 'snap-1.oci-manifest.json')!
          .createdAt.getTime()
      )
      const missing = await rejection(again.delete('snap-nothing'))
      expect(missing.message).toMatch(/cannot delete snapshot snap-nothing: it is not in/)
    })
  })
})

test('nothing left the machine', () => {
  expect(connections.destinations.length).toBeGreaterThan(0)
  expect(connections.destinations.filter(d => d !== '127.0.0.1')).toEqual([])
})

async function listedDigest(runId: number, name: string): Promise<string | undefined> {
  return github.service.artifacts().find(a => a.runId === runId && a.name === name)?.digest
}
