/**
 * A store in workflow artifacts (`store: artifact`). Each object of a snapshot is its own
 * artifact, `<snapshotId>.<object name, '/' as '.'>`, uploaded unzipped so that a person can
 * download it from the run page and open it with `zstd -d | tar x`; the snapshot's OCI artifact
 * manifest (oci/format.ts) is uploaded last as `<snapshotId>.oci-manifest.json`, and the snapshot
 * exists only once it does. Writing goes to this run; reading looks in this run, another run
 * (`run-id`), or with a token this run's workflow's earlier runs, newest first.
 * (Longer than 300 lines: one class, the SnapshotStore contract over those three kinds of run.)
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { type Artifact, DefaultArtifactClient } from '@actions/artifact'
import { StoreError } from '../../shared/errors.js'
import { isValidSnapshotId } from '../../manifest/schema.js'
import { MANIFEST_FILE } from '../../manifest/manifest.js'
import {
  type ArtifactManifest,
  type ArtifactObject,
  findObject,
  missingObject,
  parseArtifactManifest
} from '../oci/format.js'
import type { OtherRun } from '../spec.js'
// The SnapshotStore contract: every store imports the same types (a repeated import, left so).
import type {
  DeleteOutcome,
  SnapshotHold,
  SnapshotStore,
  SnapshotWriter,
  StoredSnapshot
} from '../store.js'
import {
  ArtifactWriter,
  MANIFEST_SUFFIX,
  artifactName,
  collect,
  failure,
  isNotFound
} from './artifact-writer.js'
import { quietly } from './client-output.js'
import { checkedStream, transferDirectory } from './files.js'
import { workflowRuns } from './runs.js'

export type FindBy = {
  token: string
  workflowRunId: number
  repositoryOwner: string
  repositoryName: string
}
/** A run to read: this one (no findBy, the runtime token) or another (REST, github-token). */
export interface Run {
  runId: number
  findBy?: FindBy
}

export class ArtifactStore implements SnapshotStore {
  readonly description: string
  readonly canDelete = true
  private readonly client = new DefaultArtifactClient()
  private readonly listings = new Map<number, Promise<Artifact[]>>()
  private readonly manifests = new Map<string, Promise<ArtifactManifest>>()
  private scope: Promise<Run[]> | undefined

  private constructor(
    private readonly spec: OtherRun & { retentionDays?: number },
    private readonly env: NodeJS.ProcessEnv,
    private readonly access: 'read' | 'write',
    private readonly thisRun: number | undefined,
    private readonly repository: string
  ) {
    const where = spec.repository ? ` in ${repository}` : ''
    this.description =
      access === 'write' || (spec.runId ?? thisRun) === thisRun
        ? spec.token && access === 'read' && spec.runId === undefined
          ? `workflow artifacts of run ${thisRun} and the earlier runs of its workflow`
          : `workflow artifacts of run ${thisRun}`
        : `workflow artifacts of run ${spec.runId}${where}`
  }

  /** Checks that the store can be used here; writing needs a workflow job. */
  static open(
    spec: OtherRun & { retentionDays?: number },
    access: 'read' | 'write',
    env: NodeJS.ProcessEnv = process.env
  ): ArtifactStore {
    const thisRun = /^\d+$/.test(env.GITHUB_RUN_ID ?? '') ? Number(env.GITHUB_RUN_ID) : undefined
    const inJob = Boolean(env.ACTIONS_RUNTIME_TOKEN && env.ACTIONS_RESULTS_URL && thisRun)
    if (access === 'write' && !inJob) {
      throw new StoreError(
        'store: artifact writes the artifacts of the current workflow run, and this is no ' +
          'workflow job (ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL or GITHUB_RUN_ID is not set): ' +
          'run it in a GitHub Actions step, or choose a directory store.'
      )
    }
    if (access === 'write' && (spec.runId !== undefined || spec.repository !== undefined)) {
      throw new StoreError(
        'store: artifact writes into the current run only: run-id and run-repository are for ' +
          'restore, verify, ls and prune. Leave them empty to take a snapshot.'
      )
    }
    if (access === 'read' && !inJob && spec.runId === undefined) {
      throw new StoreError(
        'store: artifact outside a workflow job needs run-id (and github-token) to know which ' +
          "run's artifacts to read."
      )
    }
    const repository = spec.repository ?? env.GITHUB_REPOSITORY ?? ''
    if (spec.runId === undefined && spec.repository && spec.repository !== env.GITHUB_REPOSITORY) {
      throw new StoreError(
        `run-repository ${spec.repository} is not this run's repository: give run-id too, the ` +
          'run there to read.'
      )
    }
    // a run id that is this run's, read from a job of this run, needs no token
    const otherRun = spec.runId !== undefined && (spec.runId !== thisRun || !inJob)
    if (otherRun && !spec.token) {
      throw new StoreError(
        `reading the artifacts of run ${spec.runId} needs github-token (a token with actions: ` +
          'read, e.g. ${{ github.token }}; the CLI also reads DOCKER_SNAPSHOT_GITHUB_TOKEN).'
      )
    }
    if ((otherRun || spec.token) && !/^[^/]+\/[^/]+$/.test(repository)) {
      throw new StoreError('store: artifact needs run-repository (owner/name) to read another run.')
    }
    return new ArtifactStore(spec, env, access, otherRun ? undefined : thisRun, repository)
  }

