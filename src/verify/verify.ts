/**
 * Verify: proves a snapshot can be restored without touching anything that exists. Every archive
 * is read and checked, every image is found where the manifest says; optionally the snapshot is
 * restored under throwaway names (its bind mounts isolated from the host's live files), a drill
 * command runs in it, and the copy is removed again.
 */
import { randomBytes } from 'node:crypto'
import { inspectArchive } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { InvalidSettingsError, NotFoundError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { ImageRecord, Manifest } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { verifyImageArchive, verifyStoredDigest, verifyVolumeArchive } from '../restore/archives.js'
import { describeBindMount } from '../restore/bind-mounts.js'
import { buildCreateSpec } from '../restore/create-body.js'
import { createConflicts } from './create-check.js'
import { repositoryOf } from '../restore/images.js'
import { NameMap } from '../restore/names.js'
import { readManifest, resolveSnapshotId } from '../stores/catalog.js'
import { checkRegistryManifest, locateImage } from './registry-check.js'
import { restoreSnapshot } from '../restore/restore.js'
import type { RestoreReport } from '../restore/types.js'
import type { VerifyCheck, VerifyCheckKind, VerifyOptions, VerifyReport } from './types.js'

/** Throwaway copies are named `dsv-<random>-<name>`: easy to spot, never a user's name. */
export function throwawayPrefix(): string {
  return `dsv-${randomBytes(3).toString('hex')}-`
}

const DEFAULT_DRILL_TIMEOUT_MS = 5 * 60_000

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
    const { log, options } = this
    let snapshotId = options.snapshotId
    const manifest = await log.group('Verify: reading the manifest', () =>
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

    await log.group('Verify: container configurations', () => this.checkConfigs(manifest))
    await log.group('Verify: archives', () => this.checkArchives(manifest))
    await log.group('Verify: images', () => this.checkImages(manifest))
    if (options.restoreCheck || drill !== undefined) {
      await log.group('Verify: restoring a throwaway copy', () =>
        this.restoreDrill(manifest, report)
      )
    }
    return this.finish(report)
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

  /** Restores under throwaway names, runs the drill, and always removes the copy. */
  private async restoreDrill(manifest: Manifest, report: VerifyReport): Promise<void> {
    const { options } = this
    const prefix = throwawayPrefix()
    report.prefix = prefix
    const restored = await this.check<RestoreReport>(
      'restore',
      `restore of snapshot ${manifest.snapshotId} as ${prefix}*`,
      async () => {
        const value = await restoreSnapshot(
          this.engine,
          this.store,
          {
            snapshotId: manifest.snapshotId,
            onConflict: 'fail',
            prefix,
            start: true,
            waitTimeoutMs: options.waitTimeoutMs,
            ports: options.ports ?? 'none',
            bindMounts: 'isolate',
            registryAuth: options.registryAuth,
            env: options.env ?? {},
            signal: options.signal
          },
          this.log
        )
        const states = value.containers.map(c => `${c.target} ${c.state}`).join(', ')
        const binds = value.bindMounts.map(describeBindMount).join('; ')
        return {
          value,
          detail:
            `restored in ${value.durationMs} ms: ${states || 'no containers'}` +
            (binds ? `; bind mounts: ${binds}` : '')
        }
      }
    )
    if (restored === undefined) return
    try {
      const drill = options.drill
      if (drill === undefined) return
      const target = restored.containers.find(c => c.name === drill.container)!
      await this.check(
        'drill',
        `drill in ${target.target}: ${JSON.stringify(drill.command)}`,
        async () => {
          // A container that was not running in the snapshot is started for the drill.
          if (target.state === 'created') await this.engine.startContainer(target.id!)
          const result = await this.engine.exec(
            target.id!,
            drill.command,
            options.drillTimeoutMs ?? DEFAULT_DRILL_TIMEOUT_MS
          )
          report.drill = { container: drill.container, command: drill.command, ...result }
          if (result.exitCode !== 0) {
            throw new Error(
              result.exitCode === -1
                ? `did not finish within ${options.drillTimeoutMs ?? DEFAULT_DRILL_TIMEOUT_MS} ms`
                : `exited with code ${result.exitCode}: ${lastLines(result.output)}`
            )
          }
          return { value: undefined, detail: `exited 0: ${lastLines(result.output)}` }
        }
      )
    } finally {
      await this.check('cleanup', `removal of the ${prefix}* copy`, async () => {
        const left = await removeRestored(this.engine, restored)
        if (left.length > 0)
          throw new Error(`could not remove ${left.join('; ')}; remove them by hand`)
        return { value: undefined, detail: 'containers, volumes and networks removed' }
      })
    }
  }
}

function lastLines(output: string, lines = 5): string {
  const text = output.trim().split('\n').slice(-lines).join(' | ')
  return text === '' ? '(no output)' : text
}

/** Removes the containers, volumes and networks a restore created; returns what is left. */
export async function removeRestored(engine: Engine, report: RestoreReport): Promise<string[]> {
  const left: string[] = []
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn()
    } catch (error) {
      left.push(`${what} (${describeError(error)})`)
    }
  }
  for (const container of [...report.containers].reverse()) {
    if (container.action === 'skipped' || container.id === undefined) continue
    await attempt(`container ${container.target}`, () =>
      engine.removeContainer(container.id!, { force: true, volumes: true })
    )
  }
  for (const volume of report.volumes) {
    if (volume.action === 'skipped') continue
    await attempt(`volume ${volume.target}`, () => engine.removeVolume(volume.target))
  }
  for (const { volume } of report.bindMounts) {
    if (volume !== undefined) await attempt(`volume ${volume}`, () => engine.removeVolume(volume))
  }
  for (const network of report.networks) {
    if (network.action !== 'created') continue
    await attempt(`network ${network.target}`, () => engine.removeNetwork(network.target))
  }
  return left
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
