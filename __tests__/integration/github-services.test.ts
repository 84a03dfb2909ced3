import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DefaultArtifactClient } from '@actions/artifact'
import type * as Cache from '@actions/cache'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { gitHubServicesForFile, inEnv, type GitHubServices } from '../services/github-services.js'
import { QUOTA_EXCEEDED } from '../services/results-service.js'

/**
 * The unmodified @actions/artifact and @actions/cache clients against the local stand-ins
 * (results service + Azurite): the test bed the artifact and cache stores are tested on.
 * One pair of services per file; the tests run in order and build on each other's artifacts.
 */

const MiB = 1024 * 1024
const RUN_A = 4101
const RUN_B = 4102

const bed = gitHubServicesForFile(github => github.runEnv(RUN_A))
const { connections } = bed
let github: GitHubServices
let artifactClient: DefaultArtifactClient
let cache: typeof Cache
let work: string

beforeAll(async () => {
  github = bed.github
  // @actions/github reads GITHUB_API_URL when first imported: import the clients after the env
  // (the type imports above are erased)
  const artifact = await import('@actions/artifact')
  artifactClient = new artifact.DefaultArtifactClient()
  cache = await import('@actions/cache')
  work = await mkdtemp(join(tmpdir(), 'dst-github-services-'))
})

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** What another run gives the artifact client to find run A's artifacts. */
function findRunA() {
  const [repositoryOwner, repositoryName] = github.repository.split('/') as [string, string]
  return { token: github.token, workflowRunId: RUN_A, repositoryOwner, repositoryName }
}

/** Runs `body` as a job of another run, then returns to run A. */
const asRun = <T>(runId: number, body: () => Promise<T>) => inEnv(github.runEnv(runId), body)