  private findBy(runId: number): FindBy {
    const [repositoryOwner, repositoryName] = this.repository.split('/') as [string, string]
    return { token: this.spec.token!, workflowRunId: runId, repositoryOwner, repositoryName }
  }

  /** The runs this store reads, in the order an id is looked for (newest first). */
  private runs(): Promise<Run[]> {
    this.scope ??= (async () => {
      const { runId, token } = this.spec
      if (runId !== undefined && runId !== this.thisRun)
        return [{ runId, findBy: this.findBy(runId) }]
      const own: Run = { runId: this.thisRun! }
      if (this.access === 'write' || !token || runId !== undefined) return [own]
      const apiUrl = this.env.GITHUB_API_URL || 'https://api.github.com'
      const ids = await workflowRuns({ apiUrl, repository: this.repository, token }, own.runId)
      return [
        own,
        ...ids.filter(id => id !== own.runId).map(id => ({ runId: id, findBy: this.findBy(id) }))
      ]
    })()
    return this.scope
  }

  private where(run: Run): string {
    return run.findBy
      ? `the artifacts of run ${run.runId} in ${this.repository}`
      : `this run's artifacts (run ${run.runId})`
  }

  private artifacts(run: Run): Promise<Artifact[]> {
    let listing = this.listings.get(run.runId)
    if (!listing) {
      listing = quietly(() =>
        this.client.listArtifacts({ latest: true, ...(run.findBy && { findBy: run.findBy }) })
      ).then(
        answer => answer.artifacts,
        (error: unknown) => {
          this.listings.delete(run.runId)
          throw failure(error, `listing ${this.where(run)}`)
        }
      )
      this.listings.set(run.runId, listing)
    }
    return listing
  }

  /** The run that holds snapshot `snapshotId` (the newest, if several do), with its manifest artifact. */
  private async locate(snapshotId: string): Promise<{ run: Run; artifact: Artifact } | undefined> {
    for (const run of await this.runs()) {
      const artifact = (await this.artifacts(run)).find(
        a => a.name === snapshotId + MANIFEST_SUFFIX
      )
      if (artifact) return { run, artifact }
    }
    return undefined
  }

  /** Downloads one artifact into a directory of its own; resolves with the file's path. */
  private async download(
    run: Run,
    artifact: Artifact,
    digest: string | undefined
  ): Promise<string> {
    const into = await transferDirectory(this.env)
    try {
      await quietly(() =>
        this.client.downloadArtifact(artifact.id, {
          path: into,
          ...(digest && { expectedHash: digest }),
          ...(run.findBy && { findBy: run.findBy })
        })
      )
    } catch (error) {
      await rm(into, { recursive: true, force: true })
      throw failure(error, `downloading artifact ${artifact.name} from ${this.where(run)}`)
    }
    return join(into, artifact.name)
  }

  private manifest(run: Run, artifact: Artifact): Promise<ArtifactManifest> {
    const key = `${run.runId}/${artifact.id}`
    let manifest = this.manifests.get(key)
    if (!manifest) {
      manifest = (async () => {
        const path = await this.download(run, artifact, artifact.digest)
        const what = `artifact ${artifact.name} of run ${run.runId}`
        const stream = artifact.digest
          ? await checkedStream(path, artifact.digest, what)
          : undefined
        const bytes = stream ? await collect(stream) : await readFile(path)
        await rm(join(path, '..'), { recursive: true, force: true })
        return parseArtifactManifest(
          bytes,
          `snapshot ${artifact.name.slice(0, -MANIFEST_SUFFIX.length)} in ${this.where(run)}`
        )
      })()
      manifest.catch(() => this.manifests.delete(key))
      this.manifests.set(key, manifest)
    }
    return manifest
  }

