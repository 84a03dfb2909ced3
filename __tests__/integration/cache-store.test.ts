import { createHash, randomBytes } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { beforeAll, describe, expect, test } from 'vitest'
import type { CacheStore as Store } from '../../src/stores/github/cache.js'
import { StoreError } from '../../src/shared/errors.js'
import { gitHubServicesForFile, inEnv, type GitHubServices } from '../services/github-services.js'
import { bytesOf, rejection } from './support.js'

/**
 * The cache store with the real @actions/cache client against the local stand-ins. Snapshots are
 * saved in run A and read in run B; the tests build on each other's entries.
 */

const MiB = 1024 * 1024
const RUN_A = 6101
const RUN_B = 6102
const KEY = 'db-linux'

/**
 * The client's entry version hashes the file's path, and it tars that path relative to the
 * workspace: a restore finds an entry where RUNNER_TEMP is the same, as on GitHub's hosted runners
 * (`/home/runner/work/_temp`). Both runs use one.
 */
const jobEnv = (github: GitHubServices, runId: number) => ({
  ...github.runEnv(runId),
  RUNNER_TEMP: join(github.runEnv(RUN_A).RUNNER_TEMP, '..', '..', 'runner-temp')
})

const bed = gitHubServicesForFile(github => jobEnv(github, RUN_A))
const { connections } = bed
let github: GitHubServices
let CacheStore: typeof Store

beforeAll(async () => {
  github = bed.github
  ;({ CacheStore } = await import('../../src/stores/github/cache.js'))
})

const asRun = <T>(runId: number, body: () => Promise<T>) => inEnv(jobEnv(github, runId), body)

const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex')

const entries = () =>
  github.service
    .cacheEntries()
    .filter(e => e.finalized)
    .map(e => e.key)

async function writeSnapshot(id: string, archive: Buffer) {
  const writer = await CacheStore.open(KEY, 'write').begin(id)
  await writer.put('volumes/data.tar.zst', Readable.from([archive]))
  await writer.put('manifest.json', Readable.from([Buffer.from(`{"id":"${id}"}`)]))
  return writer
}

const archive = randomBytes(9 * MiB + 5)