describe('artifacts', () => {
  const archiveName = 'snap-1.data.tar.zst'
  let archive: string
  let archiveDigest: string
  let archiveId: number

  beforeAll(async () => {
    archive = join(work, archiveName)
    // 20 MiB and a bit: two full 8 MiB upload blocks and a short third one
    await writeFile(archive, randomBytes(20 * MiB + 4321))
    archiveDigest = await sha256(archive)
  })

  test('an unzipped upload larger than one block is stored whole, in blocks, and listed', async () => {
    const blocksBefore = github.service.calls('blob PUT block')
    const uploaded = await artifactClient.uploadArtifact('ignored', [archive], work, {
      skipArchive: true
    })
    archiveId = uploaded.id!
    expect(uploaded.size).toBe(20 * MiB + 4321)
    expect(uploaded.digest).toBe(archiveDigest)
    expect(github.service.calls('blob PUT block') - blocksBefore).toBe(3)

    // the blob itself, read from Azurite past the service and the client
    const stored = github.service.artifacts().find(a => a.id === archiveId)!
    expect(stored).toMatchObject({ name: archiveName, runId: RUN_A, finalized: true })
    const blob = await github.azurite.blobs
      .getContainerClient('actions-results')
      .getBlobClient(stored.blob)
      .downloadToBuffer()
    expect(createHash('sha256').update(blob).digest('hex')).toBe(archiveDigest)

    const { artifacts } = await artifactClient.listArtifacts()
    expect(artifacts).toEqual([
      expect.objectContaining({
        id: archiveId,
        name: archiveName,
        size: 20 * MiB + 4321,
        digest: `sha256:${archiveDigest}`
      })
    ])
    const { artifact } = await artifactClient.getArtifact(archiveName)
    expect(artifact.id).toBe(archiveId)
  })

  test('the same run downloads it byte for byte under its own name', async () => {
    const into = join(work, 'download-same-run')
    const result = await artifactClient.downloadArtifact(archiveId, {
      path: into,
      expectedHash: `sha256:${archiveDigest}`
    })
    expect(result).toEqual({ downloadPath: into, digestMismatch: false })
    expect(await readdir(into)).toEqual([archiveName])
    expect(await sha256(join(into, archiveName))).toBe(archiveDigest)
  })

  test('another run finds and downloads it by run id, repository and token', async () => {
    const findBy = findRunA()
    await asRun(RUN_B, async () => {
      // run B's own artifacts are not run A's
      expect((await artifactClient.listArtifacts()).artifacts).toEqual([])
      await expect(artifactClient.getArtifact(archiveName)).rejects.toThrow(/not found/i)

      const { artifacts } = await artifactClient.listArtifacts({ findBy })
      expect(artifacts.map(a => [a.id, a.name, a.digest])).toEqual([
        [archiveId, archiveName, `sha256:${archiveDigest}`]
      ])
      const { artifact } = await artifactClient.getArtifact(archiveName, { findBy })
      expect(artifact.id).toBe(archiveId)

      const into = join(work, 'download-other-run')
      const result = await artifactClient.downloadArtifact(archiveId, {
        path: into,
        expectedHash: `sha256:${archiveDigest}`,
        findBy
      })
      expect(result.digestMismatch).toBe(false)
      expect(await readdir(into)).toEqual([archiveName])
      expect(await sha256(join(into, archiveName))).toBe(archiveDigest)

      await expect(
        artifactClient.getArtifact(archiveName, { findBy: { ...findBy, token: 'ghs_wrong' } })
      ).rejects.toThrow(/Bad credentials/)
      await expect(
        artifactClient.getArtifact(archiveName, { findBy: { ...findBy, workflowRunId: 999 } })
      ).rejects.toThrow(/not found/i)
    })
  })

  test('a name cannot be reused within a run', async () => {
    await expect(
      artifactClient.uploadArtifact('ignored', [archive], work, { skipArchive: true })
    ).rejects.toThrow(/already exists/)
  })

  test('a zipped upload of a folder comes back as the same files', async () => {
    const root = join(work, 'zipped')
    await mkdir(join(root, 'nested'), { recursive: true })
    const files = {
      'manifest.json': Buffer.from('{"snapshot":"snap-1"}\n'),
      'nested/image.tar': randomBytes(3 * MiB)
    }
    for (const [name, data] of Object.entries(files)) await writeFile(join(root, name), data)
    const uploaded = await artifactClient.uploadArtifact(
      'snap-1.bundle',
      Object.keys(files).map(name => join(root, name)),
      root
    )
    const into = join(work, 'download-zipped')
    await artifactClient.downloadArtifact(uploaded.id!, { path: into })
    for (const [name, data] of Object.entries(files)) {
      expect((await readFile(join(into, name))).equals(data)).toBe(true)
    }
  })
})

describe('the cache', () => {
  test('saves, restores by a restore-key prefix, and misses with undefined', async () => {
    const seeded = join(work, 'seeded')
    await mkdir(seeded)
    const data = randomBytes(2 * MiB)
    await writeFile(join(seeded, 'data.bin'), data)

    const id = await cache.saveCache([seeded], 'seed-linux-v1')
    expect(id).toBeGreaterThan(0)
    // entries are immutable: a second save under the same key and paths is refused, not thrown
    expect(await cache.saveCache([seeded], 'seed-linux-v1')).toBe(-1)

    await rm(seeded, { recursive: true })
    const restored = await asRun(RUN_B, () =>
      cache.restoreCache([seeded], 'seed-linux-v2', ['seed-linux-'])
    )
    expect(restored).toBe('seed-linux-v1')
    expect((await readFile(join(seeded, 'data.bin'))).equals(data)).toBe(true)

    expect(await cache.restoreCache([seeded], 'seed-mac-v1', ['seed-mac-'])).toBeUndefined()
    // other paths are another version of the entry: a miss too
    expect(await cache.restoreCache([work], 'seed-linux-v1')).toBeUndefined()
  })
})

