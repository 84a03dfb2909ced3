/**
 * A store in the GitHub Actions cache (`store: cache`). Each object is a cache entry keyed by its
 * digest, `docker-snapshot-blob-sha256-<hex>` (entries are immutable, so an unchanged archive is
 * saved once for every snapshot that has it); the snapshot's OCI artifact manifest (oci/format.ts)
 * is saved last under `<cache-key>-<snapshot-id>`, and `latest` is the newest entry whose key
 * starts with `<cache-key>-`. The cache cannot list or delete its entries: ls shows only the
 * newest snapshot, prune refuses, and unused entries are evicted by GitHub (least recently used).
 *
 * `@actions/cache` saves and restores files, tars them and compresses them again: one file at a
 * time is kept under RUNNER_TEMP, at a fixed path (the client's entry version hashes the paths,
 * so a restore must name the same path as the save did). It swallows its errors: saveCache
 * answers -1 and restoreCache undefined, so both are checked here.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { isFeatureAvailable, restoreCache, saveCache } from '@actions/cache'
import { StoreError } from '../../shared/errors.js'
import { isValidSnapshotId } from '../../manifest/schema.js'
import { MANIFEST_FILE } from '../../manifest/manifest.js'
import {
  type ArtifactManifest,
  type ArtifactObject,
  buildArtifactManifest,
  findObject,
  missingObject,
  parseArtifactManifest
} from '../oci/format.js'
// The SnapshotStore contract: every store imports the same types (a repeated import, left so).
import type {
  DeleteOutcome,
  SnapshotHold,
  SnapshotStore,
  SnapshotWriter,
  StoredSnapshot
} from '../store.js'
import { quietly } from './client-output.js'
import { checkedStream, writeHashed } from './files.js'

/** The key of the entry holding the object with this digest. */
export function blobKey(digest: string): string {
  return `docker-snapshot-blob-${digest.replace(':', '-')}`
}

export class CacheStore implements SnapshotStore {
  readonly description: string
  readonly canDelete = false
  readonly listLimit =
    'The Actions cache cannot list its entries: ls shows only the newest snapshot (the newest ' +
    'key starting with the cache-key), and prune cannot delete (GitHub evicts unused entries).'
  /** The fixed paths the client saves from and restores to: a blob, a snapshot's manifest. */
  private readonly blobPath: string
  private readonly manifestPath: string
  private readonly manifests = new Map<string, Promise<ArtifactManifest | undefined>>()
  /** One transfer at a time: they share the fixed paths. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly key: string,
    private readonly access: 'read' | 'write',
    env: NodeJS.ProcessEnv
  ) {
    this.description = `the Actions cache (keys ${key}-<snapshot-id>)`
    const base = join(env.RUNNER_TEMP || tmpdir(), 'docker-snapshot-cache')
    this.blobPath = join(base, 'object')
    this.manifestPath = join(base, 'oci-manifest.json')
  }

  static open(
    key: string,
    access: 'read' | 'write',
    env: NodeJS.ProcessEnv = process.env
  ): CacheStore {
    if (!isFeatureAvailable()) {
      throw new StoreError(
        'store: cache needs the GitHub Actions cache service, and this is no workflow job ' +
          '(ACTIONS_RESULTS_URL or ACTIONS_CACHE_URL is not set): run it in a GitHub Actions ' +
          'step, or choose a directory store.'
      )
    }
    return new CacheStore(key, access, env)
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work)
    this.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Whether an entry exists under `key` (without downloading it); for a blob, also under a key
   * that `key` prefixes (a copy saved aside, see save).
   */
  private async exists(kind: 'blob' | 'manifest', key: string): Promise<boolean> {
    const file = kind === 'blob' ? this.blobPath : this.manifestPath
    const found = await this.restore(file, key, kind === 'blob' ? [key] : [], true)
    return found !== undefined && found.startsWith(key)
  }

  private async restore(
    path: string,
    key: string,
    restoreKeys: string[],
    lookupOnly = false
  ): Promise<string | undefined> {
    try {
      return await quietly(() => restoreCache([path], key, restoreKeys, { lookupOnly }))
    } catch (error) {
      throw new StoreError(
        `the Actions cache refused to look up ${key}: ${(error as Error).message}`,
        { cause: error }
      )
    }
  }

  /**
   * @internal Saves the file at `path` under `key`, unless an entry has that key already. A key
   * that an earlier upload reserved and never finished stays taken (GitHub keeps the reservation):
   * a blob is then saved aside, under `key-<random>`, which a lookup by prefix finds too.
   */
  async save(path: string, key: string, kind: 'blob' | 'manifest'): Promise<void> {
    if (await this.exists(kind, key)) {
      if (kind === 'blob') return // the same bytes, saved by an earlier snapshot
      throw new StoreError(
        `the Actions cache already has an entry ${key}, and cache entries cannot be replaced: ` +
          'choose another snapshot-id.'
      )
    }
    if ((await this.saveOnce(path, key)) || (await this.exists(kind, key))) return
    if (
      kind === 'blob' &&
      (await this.saveOnce(path, `${key}-${randomBytes(4).toString('hex')}`))
    ) {
      return
    }
    throw new StoreError(
      `saving ${key} to the Actions cache failed (the client's warning says why): try again` +
        (kind === 'manifest'
          ? ' under another snapshot-id (a failed upload keeps its key reserved)'
          : '') +
        '; if the cache is full (10 GB a repository), remove entries or choose another store.'
    )
  }