describe('the cache store', () => {
  test('saves each object under its digest and the snapshot under the key, last', async () => {
    const writer = await writeSnapshot('snap-1', archive)
    expect(entries()).toEqual([
      `docker-snapshot-blob-sha256-${hex(archive)}`,
      `docker-snapshot-blob-sha256-${hex(Buffer.from('{"id":"snap-1"}'))}`
    ])
    // not yet published: a reader finds nothing
    expect(await asRun(RUN_B, () => CacheStore.open(KEY, 'read').list())).toEqual([])
    await writer.publish({ replace: false })
    expect(entries().at(-1)).toBe(`${KEY}-snap-1`)
  })

  test('another run reads it back, checked, and finds it as the newest', async () => {
    await asRun(RUN_B, async () => {
      const store = CacheStore.open(KEY, 'read')
      expect(await store.list()).toEqual([
        {
          snapshotId: 'snap-1',
          hasManifest: true,
          modifiedAt: expect.any(Date),
          bytes: archive.length + 15
        }
      ])
      expect(await store.has('snap-1', 'volumes/data.tar.zst')).toBe(true)
      expect(await store.has('snap-2', 'volumes/data.tar.zst')).toBe(false)
      const data = await bytesOf(await store.get('snap-1', 'volumes/data.tar.zst'))
      expect(data.equals(archive)).toBe(true)
    })
    expect(await readdir(join(process.env.RUNNER_TEMP!, 'docker-snapshot-cache'))).toEqual([])
  })

  test('an unchanged object is not saved again; the newest snapshot is the one listed', async () => {
    const before = entries().length
    const writer = await writeSnapshot('snap-2', archive)
    await writer.publish({ replace: false })
    // only snap-2's small manifest object and the snapshot entry are new
    expect(entries().length - before).toBe(2)
    await asRun(RUN_B, async () => {
      expect((await CacheStore.open(KEY, 'read').list()).map(s => s.snapshotId)).toEqual(['snap-2'])
      // an older one is still there by its id
      const data = await bytesOf(
        await CacheStore.open(KEY, 'read').get('snap-1', 'volumes/data.tar.zst')
      )
      expect(data.equals(archive)).toBe(true)
    })
  })

  test('an entry cannot be replaced', async () => {
    const writer = await writeSnapshot('snap-1', randomBytes(1000))
    const error = await rejection(writer.publish({ replace: true }))
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(
      /already has an entry db-linux-snap-1.*choose another snapshot-id/
    )
  })

  test('a miss names the store and what to do', async () => {
    const store = CacheStore.open(KEY, 'read')
    const noSnapshot = await rejection(store.get('snap-9', 'manifest.json'))
    expect(noSnapshot.message).toMatch(
      /object manifest.json of snapshot snap-9 is not in the Actions cache .*no such snapshot/
    )
    // a blob evicted under the snapshot: its data is gone from the blob service
    const blob = github.service
      .cacheEntries()
      .find(e => e.key === `docker-snapshot-blob-sha256-${hex(archive)}`)!.blob
    await github.azurite.blobs.getContainerClient('actions-results').deleteBlob(blob)
    const evicted = await rejection(store.get('snap-1', 'volumes/data.tar.zst'))
    expect(evicted).toBeInstanceOf(StoreError)
    expect(evicted.message).toMatch(/its entry docker-snapshot-blob-sha256-\w+ is gone.*take a new/)
  })

  test('an upload failing midway publishes nothing, and a retry succeeds', async () => {
    const big = randomBytes(17 * MiB)
    // the client uploads an entry under 128 MiB in one PUT
    const clear = github.service.fail({
      endpoint: 'blob PUT',
      times: Infinity,
      answer: { status: 403, code: 'AuthenticationFailed', message: 'Signature expired' }
    })
    const writer = await CacheStore.open(KEY, 'write').begin('snap-3')
    const error = await rejection(writer.put('volumes/big.tar.zst', Readable.from([big])))
    clear()
    expect(error).toBeInstanceOf(StoreError)
    expect(error.message).toMatch(
      /saving docker-snapshot-blob-sha256-\w+ to the Actions cache failed/
    )
    await writer.discard()
    expect(entries()).not.toContain(`${KEY}-snap-3`)

    // the failed upload keeps its key reserved, as GitHub does: the retry saves the blob aside
    const retry = await CacheStore.open(KEY, 'write').begin('snap-3')
    await retry.put('volumes/big.tar.zst', Readable.from([big]))
    await retry.publish({ replace: false })
    expect(entries()).toContainEqual(
      expect.stringMatching(new RegExp(`^docker-snapshot-blob-sha256-${hex(big)}-[0-9a-f]{8}$`))
    )
    const data = await bytesOf(
      await CacheStore.open(KEY, 'read').get('snap-3', 'volumes/big.tar.zst')
    )
    expect(data.equals(big)).toBe(true)
  })

  test('it cannot delete nor list everything, and says so', async () => {
    const store = CacheStore.open(KEY, 'read')
    expect(store.canDelete).toBe(false)
    expect(store.listLimit).toMatch(/cannot list.*only the newest/)
    await expect(store.delete('snap-1')).rejects.toThrow(
      /cannot delete snapshot snap-1 from the Actions cache/
    )
  })

  test('outside a workflow job it says so', async () => {
    await inEnv({ ACTIONS_RESULTS_URL: '', ACTIONS_CACHE_URL: '' }, async () => {
      expect(() => CacheStore.open(KEY, 'write')).toThrow(/no workflow job.*directory store/)
    })
  })
})

test('nothing left the machine', () => {
  expect(connections.destinations.filter(d => d !== '127.0.0.1')).toEqual([])
})
