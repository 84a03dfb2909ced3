import { Readable } from 'node:stream'
import { packArchive, resolveCompression } from '../archive/index.js'
import type { Codec, CompressorChoice } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import type { RegistryTarget } from '../docker/registry.js'
import { ARCHIVE_API_LOSSES, chooseCopyMethod } from '../docker/helper-image.js'
import type { CopyMethod, CopyMethodChoice, VolumeCopyMethod } from '../docker/helper-image.js'
import { checkRegistryReachable, imageTag } from '../docker/registry.js'
import type { ContainerDetails, VolumeDetails } from '../docker/types.js'
import { InvalidSettingsError, SnapshotError, StoreError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type {
  ArchiveRecord,
  Consistency,
  ContainerRecord,
  ImageRecord,
  Manifest,
  VolumeRecord
} from '../manifest/manifest.js'
import { MANIFEST_FILE, MANIFEST_VERSION } from '../manifest/manifest.js'
import { serializeManifest } from '../manifest/schema.js'
import type { SnapshotStore, SnapshotWriter } from '../stores/store.js'
import type { TransferListener } from '../shared/transfer.js'
import { formatBytes, plural } from '../shared/format.js'
import {
  LABEL,
  captureContainer,
  captureNetwork,
  consistencyFor,
  containerName
} from './capture.js'
import { dependencyOrder } from '../shared/dependency-order.js'
import { hasHook, runHook } from './hooks.js'
import { HOLD_WAIT_MS, Holds, holdName } from './holds.js'
import type { QuiesceAction } from './quiesce.js'
import { Quiescer } from './quiesce.js'
import type { Selection } from './targets.js'
import { resolveTargets } from './targets.js'
import { codecDescription, copyVolume } from './volume-copy.js'

export interface SnapshotOptions {
  snapshotId: string
  selection: Selection
  /** Volumes to take besides those the containers mount. */
  volumes: string[]
  excludeVolumes: string[]
  consistency: Consistency
  /** Commit each container's filesystem (a container's `docker-snapshot.commit` label overrides). */
  commit: boolean
  /** Leave the images this run commits or tags on the engine (else removed once stored). */
  keepImages?: boolean
  /** Capture the contents of bind mounts too (they are always recorded). */
  captureBindMounts: boolean
  /** Where images go; without one they are saved into the store. */
  registry?: RegistryTarget
  compression: CompressorChoice
  compressionLevel?: number
  /** How volumes are copied (default `auto`: a helper container when the engine is local). */
  copyMethod?: CopyMethodChoice
  hookTimeoutMs: number
  /** Replace a snapshot of the same id once this one is whole; without it such an id is refused. */
  replaceExisting: boolean
  toolVersion: string
  /** Told, before each pause or stop and after each resume, what would need undoing. */
  onQuiesce?: (actions: QuiesceAction[]) => void
  onTransfer?: TransferListener
  /** Stops the run at the next safe point (containers are brought back first). */
  signal?: AbortSignal
  /** How long to wait for another run to release a container (default five minutes). */
  holdWaitMs?: number
}

export interface VolumeResult {
  name: string
  tarBytes: number
  storedBytes: number
  seconds: number
  /** How it was copied: a helper container next to the data, or the engine's archive API. */
  method: CopyMethod
  /** What that copy did not keep (the archive API loses xattrs, ACLs and sparseness). */
  notKept: string[]
}

export interface SnapshotReport {
  manifest: Manifest
  /** Where the manifest is, as the store describes it. */
  manifestLocation: string
  codec: string
  seconds: number
  /** How long containers were paused or stopped. */
  quiescedSeconds: number
  volumes: VolumeResult[]
  images: { key: string; reference: string; location: ImageRecord['location'] }[]
}

const COMMIT_REPOSITORY = 'docker-snapshot/commits'

function seconds(since: number): number {
  return (Date.now() - since) / 1000
}

function archiveRecord(object: string, packed: Awaited<ReturnType<typeof packArchive>>) {
  const record: ArchiveRecord = {
    object,
    compression: packed.compression,
    sha256: packed.sha256,
    storedBytes: packed.storedBytes,
    tarBytes: packed.tarBytes
  }
  return record
}

/** A committed (or source) image, before it is published to a registry or the store. */
interface PendingImage {
  record: Omit<ImageRecord, 'location' | 'reference'>
  /** `repo:tag` (or an id for an untagged source image) that names it on the engine. */
  localReference: string
  repo: string
  tag: string
}

type Target = { details: ContainerDetails; record: Omit<ContainerRecord, 'image'> }

/** An interrupt (the CLI's InterruptedError), or a copy it aborted: not a failure. */
function isInterrupt(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  return error.name === 'InterruptedError' || isInterrupt(error.cause)
}

class SnapshotRun {
  private readonly started = Date.now()
  private readonly holds: Holds
  private readonly quiescer: Quiescer
  private codec!: Codec
  private copyMethod: VolumeCopyMethod | undefined
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
    this.quiescer = new Quiescer(engine, log, options.onQuiesce, action =>
      this.holds.mark(action.id, action.action)
    )
  }

  /** Local image references this run made (commits, tags for a push), to remove at the end. */
  private readonly madeImages: string[] = []

  async run(): Promise<SnapshotReport> {
    try {
      return await this.capture()
    } finally {
      await this.removeMadeImages()
    }
  }

  private async capture(): Promise<SnapshotReport> {
    const { options, log } = this
    const engineInfo = await this.engine.info()
    this.codec = await resolveCompression(options.compression, options.compressionLevel)
    if (options.registry) await checkRegistryReachable(options.registry.address)

    const targets = await log.group('Finding what to snapshot', async () => {
      const found = await resolveTargets(
        this.engine,
        options.selection,
        options.volumes,
        options.excludeVolumes
      )
      log.info(
        `containers: ${found.containers.map(containerName).join(', ') || 'none'}; ` +
          `volumes: ${found.volumes.map(v => v.Name).join(', ') || 'none'}; ` +
          `networks: ${found.networks.join(', ') || 'none'}`
      )
      for (const volume of found.excludedVolumes) {
        log.info(
          `volume ${volume.Name} is excluded: its contents are not taken; a restore gives ` +
            `${usersOf(volume.Name, found.containers).join(', ')} a new empty volume ${volume.Name}`
        )
      }
      return found
    })

    await this.warnAboutOtherWriters(targets.containers, targets.volumes)
    // Chosen (and its image built) before anything is paused.
    if (targets.volumes.length > 0) {
      this.copyMethod = await chooseCopyMethod(this.engine, options.copyMethod ?? 'auto', log)
    }

    let inOrder: Target[] = []
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
      inOrder = this.recordsInOrder(held)
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
      this.publishImages([...pending.values()])
    )
    const containers: ContainerRecord[] = inOrder.map(({ details, record }) => ({
      ...record,
      image: this.imageKeyFor(details, pending)
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
    return {
      manifest: JSON.parse(text) as Manifest,
      manifestLocation: `${this.store.description}: ${options.snapshotId}/${MANIFEST_FILE}`,
      codec: codecDescription(this.codec, this.copyMethod),
      seconds: seconds(this.started),
      quiescedSeconds: this.quiescedSeconds,
      volumes: this.volumeResults,
      images: images.map(i => ({ key: i.key, reference: i.reference, location: i.location }))
    }
  }

  /** The containers' records, dependencies first. */
  private recordsInOrder(containers: ContainerDetails[]): Target[] {
    const byId = new Map<string, string>()
    for (const details of containers) {
      byId.set(details.Id, containerName(details))
      byId.set(details.Id.slice(0, 12), containerName(details))
    }
    const records = containers.map(details => {
      let consistency = consistencyFor(details.Config.Labels ?? {}, this.options.consistency)
      if (details.State.Paused && consistency !== 'none') {
        // Not paused by us, nor by another run (we hold it): we cannot say when it resumes.
        this.log.warn(
          `${containerName(details)} was already paused by someone else: it is left as it is, ` +
            `and recorded with consistency none, since this run did not ${consistency} it`
        )
        consistency = 'none'
      }
      return { details, record: captureContainer(details, consistency, byId) }
    })
    const order = dependencyOrder(
      records.map(r => r.record),
      cycle =>
        new InvalidSettingsError(
          `containers depend on each other in a cycle (${cycle}): nothing was paused. Break ` +
            'the cycle (links, network_mode container:, docker-snapshot.depends-on labels).'
        )
    )
    return order.map(name => records.find(r => r.record.name === name)!)
  }

  /** Warns about running containers outside the selection that may write a volume being copied. */
  private async warnAboutOtherWriters(selected: ContainerDetails[], volumes: VolumeDetails[]) {
    const ids = new Set(selected.map(details => details.Id))
    for (const volume of volumes) {
      const users = await this.engine.listContainers({
        volume: [volume.Name],
        status: ['running']
      })
      const writers = users
        .filter(user => !ids.has(user.Id))
        .filter(user => user.Mounts.some(mount => mount.Name === volume.Name && mount.RW))
        .map(user => (user.Names[0] ?? user.Id).replace(/^\//, ''))
      if (writers.length === 0) continue
      this.log.warn(
        `volume ${volume.Name} is mounted read-write by ${writers.join(', ')}, running and not ` +
          'part of this snapshot: what it writes during the copy may leave the archive torn. ' +
          'Add it to the selection, or stop it first.'
      )
    }
  }

  /**
   * Brings every container back, runs the post-exec hook each is owed, and releases the holds;
   * every step is tried whatever failed before. Throws what matters most: a container that could
   * not be brought back, then an interrupt, then the run's own failure, then a post-exec hook's.
   */
  private async release(failure: { error: unknown } | undefined): Promise<void> {
    const { log } = this
    const notBack = new Set<string>()
    let resumeError: unknown
    let hookError: unknown
    let interrupt: unknown
    try {
      await this.bringBack(notBack)
    } catch (error) {
      if (isInterrupt(error)) interrupt = error
      else resumeError = error
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
      if (isInterrupt(error)) interrupt ??= error
      else hookError ??= error
    }
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
      if (!isInterrupt(error)) log.warn(describeError(error))
    }
    throw errors[0]
  }

  /** Pause or stop, then commit and copy volumes: the window in which containers wait. */
  private async captureQuiesced(inOrder: Target[], volumeTargets: VolumeDetails[]) {
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
      const pending = await log.group('Committing containers', () => this.commitAll(inOrder))
      const volumes = await log.group('Copying volumes', () =>
        this.copyVolumes(inOrder, volumeTargets)
      )
      if (this.options.captureBindMounts) {
        await log.group('Copying bind mounts', () => this.copyBindMounts(inOrder))
      }
      return { pending, volumes }
    } finally {
      this.quiescedSeconds = actions.length > 0 ? seconds(quiesceStart) : 0
    }
  }

  private async bringBack(notBack: Set<string>) {
    if (this.quiescer.actions.length === 0) return
    await this.log.group('Resuming containers', () => this.quiescer.resume(notBack))
  }

  private wantsCommit(details: ContainerDetails): boolean {
    const label = details.Config.Labels?.[LABEL.commit]
    if (label === 'true') return true
    if (label === 'false') return false
    return this.options.commit
  }

  private imageRepository(): string {
    const registry = this.options.registry
    return registry ? `${registry.address}/${registry.repository}` : COMMIT_REPOSITORY
  }

  private async commitAll(inOrder: { details: ContainerDetails }[]) {
    const pending = new Map<string, PendingImage>()
    for (const { details } of inOrder) {
      const name = containerName(details)
      if (this.wantsCommit(details)) {
        const repo = this.imageRepository()
        const tag = imageTag(this.options.snapshotId, name)
        const started = Date.now()
        const id = await this.engine.commitContainer(details.Id, {
          repo,
          tag,
          pause: false,
          comment: `docker-snapshot ${this.options.snapshotId} of ${name}`
        })
        this.madeImages.push(`${repo}:${tag}`)
        this.log.info(`committed ${name} as ${repo}:${tag} in ${seconds(started).toFixed(1)} s`)
        pending.set(`commit:${name}`, {
          record: { key: `commit:${name}`, role: 'commit', container: name, id },
          localReference: `${repo}:${tag}`,
          repo,
          tag
        })
      } else {
        const key = `source:${details.Image}`
        if (pending.has(key)) continue
        pending.set(key, {
          record: { key, role: 'source', id: details.Image },
          localReference: details.Config.Image,
          repo: this.imageRepository(),
          tag: imageTag(
            this.options.snapshotId,
            'image',
            details.Image.replace('sha256:', '').slice(0, 12)
          )
        })
      }
    }
    return pending
  }

  private imageKeyFor(details: ContainerDetails, pending: Map<string, PendingImage>): string {
    const commitKey = `commit:${containerName(details)}`
    return pending.has(commitKey) ? commitKey : `source:${details.Image}`
  }

  private async copyVolumes(
    inOrder: { details: ContainerDetails }[],
    volumeTargets: VolumeDetails[]
  ): Promise<VolumeRecord[]> {
    const usedBy = new Map<string, string[]>()
    for (const { details } of inOrder) {
      for (const mount of details.Mounts ?? []) {
        if (mount.Name)
          usedBy.set(mount.Name, [...(usedBy.get(mount.Name) ?? []), containerName(details)])
      }
    }
    const records: VolumeRecord[] = []
    for (const volume of volumeTargets) {
      const object = `volumes/${volume.Name}.tar.${this.codec.algorithm === 'zstd' ? 'zst' : 'gz'}`
      const started = Date.now()
      this.options.signal?.throwIfAborted()
      const { packed, method } = await copyVolume(
        this.engine,
        this.copyMethod ?? { method: 'archive', reason: 'no choice made' },
        volume.Name,
        this.codec,
        { writer: this.writer, object },
        {
          log: this.log,
          signal: this.options.signal,
          onProgress: bytes =>
            this.options.onTransfer?.({ kind: 'volume', name: volume.Name, bytes, done: false })
        }
      )
      this.copyMethod = method
      this.options.onTransfer?.({
        kind: 'volume',
        name: volume.Name,
        bytes: packed.tarBytes,
        done: true
      })
      if (!packed.root) {
        throw new SnapshotError(`the engine's archive of volume ${volume.Name} has no root entry`)
      }
      const took = seconds(started)
      this.volumeResults.push({
        name: volume.Name,
        tarBytes: packed.tarBytes,
        storedBytes: packed.storedBytes,
        seconds: took,
        method: method.method,
        notKept: method.method === 'archive' ? ARCHIVE_API_LOSSES : []
      })
      this.log.info(
        `${volume.Name}: ${formatBytes(packed.tarBytes)} -> ${formatBytes(packed.storedBytes)} ` +
          `in ${took.toFixed(1)} s (${formatBytes(packed.tarBytes / Math.max(took, 0.001))}/s) ` +
          `by ${method.method === 'helper' ? 'a helper container' : "the engine's archive API"}`
      )
      records.push({
        name: volume.Name,
        driver: volume.Driver,
        driverOptions: volume.Options ?? {},
        labels: volume.Labels ?? {},
        anonymous: /^[0-9a-f]{64}$/.test(volume.Name),
        usedBy: usedBy.get(volume.Name) ?? [],
        root: packed.root,
        entries: packed.entries,
        archive: archiveRecord(object, packed)
      })
    }
    return records
  }

  private async copyBindMounts(
    inOrder: { details: ContainerDetails; record: Omit<ContainerRecord, 'image'> }[]
  ) {
    for (const { details, record } of inOrder) {
      for (const [index, mount] of record.mounts.entries()) {
        if (mount.type !== 'bind') continue
        const object = `binds/${record.name}-${index}.tar.${this.codec.algorithm === 'zstd' ? 'zst' : 'gz'}`
        const packed = await this.engine.readContainerPath(details.Id, mount.destination, tar =>
          packArchive(tar, this.codec, compressed => this.writer.put(object, compressed))
        )
        mount.archive = archiveRecord(object, packed)
        this.log.info(
          `${record.name}: bind mount ${mount.source} -> ${formatBytes(packed.storedBytes)}`
        )
      }
    }
  }

  /**
   * Removes the commits and tags this run made, pushed, saved or not (a failed run's too): the
   * snapshot holds them now. A source image loses only the tag added for the push.
   */
  private async removeMadeImages(): Promise<void> {
    const made = this.madeImages.splice(0)
    if (made.length === 0) return
    if (this.options.keepImages) {
      this.log.info(`kept images on the engine (keep-images): ${made.join(', ')}`)
      return
    }
    const left: string[] = []
    for (const reference of made) {
      try {
        await this.engine.removeImage(reference)
      } catch (error) {
        left.push(`${reference} (${describeError(error)})`)
      }
    }
    this.log.info(`removed ${plural(made.length - left.length, 'image')} this run made`)
    if (left.length > 0) {
      this.log.warn(`could not remove ${left.join('; ')}: remove them with docker rmi`)
    }
  }

  /** Pushes committed and locally built images, or saves them into the store. */
  private async publishImages(pending: PendingImage[]): Promise<ImageRecord[]> {
    const records: ImageRecord[] = []
    for (const image of pending) {
      const started = Date.now()
      if (image.record.role === 'source') {
        const details = await this.engine.findImage(image.record.id)
        const pinned = details?.RepoDigests?.[0]
        if (pinned) {
          // It came from a registry: refer to it by digest rather than copy it again.
          records.push({
            ...image.record,
            location: 'registry',
            reference: pinned,
            digest: pinned.split('@')[1]
          })
          continue
        }
      }
      const registry = this.options.registry
      if (registry) {
        if (image.record.role === 'source') {
          await this.engine.tagImage(image.record.id, image.repo, image.tag)
          this.madeImages.push(`${image.repo}:${image.tag}`)
        }
        this.options.onTransfer?.({
          kind: 'image',
          name: image.localReference,
          bytes: 0,
          done: false
        })
        const digest = await this.engine.pushImage(image.repo, image.tag, registry.auth)
        this.options.onTransfer?.({
          kind: 'image',
          name: image.localReference,
          bytes: 0,
          done: true
        })
        records.push({
          ...image.record,
          location: 'registry',
          reference: `${image.repo}@${digest}`,
          digest
        })
        this.log.info(
          `pushed ${image.repo}:${image.tag} (${digest}) in ${seconds(started).toFixed(1)} s`
        )
        continue
      }
      const object = `images/${imageTag(image.record.key.replace(':', '-'))}.tar.${this.codec.algorithm === 'zstd' ? 'zst' : 'gz'}`
      const reference = image.localReference
      // By id: a tag can have moved to another image since the container was created.
      const saved = await this.engine.saveImages([image.record.id])
      const packed = await packArchive(
        saved,
        this.codec,
        compressed => this.writer.put(object, compressed),
        bytes => this.options.onTransfer?.({ kind: 'image', name: reference, bytes, done: false })
      )
      this.options.onTransfer?.({
        kind: 'image',
        name: reference,
        bytes: packed.tarBytes,
        done: true
      })
      records.push({
        ...image.record,
        location: 'store',
        reference,
        archive: archiveRecord(object, packed)
      })
      this.log.info(
        `saved ${reference} into the store: ${formatBytes(packed.storedBytes)} in ${seconds(started).toFixed(1)} s`
      )
    }
    return records
  }
}

/** The containers (by name) that mount volume `name`. */
function usersOf(name: string, containers: ContainerDetails[]): string[] {
  return containers
    .filter(details => (details.Mounts ?? []).some(mount => mount.Name === name))
    .map(containerName)
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