  /** Whether the client saved the file; it answers -1 (and logs a warning) when it did not. */
  private async saveOnce(path: string, key: string): Promise<boolean> {
    try {
      return (await quietly(() => saveCache([path], key))) !== -1
    } catch (error) {
      throw new StoreError(`saving ${key} to the Actions cache failed: ${(error as Error).message}`)
    }
  }

  /** @internal */
  paths(): { blob: string; manifest: string } {
    return { blob: this.blobPath, manifest: this.manifestPath }
  }

  /** @internal Runs `work` alone, with the transfer directory in place. */
  exclusively<T>(work: () => Promise<T>): Promise<T> {
    return this.serially(async () => {
      await mkdir(join(this.blobPath, '..'), { recursive: true })
      return work()
    })
  }

  private manifest(snapshotId: string): Promise<ArtifactManifest | undefined> {
    let manifest = this.manifests.get(snapshotId)
    if (!manifest) {
      const key = `${this.key}-${snapshotId}`
      manifest = this.exclusively(async () => {
        if ((await this.restore(this.manifestPath, key, [])) !== key) return undefined
        try {
          const bytes = await readFile(this.manifestPath)
          return parseArtifactManifest(bytes, `snapshot ${snapshotId} in ${this.description}`)
        } finally {
          await rm(this.manifestPath, { force: true })
        }
      })
      manifest.catch(() => this.manifests.delete(snapshotId))
      this.manifests.set(snapshotId, manifest)
    }
    return manifest
  }

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    return new CacheWriter(this, snapshotId)
  }

  /** Nothing is staged under a snapshot's name: blobs are shared by digest and evicted unused. */
  async discardStaged(): Promise<number> {
    return 0
  }

  async discardAbandoned(): Promise<string[]> {
    return []
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const manifest = await this.manifest(snapshotId)
    const missing = (why: string) => missingObject(this.description, snapshotId, name, why)
    if (!manifest) throw missing('there is no such snapshot (or GitHub evicted it)')
    const object = findObject(manifest, this.description, snapshotId, name)
    const key = blobKey(object.digest)
    return this.exclusively(async () => {
      if (!(await this.restore(this.blobPath, key, [key]))?.startsWith(key)) {
        throw missing(
          `its entry ${key} is gone (GitHub evicts entries unused for 7 days, and the least ` +
            'recently used when the cache is full): take a new snapshot'
        )
      }
      return checkedStream(this.blobPath, object.digest, `cache entry ${key}`)
    })
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    return (await this.manifest(snapshotId))?.objects.some(o => o.name === name) ?? false
  }

  /** Only the newest snapshot (see listLimit); none when writing, where publish checks the key. */
  async list(): Promise<StoredSnapshot[]> {
    if (this.access === 'write') return []
    const prefix = `${this.key}-`
    const matched = await this.exclusively(() =>
      this.restore(this.manifestPath, prefix, [prefix], true)
    )
    const snapshotId = matched?.slice(prefix.length)
    if (snapshotId === undefined || !isValidSnapshotId(snapshotId)) return []
    const manifest = await this.manifest(snapshotId)
    if (!manifest) return []
    return [
      {
        snapshotId,
        hasManifest: manifest.objects.some(o => o.name === MANIFEST_FILE),
        modifiedAt: new Date(manifest.created ?? 0),
        bytes: manifest.objects.reduce((sum, o) => sum + o.size, 0)
      }
    ]
  }

  /** Entries have no holds; nothing here deletes them either. */
  async hold(): Promise<SnapshotHold> {
    return { release: async () => {} }
  }

  async delete(snapshotId: string): Promise<DeleteOutcome> {
    throw new StoreError(
      `cannot delete snapshot ${snapshotId} from ${this.description}: the cache client cannot ` +
        'delete entries; GitHub evicts unused ones, or delete them on the repository’s Actions ' +
        'caches page.'
    )
  }
}

class CacheWriter implements SnapshotWriter {
  private readonly objects: ArtifactObject[] = []

  constructor(
    private readonly store: CacheStore,
    readonly snapshotId: string
  ) {}

  private async send(
    kind: 'blob' | 'manifest',
    data: Readable,
    key: (digest: string) => string
  ): Promise<{ digest: string; size: number }> {
    return this.store.exclusively(async () => {
      const path = this.store.paths()[kind]
      try {
        const written = await writeHashed(data, path)
        await this.store.save(path, key(written.digest), kind)
        return written
      } finally {
        await rm(path, { force: true })
      }
    })
  }

  async put(name: string, data: Readable): Promise<number> {
    if (this.objects.some(o => o.name === name)) {
      throw new StoreError(`object ${name} was written twice to snapshot ${this.snapshotId}`)
    }
    const { digest, size } = await this.send('blob', data, blobKey)
    this.objects.push({ name, digest, size })
    return size
  }

  async publish(): Promise<void> {
    const manifest = buildArtifactManifest(this.objects, new Date().toISOString())
    await this.send('manifest', Readable.from([manifest.bytes]), () => {
      return `${this.store.key}-${this.snapshotId}`
    })
  }

  /** Blobs are shared by digest with other snapshots and cannot be deleted: nothing to do. */
  async discard(): Promise<void> {}
}
