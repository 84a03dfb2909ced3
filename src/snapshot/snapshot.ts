/** Taking a snapshot. Over 300 lines: SnapshotRun's phases share its holds and quiescer. */
import { chooseCopyMethod } from '../docker/helper-image.js'
import type { VolumeCopyMethod } from '../docker/helper-image.js'
import { codecDescription } from './volume-copy.js'
import { Readable } from 'node:stream'
import { resolveCompression } from '../archive/index.js'
import type { Codec } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { checkRegistryReachable } from '../docker/registry.js'
import type { ContainerDetails, VolumeDetails } from '../docker/types.js'
import { InvalidSettingsError, SnapshotError, StoreError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { ContainerRecord, Manifest, VolumeRecord } from '../manifest/manifest.js'
import { MANIFEST_FILE, MANIFEST_VERSION } from '../manifest/manifest.js'
import { serializeManifest } from '../manifest/schema.js'
import type { SnapshotStore, SnapshotWriter } from '../stores/store.js'
import {
  type CapturedContainer,
  captureNetwork,
  consistencyFor,
  containerName,
  recordsInOrder
} from './capture.js'
import {
  type CopyContext,
  type VolumeResult,
  copyBindMounts,
  copyVolumes,
  secondsSince
} from './copies.js'
import { secretEnvReport } from './secret-env.js'
import { hasHook, runHook } from './hooks.js'
import { HOLD_WAIT_MS, Holds, holdName } from './holds.js'
import { type PendingImage, SnapshotImages, imageKeyFor } from './images.js'
import type { QuiesceAction } from './quiesce.js'
import type { SnapshotOptions, SnapshotReport } from './types.js'
import { Quiescer } from './quiesce.js'
import { findTargets, usersOf } from './targets.js'

export type { SnapshotChoices, SnapshotOptions, SnapshotReport, VolumeResult } from './types.js'

/** The abort of `signal` itself, or a call or copy it cut short: not a failure of its own. */
function isInterrupt(error: unknown, signal: AbortSignal | undefined): boolean {
  if (!signal?.aborted) return false
  for (let at = error; at !== undefined; at = at instanceof Error ? at.cause : undefined) {
    if (at === signal.reason) return true
  }
  return false
}

class SnapshotRun {
  private readonly started = Date.now()
  private readonly holds: Holds
  private readonly quiescer: Quiescer
  private readonly images: SnapshotImages
  private codec!: Codec
  private readonly volumeCopy: { method: VolumeCopyMethod } = {
    method: { method: 'archive', reason: 'no volumes' }
  }
  private readonly volumeResults: VolumeResult[] = []
  private quiescedSeconds = 0
  /** Containers whose pre-exec step was reached: each is owed its post-exec hook. */
  private readonly hooked: ContainerDetails[] = []

  constructor(
    private readonly engine: Engine,
    private readonly store: SnapshotStore,
    /** Where the snapshot's objects go until it is whole. */
    private readonly writer: SnapshotWriter,
    private readonly options: SnapshotOptions,
    private readonly log: Logger
  ) {
    this.holds = new Holds(engine, log, {
      snapshotId: options.snapshotId,
      hookTimeoutMs: options.hookTimeoutMs,
      waitMs: options.holdWaitMs ?? HOLD_WAIT_MS,
      signal: options.signal
    })
    this.images = new SnapshotImages(engine, options, log)
    this.quiescer = new Quiescer(engine, log, options.onQuiesce, action =>
      this.holds.mark(action.id, action.action)
    )
  }

  /** What the engine and the store are told to copy, once the codec is chosen. */
  private get copying(): CopyContext {
    const { engine, writer, codec, log, options } = this
    const { onTransfer, signal } = options
    return { engine, writer, codec, log, onTransfer, signal, volumeCopy: this.volumeCopy }
  }

  async run(): Promise<SnapshotReport> {
    try {
      return await this.capture()
    } finally {
      await this.images.removeMade()
    }
  }

  private async capture(): Promise<SnapshotReport> {
    const { options, log } = this
    const engineInfo = await this.engine.info()
    this.codec = await resolveCompression(options.compression, options.compressionLevel)
    if (options.registry) await checkRegistryReachable(options.registry.address)

    const targets = await findTargets(this.engine, log, options)
    // Chosen (and its image built) before anything is paused.
    if (targets.volumes.length > 0) {
      this.volumeCopy.method = await chooseCopyMethod(
        this.engine,
        options.copyMethod ?? 'auto',
        log
      )
    }

    let inOrder: CapturedContainer[] = []
    let pending = new Map<string, PendingImage>()
    let volumes: VolumeRecord[] = []
    let failure: { error: unknown } | undefined
    try {
      if (targets.containers.length > 0) {
        await log.group('Holding containers', () =>
          this.holds.acquire(
            targets.containers.map(details => ({ id: details.Id, name: containerName(details) }))
          )
        )
      }
      // Read again now that no other run can pause or stop them: this is the state to record.
      const held = await Promise.all(
        targets.containers.map(details => this.engine.inspectContainer(details.Id))
      )
      inOrder = recordsInOrder(held, options.consistency, log, options.keepSecretEnv)
      await log.group('Running pre-exec hooks', async () => {
        for (const { details } of inOrder) {
          // Marked before it runs: a killed run's post-exec hook is owed from here on.
          if (hasHook(details, 'post')) await this.holds.mark(details.Id, 'pre-exec')
          this.hooked.push(details)
          await runHook(this.engine, details, 'pre', options.hookTimeoutMs, log)
        }
      })
      ;({ pending, volumes } = await this.captureQuiesced(inOrder, targets.volumes))
    } catch (error) {
      failure = { error }
    }
    await this.release(failure)

    options.signal?.throwIfAborted()
    const images = await log.group('Storing images', () =>
      this.images.publish([...pending.values()], this.writer, this.codec)
    )
    // The last moment an interrupt stops the run: from here on, the snapshot is written whole.
    options.signal?.throwIfAborted()
    const containers: ContainerRecord[] = inOrder.map(({ details, record }) => ({
      ...record,
      image: imageKeyFor(details, pending)
    }))
    const networks = await Promise.all(
      targets.networks.map(async name => {
        const details = await this.engine.findNetwork(name)
        if (!details) throw new SnapshotError(`network ${name} disappeared during the snapshot`)
        return captureNetwork(details)
      })
    )

    const manifest: Omit<Manifest, 'checksum'> = {
      schemaVersion: MANIFEST_VERSION,
      snapshotId: options.snapshotId,
      createdAt: new Date(this.started).toISOString(),
      completedAt: new Date().toISOString(),
      tool: { name: 'docker-snapshot', version: options.toolVersion },
      engine: engineInfo,
      selection: options.selection,
      consistency: options.consistency,
      containers,
      images,
      volumes,
      ...(targets.excludedVolumes.length > 0 && {
        excludedVolumes: targets.excludedVolumes.map(volume => ({
          name: volume.Name,
          driver: volume.Driver,
          driverOptions: volume.Options ?? {},
          labels: volume.Labels ?? {},
          usedBy: usersOf(volume.Name, targets.containers)
        }))
      }),
      networks
    }
    const text = serializeManifest(manifest)
    await this.writer.put(MANIFEST_FILE, bufferStream(text))
    const written = JSON.parse(text) as Manifest
    return {
      manifest: written,
      secretEnv: secretEnvReport(written, options.keepSecretEnv ?? false),
      manifestLocation: `${this.store.description}: ${options.snapshotId}/${MANIFEST_FILE}`,
      codec: codecDescription(this.codec, this.volumeCopy.method),
      seconds: secondsSince(this.started),
      quiescedSeconds: this.quiescedSeconds,
      volumes: this.volumeResults,
      images: images.map(i => ({ key: i.key, reference: i.reference, location: i.location }))
    }
  }

  /**
   * Brings every container back, runs the post-exec hook each is owed, and releases the holds;
   * every step is tried whatever failed before. Throws what matters most: a container that could
   * not be brought back, then an interrupt, then the run's own failure, then a post-exec hook's.
   */
  private async release(failure: { error: unknown } | undefined): Promise<void> {
    const { log } = this
    const { signal } = this.options
    const notBack = new Set<string>()
    let resumeError: unknown
    let hookError: unknown
    try {
      await this.bringBack(notBack)
    } catch (error) {
      resumeError = error
    }
    try {
      if (this.hooked.length > 0) {
        await log.group('Running post-exec hooks', async () => {
          for (const details of this.hooked) {
            const { Id } = details
            if (notBack.has(Id) || !hasHook(details, 'post')) continue
            try {
              await runHook(
                this.engine,
                await this.engine.inspectContainer(Id),
                'post',
                this.options.hookTimeoutMs,
                log
              )
            } catch (error) {
              hookError ??= error
            }
            // Only matters if the hold outlives this run, which the next lines try to prevent.
            await this.holds.mark(Id, 'post-exec').catch((error: unknown) => {
              log.debug(`could not mark the hold of ${Id}: ${describeError(error)}`)
            })
          }
        })
      }
    } catch (error) {
      hookError ??= error
    }
    // An interrupt surfaces as whatever call it cut short: name the interrupt instead.
    const interrupt: unknown = signal?.aborted ? signal.reason : undefined
    const errors = [resumeError, interrupt, failure?.error, hookError].filter(e => e !== undefined)
    for (const held of this.holds.containers) {
      // A container not brought back keeps its hold: the next run tries again.
      if (notBack.has(held)) continue
      try {
        await this.holds.release(held)
      } catch (error) {
        log.warn(
          `could not remove the hold ${holdName(held)}: ${describeError(error)}; the next ` +
            'docker-snapshot command on this host removes it'
        )
      }
    }
    if (errors.length === 0) return
    for (const error of errors.slice(1)) {
      if (!isInterrupt(error, signal)) log.warn(describeError(error))
    }
    throw errors[0]
  }

  /** Pause or stop, then commit and copy volumes: the window in which containers wait. */
  private async captureQuiesced(inOrder: CapturedContainer[], volumeTargets: VolumeDetails[]) {
    const { log } = this
    // Dependents first, so nothing runs against a stopped dependency.
    const actions: QuiesceAction[] = [...inOrder]
      .reverse()
      .filter(({ details }) => details.State.Running && !details.State.Paused)
      .flatMap(({ details }) => {
        const mode = consistencyFor(details.Config.Labels ?? {}, this.options.consistency)
        return mode === 'none'
          ? []
          : [{ id: details.Id, name: containerName(details), action: mode }]
      })
    this.options.signal?.throwIfAborted()
    const quiesceStart = Date.now()
    await log.group('Quiescing containers', () => this.quiescer.quiesce(actions))
    try {
      const pending = await log.group('Committing containers', () =>
        this.images.commitAll(inOrder.map(t => t.details))
      )
      const volumes = await log.group('Copying volumes', () =>
        copyVolumes(
          this.copying,
          inOrder.map(t => t.details),
          volumeTargets,
          this.volumeResults
        )
      )
      if (this.options.captureBindMounts) {
        await log.group('Copying bind mounts', () => copyBindMounts(this.copying, inOrder))
      }
      return { pending, volumes }
    } finally {
      this.quiescedSeconds = actions.length > 0 ? secondsSince(quiesceStart) : 0
    }
  }

  private async bringBack(notBack: Set<string>) {
    if (this.quiescer.actions.length === 0) return
    await this.log.group('Resuming containers', () => this.quiescer.resume(notBack))
  }
}

function bufferStream(text: string) {
  return Readable.from([Buffer.from(text)])
}

/**
 * Takes a snapshot. It is written aside and appears under its id only once whole. On any failure
 * every container we paused or stopped is brought back, what this run wrote is removed, and the
 * error says what failed; a snapshot that was there before is never touched, unless replaced
 * (`replaceExisting`) by one that is whole.
 */
export async function takeSnapshot(
  engine: Engine,
  store: SnapshotStore,
  options: SnapshotOptions,
  log: Logger
): Promise<SnapshotReport> {
  const { snapshotId } = options
  if (!options.replaceExisting && (await store.list()).some(s => s.snapshotId === snapshotId)) {
    throw new InvalidSettingsError(
      `Snapshot id '${snapshotId}' is taken in ${store.description}: nothing was touched. Choose ` +
        'another snapshot id, or replace that snapshot with replace-snapshot: true ' +
        '(--replace-snapshot); it is removed only once the new one is whole.'
    )
  }
  const writer = await store.begin(snapshotId)
  try {
    const report = await new SnapshotRun(engine, store, writer, options, log).run()
    await writer.publish({ replace: options.replaceExisting })
    return report
  } catch (error) {
    try {
      await writer.discard()
    } catch (cleanup) {
      log.warn(`could not remove the unfinished snapshot ${snapshotId}: ${describeError(cleanup)}`)
    }
    if (error instanceof StoreError || error instanceof SnapshotError) throw error
    throw new SnapshotError(`snapshot ${snapshotId} failed: ${describeError(error)}`, {
      cause: error
    })
  }
}