describe('bad days', () => {
  test('blob storage refusing an upload midway fails the upload, and a retry succeeds', async () => {
    const file = join(work, 'snap-2.data.tar.zst')
    await writeFile(file, randomBytes(17 * MiB))
    const clear = github.service.fail({
      endpoint: 'blob PUT block',
      nth: 2,
      times: Infinity,
      answer: {
        status: 403,
        code: 'AuthenticationFailed',
        message: 'Signature not valid in the specified time frame'
      }
    })
    const started = Date.now()
    await expect(
      artifactClient.uploadArtifact('ignored', [file], work, { skipArchive: true })
    ).rejects.toThrow(/Signature not valid/)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(github.service.artifacts().filter(a => a.name === 'snap-2.data.tar.zst')).toEqual([
      expect.objectContaining({ finalized: false })
    ])

    clear()
    const uploaded = await artifactClient.uploadArtifact('ignored', [file], work, {
      skipArchive: true
    })
    expect(uploaded.digest).toBe(await sha256(file))
  })

  test('a full artifact quota gives the client’s quota message, without retrying', async () => {
    github.service.fail({ endpoint: 'CreateArtifact', answer: QUOTA_EXCEEDED })
    const file = join(work, 'snap-3.data.tar.zst')
    await writeFile(file, 'x')
    const calls = github.service.calls('CreateArtifact')
    await expect(
      artifactClient.uploadArtifact('ignored', [file], work, { skipArchive: true })
    ).rejects.toThrow(/Artifact storage quota has been hit/)
    expect(github.service.calls('CreateArtifact') - calls).toBe(1)
  })
})

describe('after a fault is gone', () => {
  test('a dropped block upload, a failing finalize and a failing listing are retried by the clients', async () => {
    const file = join(work, 'snap-4.data.tar.zst')
    await writeFile(file, randomBytes(9 * MiB))
    const blocks = github.service.calls('blob PUT block')
    const finalizes = github.service.calls('FinalizeArtifact')
    github.service.fail({ endpoint: 'blob PUT block', answer: 'disconnect' })
    github.service.fail({
      endpoint: 'FinalizeArtifact',
      answer: { status: 500, code: 'internal', message: 'try again' }
    })
    const uploaded = await artifactClient.uploadArtifact('ignored', [file], work, {
      skipArchive: true
    })
    expect(uploaded.digest).toBe(await sha256(file))
    expect(github.service.calls('blob PUT block') - blocks).toBe(3)
    expect(github.service.calls('FinalizeArtifact') - finalizes).toBe(2)

    const listing = 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts'
    const listings = github.service.calls(listing)
    github.service.fail({
      endpoint: listing,
      answer: { status: 503, code: 'unavailable', message: 'Service Unavailable' }
    })
    const findBy = findRunA()
    const { artifacts } = await asRun(RUN_B, () => artifactClient.listArtifacts({ findBy }))
    expect(artifacts.map(a => a.name)).toContain('snap-4.data.tar.zst')
    expect(github.service.calls(listing) - listings).toBe(2)
  })
})

describe('deleting', () => {
  test('removes the artifact and its blob, in the run and from another run', async () => {
    const container = github.azurite.blobs.getContainerClient('actions-results')
    const blobOf = (name: string) => github.service.artifacts().find(a => a.name === name)!.blob

    const own = blobOf('snap-1.bundle')
    await artifactClient.deleteArtifact('snap-1.bundle')
    await expect(artifactClient.getArtifact('snap-1.bundle')).rejects.toThrow(/not found/i)
    expect(await container.getBlobClient(own).exists()).toBe(false)

    const findBy = findRunA()
    const other = blobOf('snap-4.data.tar.zst')
    await asRun(RUN_B, () => artifactClient.deleteArtifact('snap-4.data.tar.zst', { findBy }))
    await expect(artifactClient.getArtifact('snap-4.data.tar.zst')).rejects.toThrow(/not found/i)
    expect(await container.getBlobClient(other).exists()).toBe(false)
    // the others stay
    expect((await artifactClient.getArtifact('snap-1.data.tar.zst')).artifact.name).toBe(
      'snap-1.data.tar.zst'
    )
  })
})

test('nothing left the machine', () => {
  expect(connections.destinations.length).toBeGreaterThan(0)
  expect(connections.destinations.filter(d => d !== '127.0.0.1')).toEqual([])
})
