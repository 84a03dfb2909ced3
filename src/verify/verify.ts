/**
 * Verify: proves a snapshot can be restored without touching anything that exists. Every archive
 * is read and checked, every image is found where the manifest says; optionally the snapshot is
 * restored under throwaway names and a drill command runs in it (see throwaway.ts).
 */
import { inspectArchive } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { InvalidSettingsError, NotFoundError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { ImageRecord, Manifest } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { verifyImageArchive, verifyStoredDigest, verifyVolumeArchive } from '../restore/archives.js'
import { buildCreateSpec } from '../restore/create-body.js'
import { createConflicts } from './create-check.js'
import { repositoryOf } from '../restore/images.js'
import { NameMap } from '../restore/names.js'
import { readManifest, resolveSnapshotId } from '../stores/catalog.js'
import { checkRegistryManifest, locateImage } from './registry-check.js'
import { restoreThrowaway } from './throwaway.js'
import type { VerifyCheck, VerifyCheckKind, VerifyOptions, VerifyReport } from './types.js'

class VerifyRun {
  private readonly started = Date.now()
  private readonly checks: VerifyCheck[] = []

  constructor(
    private readonly engine: Engine,
    private readonly store: SnapshotStore,
    private readonly options: VerifyOptions,
    private readonly log: Logger
  ) {}

  async run(): Promise<VerifyReport> {
    const { options } = this
    let snapshotId = options.snapshotId
    const manifest = await this.phase('reading the manifest', () =>
      this.check('manifest', `manifest of snapshot ${snapshotId}`, async () => {
        snapshotId = await resolveSnapshotId(this.store, options.snapshotId)
        const read = await readManifest(this.store, snapshotId)
        return {
          value: read,
          detail: `schema, checksum and references valid; ${read.containers.length} containers, ${read.volumes.length} volumes, ${read.images.length} images`
        }
      })
    )
    const report: VerifyReport = { snapshotId, ok: false, checks: this.checks, durationMs: 0 }
    if (manifest === undefined) return this.finish(report)

    const drill = options.drill
    if (drill !== undefined && !manifest.containers.some(c => c.name === drill.container)) {
      throw new InvalidSettingsError(
        `Invalid drill container '${drill.container}'. Expected a container of snapshot ` +
          `${snapshotId}: ${manifest.containers.map(c => c.name).join(', ') || '(none)'}.`
      )
    }

    await this.phase('container configurations', () => this.checkConfigs(manifest))
    await this.phase('archives', () => this.checkArchives(manifest))
    await this.phase('images', () => this.checkImages(manifest))
    if (options.restoreCheck || drill !== undefined) {
      await this.phase('restoring a throwaway copy', () =>
        restoreThrowaway(this.engine, this.store, options, this.log, manifest, report, (...a) =>
          this.check(...a)
        )
      )
    }
    return this.finish(report)
  }

  /** One phase, in its own log group; an interrupt stops the run before the next one. */
  private phase<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.options.signal?.throwIfAborted()
    return this.log.group(`Verify: ${title}`, fn)
  }

  private finish(report: VerifyReport): VerifyReport {
    report.ok = this.checks.length > 0 && this.checks.every(c => c.ok)
    report.durationMs = Date.now() - this.started
    const failed = this.checks.filter(c => !c.ok)
    if (failed.length === 0)
      this.log.info(`snapshot ${report.snapshotId}: all ${this.checks.length} checks passed`)
    else {
      this.log.warn(
        `snapshot ${report.snapshotId}: ${failed.length} of ${this.checks.length} checks failed: ` +
          failed.map(c => `${c.subject}: ${c.detail}`).join('; ')
      )
    }
    return report
  }

  /** Runs one check; records it; its value, or undefined when it failed. */
  private async check<T>(
    kind: VerifyCheckKind,
    subject: string,
    fn: () => Promise<{ value: T; detail: string }>
  ): Promise<T | undefined> {
    const started = Date.now()
    try {
      const { value, detail } = await fn()
      this.checks.push({ kind, subject, ok: true, detail, durationMs: Date.now() - started })
      this.log.info(`ok: ${subject}: ${detail}`)
      return value
    } catch (error) {
      if (error instanceof InvalidSettingsError) throw error
      // An interrupt says nothing about the snapshot: the run stops, it does not report.
      if (this.options.signal?.aborted) throw error
      // A snapshot that is not there is not an untrusted one: the run fails, it does not report.
      if (kind === 'manifest' && error instanceof NotFoundError) throw error
      const detail = describeError(error)
      this.checks.push({ kind, subject, ok: false, detail, durationMs: Date.now() - started })
      this.log.warn(`failed: ${subject}: ${detail}`)
      return undefined
    }
  }

  /** Every recorded container, as restore would create it, is one the engine accepts. */
  private async checkConfigs(manifest: Manifest): Promise<void> {
    const names = new NameMap(manifest, '')
    const containers = new Map(manifest.containers.map(c => [c.name, c]))
    for (const container of manifest.containers) {
      await this.check('config', `configuration of container ${container.name}`, async () => {
        const { spec } = buildCreateSpec(container, container.name, {
          names,
          image: container.sourceImage,
          ports: 'keep',
          env: container.create.Env,
          containers
        })
        const conflicts = createConflicts(spec)
        if (conflicts.length > 0) {
          throw new Error(
            `cannot be created again: ${conflicts.join('; ')}; a restore would fail here`
          )
        }
        return { value: undefined, detail: 'creatable: no option the engine refuses' }
      })
    }
  }

  private async checkArchives(manifest: Manifest): Promise<void> {
    const id = manifest.snapshotId
    for (const volume of manifest.volumes) {
      await this.check('archive', `volume ${volume.name} (${volume.archive.object})`, async () => {
        const inspection = await verifyVolumeArchive(this.store, id, volume)
        return {
          value: undefined,
          detail: `sha256 and size match; ${inspection.entries} entries, all safe to unpack`
        }
      })
    }
    for (const container of manifest.containers) {
      for (const mount of container.mounts) {
        const archive = mount.archive
        if (archive === undefined) continue
        await this.check(
          'archive',
          `bind mount ${mount.source} of ${container.name} (${archive.object})`,
          async () => {
            if (archive.compression === 'none') {
              await verifyStoredDigest(this.store, id, archive, `bind mount ${mount.source}`)
              return { value: undefined, detail: 'sha256 and size match' }
            }
            const inspection = await inspectArchive(await this.store.get(id, archive.object), {
              ...archive,
              compression: archive.compression
            })
            return {
              value: undefined,
              detail: `sha256 and size match; ${inspection.entries} entries, all safe to unpack`
            }
          }
        )
      }
    }
  }

  private async checkImages(manifest: Manifest): Promise<void> {
    for (const image of manifest.images) {
      await this.check('image', `image ${image.reference} (${image.key})`, () =>
        this.checkImage(manifest.snapshotId, image)
      )
    }
  }

  private async checkImage(
    snapshotId: string,
    image: ImageRecord
  ): Promise<{ value: undefined; detail: string }> {
    switch (image.location) {
      case 'store': {
        const archive = image.archive!
        await verifyImageArchive(this.store, snapshotId, { ...image, archive })
        return {
          value: undefined,
          detail: `${archive.object}: sha256 and size match; holds image ${image.id}`
        }
      }
      case 'local': {
        if (await this.engine.findImage(image.id)) {
          return { value: undefined, detail: `present on the engine as ${image.id}` }
        }
        throw new Error(`not on this engine (${image.id}); a restore here would fail`)
      }
      case 'registry': {
        const digest = image.digest!
        const presence = await checkRegistryManifest(
          locateImage(image.reference),
          digest,
          this.options.registryAuth
        )
        if (presence.found === true) return { value: undefined, detail: presence.detail }
        if (presence.found === false) throw new Error(presence.detail)
        // A registry that cannot be asked directly: pulling by digest proves it just as well.
        const pinned = `${repositoryOf(image.reference)}@${digest}`
        await this.engine.pullImage(pinned, this.options.registryAuth)
        return { value: undefined, detail: `pulled ${pinned}` }
      }
    }
  }
}

/**
 * Verifies a snapshot: the manifest, every archive, every image, and with `restoreCheck` or a
 * `drill` a throwaway restore. Failed checks are in the report (`ok` false), not thrown; only
 * settings that cannot work throw.
 */
export function verifySnapshot(
  engine: Engine,
  store: SnapshotStore,
  options: VerifyOptions,
  log: Logger
): Promise<VerifyReport> {
  return new VerifyRun(engine, store, options, log).run()
}