  private forget(runId: number): void {
    this.listings.delete(runId)
  }

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    const own: Run = { runId: this.thisRun! }
    if ((await this.artifacts(own)).some(a => a.name === snapshotId + MANIFEST_SUFFIX)) {
      throw new StoreError(
        `snapshot ${snapshotId} is already in this run's artifacts, and artifact names cannot ` +
          'be reused (nor replaced) within a run: choose another snapshot-id.'
      )
    }
    return new ArtifactWriter(this, snapshotId)
  }

  /** @internal The writer's access to the client and this run. */
  async upload(path: string, name: string): Promise<string> {
    const dir = join(path, '..')
    try {
      const uploaded = await quietly(() =>
        this.client.uploadArtifact(name, [path], dir, {
          skipArchive: true,
          ...(this.spec.retentionDays && { retentionDays: this.spec.retentionDays })
        })
      )
      return `sha256:${uploaded.digest ?? ''}`
    } catch (error) {
      throw failure(error, `uploading artifact ${name} to this run (${this.thisRun})`)
    } finally {
      this.forget(this.thisRun!)
    }
  }

  /** @internal Removes artifacts of this run (or `run`), those already gone included. */
  async remove(names: string[], run: Run = { runId: this.thisRun! }): Promise<number> {
    let removed = 0
    try {
      for (const name of names) {
        try {
          await quietly(() =>
            this.client.deleteArtifact(name, run.findBy && { findBy: run.findBy })
          )
          removed++
        } catch (error) {
          if (!isNotFound(error))
            throw failure(error, `deleting artifact ${name} from ${this.where(run)}`)
        }
      }
    } finally {
      this.forget(run.runId)
    }
    return removed
  }

  /** @internal */
  transferDirectory(): Promise<string> {
    return transferDirectory(this.env)
  }

  async discardStaged(snapshotId: string): Promise<number> {
    const own: Run = { runId: this.thisRun! }
    const names = (await this.artifacts(own)).map(a => a.name)
    if (names.includes(snapshotId + MANIFEST_SUFFIX)) return 0
    // another snapshot whose id starts with this one's and a '.' owns its own artifacts
    const others = names
      .filter(n => n.endsWith(MANIFEST_SUFFIX) && n.startsWith(`${snapshotId}.`))
      .map(n => n.slice(0, -MANIFEST_SUFFIX.length))
    const staged = names.filter(
      n => n.startsWith(`${snapshotId}.`) && !others.some(other => n.startsWith(`${other}.`))
    )
    return (await this.remove(staged)) > 0 ? 1 : 0
  }

  /** A run that died leaves artifacts without a manifest: they expire with their retention. */
  async discardAbandoned(): Promise<string[]> {
    return []
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const found = await this.locate(snapshotId)
    const missing = (why: string) => missingObject(this.description, snapshotId, name, why)
    if (!found) throw missing('there is no such snapshot')
    const manifest = await this.manifest(found.run, found.artifact)
    const object = findObject(manifest, this.description, snapshotId, name)
    const expected = artifactName(snapshotId, name)
    const artifact = (await this.artifacts(found.run)).find(a => a.name === expected)
    if (!artifact) {
      throw missing(
        `its artifact ${expected} is gone (deleted, or expired after its retention days)`
      )
    }
    const path = await this.download(found.run, artifact, object.digest)
    try {
      return await checkedStream(
        path,
        object.digest,
        `artifact ${expected} of run ${found.run.runId}`
      )
    } finally {
      await rm(join(path, '..'), { recursive: true, force: true })
    }
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    const found = await this.locate(snapshotId)
    if (!found) return false
    return (await this.manifest(found.run, found.artifact)).objects.some(o => o.name === name)
  }

  async list(): Promise<StoredSnapshot[]> {
    const seen = new Map<string, StoredSnapshot>()
    for (const run of await this.runs()) {
      for (const artifact of await this.artifacts(run)) {
        const snapshotId = artifact.name.slice(0, -MANIFEST_SUFFIX.length)
        if (!artifact.name.endsWith(MANIFEST_SUFFIX) || !isValidSnapshotId(snapshotId)) continue
        if (seen.has(snapshotId)) continue
        const modifiedAt = artifact.createdAt ?? new Date(0)
        try {
          const { objects } = await this.manifest(run, artifact)
          const bytes = objects.reduce((sum, o) => sum + o.size, 0)
          seen.set(snapshotId, {
            snapshotId,
            hasManifest: objects.some(o => o.name === MANIFEST_FILE),
            modifiedAt,
            bytes
          })
        } catch (error) {
          if (!(error instanceof StoreError)) throw error
          seen.set(snapshotId, { snapshotId, hasManifest: false, modifiedAt, bytes: artifact.size })
        }
      }
    }
    return [...seen.values()]
  }

  /** Artifacts have no holds: a prune in another job may delete what this one reads. */
  async hold(): Promise<SnapshotHold> {
    return { release: async () => {} }
  }

  async delete(snapshotId: string): Promise<DeleteOutcome> {
    const found = await this.locate(snapshotId)
    if (!found)
      throw new StoreError(`cannot delete snapshot ${snapshotId}: it is not in ${this.description}`)
    let objects: ArtifactObject[] = []
    try {
      objects = (await this.manifest(found.run, found.artifact)).objects
    } catch (error) {
      if (!(error instanceof StoreError)) throw error
    }
    // the manifest first: from then on the snapshot no longer exists
    await this.remove([found.artifact.name], found.run)
    await this.remove(
      objects.map(o => artifactName(snapshotId, o.name)),
      found.run
    )
    return 'deleted'
  }
}
