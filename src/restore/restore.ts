/**
 * Restore: manifest -> plan -> verify -> images -> volumes -> networks -> containers -> start.
 * Nothing that exists is changed before the plan is free of conflicts and every archive it needs
 * has been proven; under on-conflict replace the originals are only set aside until their
 * replacements are healthy. A failure removes what this run created, puts the originals back and
 * says what it had done.
 */
import type { Engine } from '../docker/engine.js'
import { chooseCopyMethod } from '../docker/helper-image.js'
import type { VolumeCopyMethod } from '../docker/helper-image.js'
import {
  HealthError,
  InvalidSettingsError,
  SnapshotError,
  describeError
} from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { ContainerRecord, Manifest } from '../manifest/manifest.js'
import { HOLD_WAIT_MS } from '../snapshot/holds.js'
import type { SnapshotStore } from '../stores/store.js'
import { verifyImageArchive, verifyVolumeArchive } from './archives.js'
import { Originals } from './aside.js'
import {
  type PlannedBindMount,
  bindReplacements,
  createBindVolumes,
  describeBindMount,
  planBindMounts,
  verifyBindArchives
} from './bind-mounts.js'
import { buildCreateSpec } from './create-body.js'
import { type MissingVariable, missingEnvError, resolveRedactedEnv } from './env.js'
import { type ReadyImage, restoreImage } from './images.js'
import { NameMap, checkPrefix } from './names.js'
import { isAddressConflict, networkCreateSpec } from './networks.js'
import { type EngineState, type RestorePlan, planRestore, selectRecords } from './plan.js'
import { readManifest, resolveSnapshotId } from '../stores/catalog.js'
import { fillVolume } from './volume-fill.js'
import type {
  ContainerState,
  RestoreOptions,
  RestoreReport,
  RestoreStep,
  RestoredContainer,
  RestoredNetwork,
  RestoredVolume,
  StepTiming
} from './types.js'

const STEP_TITLES: Record<RestoreStep, string> = {
  manifest: 'Reading the manifest',
  plan: 'Planning the restore',
  verify: 'Verifying archives',
  images: 'Restoring images',
  volumes: 'Restoring volumes',
  networks: 'Restoring networks',
  containers: 'Creating containers',
  start: 'Starting containers'
}
const STEPS = Object.keys(STEP_TITLES) as RestoreStep[]

/** Throws InvalidSettingsError for options that cannot work, before anything is read. */
export function checkRestoreOptions(options: RestoreOptions): void {
  checkPrefix(options.prefix)
  if (!['fail', 'replace', 'skip'].includes(options.onConflict)) {
    throw new InvalidSettingsError(
      `Invalid on-conflict '${String(options.onConflict)}'. Expected one of: fail, replace, skip.`
    )
  }
  if (!['keep', 'ephemeral', 'none'].includes(options.ports)) {
    throw new InvalidSettingsError(
      `Invalid ports '${String(options.ports)}'. Expected one of: keep, ephemeral, none.`
    )
  }
  if (!Number.isFinite(options.waitTimeoutMs) || options.waitTimeoutMs <= 0) {
    throw new InvalidSettingsError(
      `Invalid wait timeout ${String(options.waitTimeoutMs)} ms. Expected a positive duration.`
    )
  }
}

/** What this run created, to report and to remove again on failure. */
interface Created {
  containers: { id: string; name: string }[]
  volumes: string[]
  networks: string[]
}

class RestoreRun {
  private readonly started = Date.now()
  private readonly steps: StepTiming[] = []
  private step: RestoreStep = 'manifest'
  private readonly created: Created = { containers: [], volumes: [], networks: [] }
  private copyMethod: VolumeCopyMethod | undefined
  private readonly originals: Originals
  private bindMounts: PlannedBindMount[] = []
  private snapshotId: string

  constructor(
    private readonly engine: Engine,
    private readonly store: SnapshotStore,
    private readonly options: RestoreOptions,
    private readonly log: Logger
  ) {
    this.snapshotId = options.snapshotId
    this.originals = new Originals(engine, log, {
      snapshotId: options.snapshotId,
      hookTimeoutMs: 0,
      waitMs: options.holdWaitMs ?? HOLD_WAIT_MS,
      signal: options.signal
    })
  }

  async run(): Promise<RestoreReport> {
    checkRestoreOptions(this.options)
    try {
      return await this.restore()
    } catch (error) {
      throw await this.fail(error)
    }
  }

  private async restore(): Promise<RestoreReport> {
    const { engine, options, log } = this
    const manifest = await this.timed('manifest', async () => {
      this.snapshotId = await resolveSnapshotId(this.store, options.snapshotId)
      const read = await readManifest(this.store, this.snapshotId)
      log.info(
        `snapshot ${read.snapshotId} taken ${read.createdAt} (${read.consistency}): ` +
          [
            count(read.containers.length, 'container'),
            count(read.volumes.length, 'volume'),
            count(read.networks.length, 'network'),
            count(read.images.length, 'image')
          ].join(', ')
      )
      return read
    })
    const names = new NameMap(manifest, options.prefix)

    const plan = await this.timed('plan', async () => {
      const selection = selectRecords(manifest, options)
      const planned = planRestore(
        selection,
        names,
        await this.engineState(selection.networks.map(n => names.network(n.name))),
        options.onConflict,
        manifest.snapshotId
      )
      this.bindMounts = planBindMounts(
        planned.containers,
        new Map(manifest.containers.map(c => [c.name, c])),
        names,
        options.bindMounts ?? 'host'
      )
      this.describePlan(planned, manifest)
      return planned
    })

    await this.timed('verify', () => this.verifyArchives(plan))

    // Redacted variables need the images' own environments: resolved here, before any volume.
    const { images, environments } = await this.timed('images', async () => {
      const ready = new Map<string, ReadyImage>()
      for (const image of plan.images) {
        ready.set(
          image.key,
          await restoreImage(engine, this.store, this.snapshotId, image, options.registryAuth, log)
        )
      }
      return { images: ready, environments: this.resolveEnvironments(plan, ready) }
    })

    const volumes = await this.timed('volumes', async () => {
      const restored = await this.restoreVolumes(plan, names)
      const { bindMounts, created, snapshotId, store } = this
      const imageOf = (key: string) => images.get(key)!.reference
      await createBindVolumes(engine, store, snapshotId, bindMounts, imageOf, created.volumes, log)
      return restored
    })
    const networks = await this.timed('networks', () => this.restoreNetworks(plan, names))
    const containers = await this.timed('containers', () =>
      this.createContainers(plan, names, images, environments, manifest)
    )
    await this.timed('start', () => this.startContainers(plan, containers))
    // The last moment an interrupt undoes the run: from here on, the originals go.
    options.signal?.throwIfAborted()
    const replaced = await this.originals.discard()

    return {
      snapshotId: this.snapshotId,
      prefix: options.prefix,
      steps: this.steps,
      durationMs: Date.now() - this.started,
      images: [...images.values()].map(({ key, reference, id, action }) => ({
        key,
        reference,
        id,
        action
      })),
      volumes,
      networks,
      containers,
      bindMounts: this.bindMounts.map(mount => mount.report),
      replaced
    }
  }

  private async timed<T>(step: RestoreStep, fn: () => Promise<T>): Promise<T> {
    this.step = step
    const started = Date.now()
    try {
      return await this.log.group(
        `Restore ${STEPS.indexOf(step) + 1}/${STEPS.length}: ${STEP_TITLES[step]}`,
        fn
      )
    } finally {
      const durationMs = Date.now() - started
      this.steps.push({ step, durationMs })
      this.log.debug(`${step} took ${durationMs} ms`)
    }
  }

  /** What exists under the names the restore would use, in three engine calls and a few looks. */
  private async engineState(networkNames: string[]): Promise<EngineState> {
    const summaries = await this.engine.listContainers()
    const volumes = await this.engine.listVolumes()
    const networks = new Set<string>()
    for (const name of new Set(networkNames)) {
      if (await this.engine.findNetwork(name)) networks.add(name)
    }
    return {
      containers: summaries.map(summary => ({
        name: (summary.Names[0] ?? summary.Id).replace(/^\//, ''),
        id: summary.Id,
        volumes: (summary.Mounts ?? []).flatMap(m =>
          m.Type === 'volume' && m.Name ? [m.Name] : []
        )
      })),
      volumes: new Set(volumes.map(v => v.Name)),
      networks
    }
  }

  private describePlan(plan: RestorePlan, manifest: Manifest): void {
    const { log, options } = this
    const line = (what: string, items: { action: string; target: string }[]) => {
      if (items.length === 0) return
      log.info(
        `${what}: ${items.map(i => (i.action === 'create' ? i.target : `${i.target} (${i.action})`)).join(', ')}`
      )
    }
    line('containers', plan.containers)
    line('volumes', plan.volumes)
    line('networks', plan.networks)
    for (const network of plan.networks.filter(n => n.action === 'reuse')) {
      log.info(`network ${network.target} exists: it is reused as it is`)
    }
    const redacted = new Set(plan.containers.flatMap(c => c.record.redactedEnv))
    const unused = Object.keys(options.env).filter(name => !redacted.has(name))
    if (unused.length > 0) {
      log.warn(
        `env gives ${unused.join(', ')}, which no restored container of snapshot ` +
          `${manifest.snapshotId} left out as secret; those values are not used`
      )
    }
    for (const mount of this.bindMounts) log.info(describeBindMount(mount.report))
  }

  /** Every archive the plan needs, proven before anything is changed. */
  private async verifyArchives(plan: RestorePlan): Promise<void> {
    await verifyBindArchives(this.store, this.snapshotId, this.bindMounts, this.log)
    for (const volume of plan.volumes) {
      if (volume.action === 'skip' || !('archive' in volume.record)) continue
      const started = Date.now()
      const inspection = await verifyVolumeArchive(this.store, this.snapshotId, volume.record)
      this.log.info(
        `${volume.record.archive.object}: sha256 and size match, ${count(inspection.entries, 'entry')} ` +
          `safe to unpack (${Date.now() - started} ms)`
      )
    }
    for (const image of plan.images) {
      if (image.location !== 'store' || image.archive === undefined) continue
      if (await this.engine.findImage(image.id)) {
        this.log.info(`${image.archive.object}: not needed, image ${image.id} is present`)
        continue
      }
      await verifyImageArchive(this.store, this.snapshotId, { ...image, archive: image.archive })
      this.log.info(`${image.archive.object}: sha256 and size match; holds image ${image.id}`)
    }
  }

  /** Env of every container to create; throws naming every redacted variable without a value. */
  private resolveEnvironments(
    plan: RestorePlan,
    images: Map<string, ReadyImage>
  ): Map<string, string[] | undefined> {
    const environments = new Map<string, string[] | undefined>()
    const missing: MissingVariable[] = []
    for (const container of plan.containers) {
      if (container.action === 'skip') continue
      const image = images.get(container.record.image)!
      const resolution = resolveRedactedEnv(container.record, image.env, this.options.env)
      environments.set(container.record.name, resolution.env)
      for (const variable of resolution.missing) {
        missing.push({ container: container.record.name, image: image.reference, variable })
      }
      if (resolution.fromImage.length > 0) {
        this.log.info(
          `${container.target}: ${resolution.fromImage.join(', ')} come from image ${image.reference}`
        )
      }
      if (resolution.supplied.length > 0) {
        this.log.info(`${container.target}: ${resolution.supplied.join(', ')} set from env`)
      }
    }
    if (missing.length > 0) throw missingEnvError(missing)
    return environments
  }

  private async restoreVolumes(plan: RestorePlan, names: NameMap): Promise<RestoredVolume[]> {
    const { signal } = this.options
    signal?.throwIfAborted()
    // Every container to replace stops before any volume is copied aside.
    await this.originals.setAsideContainers(plan.containers, plan.volumes)
    const restored: RestoredVolume[] = []
    for (const volume of plan.volumes) {
      const { record, target } = volume
      if (volume.action === 'skip') {
        this.log.info(`volume ${target} exists: skipped, its contents are left as they are`)
        restored.push({ name: record.name, target, action: 'skipped', entries: 0 })
        continue
      }
      signal?.throwIfAborted()
      let emptied = false
      if (volume.action === 'replace') {
        await this.originals.setAsideVolume(volume, signal)
        emptied = (await this.originals.clearVolume(target)) === 'emptied'
      }
      if (!emptied) {
        await this.engine.createVolume({
          name: target,
          driver: record.driver,
          driverOptions: record.driverOptions,
          labels: names.labels(record.labels) ?? {}
        })
        this.created.volumes.push(target)
      }
      if (!('archive' in record)) {
        this.log.info(
          `volume ${target}: created empty (${record.name} was excluded from the snapshot)`
        )
        restored.push({
          name: record.name,
          target,
          action: volume.action === 'replace' ? 'replaced' : 'created',
          entries: 0,
          empty: true
        })
        continue
      }
      const started = Date.now()
      this.log.info(`volume ${target}: writing ${count(record.entries, 'entry')}`)
      this.copyMethod ??= await chooseCopyMethod(
        this.engine,
        this.options.copyMethod ?? 'auto',
        this.log
      )
      const source = { store: this.store, snapshotId: this.snapshotId }
      this.copyMethod = await fillVolume(this.engine, this.copyMethod, source, record, target, {
        log: this.log,
        signal
      })
      this.log.info(
        `volume ${target}: ${count(record.entries, 'entry')} written in ${Date.now() - started} ms ` +
          `by ${this.copyMethod.method === 'helper' ? 'a helper container' : "the engine's archive API"}`
      )
      restored.push({
        name: record.name,
        target,
        action: volume.action === 'replace' ? 'replaced' : 'created',
        entries: record.entries
      })
    }
    return restored
  }

  private async restoreNetworks(plan: RestorePlan, names: NameMap): Promise<RestoredNetwork[]> {
    const restored: RestoredNetwork[] = []
    for (const network of plan.networks) {
      const { record, target } = network
      if (network.action === 'reuse') {
        restored.push({ name: record.name, target, action: 'reused' })
        continue
      }
      try {
        await this.engine.createNetwork(networkCreateSpec(record, target, names))
      } catch (error) {
        const staticAddresses = plan.containers.some(c =>
          c.record.endpoints.some(
            e => e.network === record.name && (e.ipv4Address || e.ipv6Address)
          )
        )
        if (
          record.ipam.config.length === 0 ||
          staticAddresses ||
          !isAddressConflict(describeError(error))
        ) {
          throw error
        }
        this.log.warn(
          `network ${target}: its recorded subnet ` +
            `${record.ipam.config.map(c => c.subnet).join(', ')} is taken on this engine (by the ` +
            'original, when restoring beside it); created it with a subnet the engine chose'
        )
        await this.engine.createNetwork(networkCreateSpec(record, target, names, false))
      }
      this.created.networks.push(target)
      this.log.info(`created network ${target} (${record.driver})`)
      restored.push({ name: record.name, target, action: 'created' })
    }
    return restored
  }

  private async createContainers(
    plan: RestorePlan,
    names: NameMap,
    images: Map<string, ReadyImage>,
    environments: Map<string, string[] | undefined>,
    manifest: Manifest
  ): Promise<RestoredContainer[]> {
    const byName = new Map<string, ContainerRecord>(manifest.containers.map(c => [c.name, c]))
    const restored: RestoredContainer[] = []
    for (const container of plan.containers) {
      const { record, target } = container
      if (container.action === 'skip') {
        this.log.info(`container ${target} exists: skipped, left as it is`)
        restored.push({ name: record.name, target, action: 'skipped', state: 'skipped' })
        continue
      }
      this.options.signal?.throwIfAborted()
      const { spec, connect } = buildCreateSpec(record, target, {
        names,
        image: images.get(record.image)!.reference,
        ports: this.options.ports,
        env: environments.get(record.name),
        containers: byName,
        bindReplacements: bindReplacements(this.bindMounts, target)
      })
      const id = await this.engine.createContainer(spec)
      this.created.containers.push({ id, name: target })
      for (const endpoint of connect) {
        await this.engine.connectNetwork(endpoint.network, id, endpoint)
      }
      this.log.info(`created container ${target} from ${spec.Image}`)
      restored.push({
        name: record.name,
        target,
        id,
        action: container.action === 'replace' ? 'replaced' : 'created',
        state: 'created'
      })
    }
    return restored
  }

  /**
   * Starts, in dependency order, the containers that were running; each waits until what it
   * depends on is healthy (or running, without a healthcheck).
   */
  private async startContainers(plan: RestorePlan, containers: RestoredContainer[]): Promise<void> {
    if (!this.options.start) {
      this.log.info('not starting containers (start is off)')
      return
    }
    const byName = new Map(containers.map(c => [c.name, c]))
    const states = new Map<string, ContainerState>()
    const waitFor = async (container: RestoredContainer) => {
      if (states.has(container.name)) return
      const started = Date.now()
      const state = await this.engine.waitHealthy(
        container.id!,
        this.options.waitTimeoutMs,
        this.options.signal
      )
      states.set(container.name, state)
      container.state = state
      this.log.info(`${container.target} is ${state} (${Date.now() - started} ms)`)
    }
    const startedOnes: RestoredContainer[] = []
    for (const planned of plan.containers) {
      const container = byName.get(planned.record.name)!
      if (container.id === undefined || !planned.record.running) continue
      for (const dependency of planned.record.dependsOn) {
        const other = byName.get(dependency)
        if (other && startedOnes.includes(other)) await waitFor(other)
      }
      this.options.signal?.throwIfAborted()
      await this.engine.startContainer(container.id)
      startedOnes.push(container)
      this.log.info(`started ${container.target}`)
    }
    for (const container of startedOnes) await waitFor(container)
  }

  /** The error to throw: the original kind, saying where the restore stopped and what it did. */
  private async fail(error: unknown): Promise<Error> {
    const { signal } = this.options
    // An interrupt surfaces as whatever call it cut short: name the interrupt instead.
    const reason = signal?.aborted ? new SnapshotError(`${describeError(signal.reason)}.`) : error
    const created = [
      ...this.created.containers.map(c => `container ${c.name}`),
      ...this.created.volumes.map(v => `volume ${v}`),
      ...this.created.networks.map(n => `network ${n}`)
    ]
    const stopped = `Restore of snapshot ${this.snapshotId} stopped at step '${this.step}'`
    const aside = this.originals.any
    if (created.length === 0 && !aside) {
      return withContext(reason, `${stopped}; no container, volume or network was changed.`)
    }
    const parts: string[] = [`${stopped}.`]
    // Replacements hold the originals' names: with originals aside, they go whatever was asked.
    const keep = this.options.keepOnFailure === true && !aside
    if (created.length === 0) {
      parts.push('It had created nothing.')
    } else if (keep) {
      parts.push(`Created so far and kept (keep-on-failure): ${created.join(', ')}.`)
    } else {
      const left = await this.removeCreated()
      parts.push(
        `Created so far and removed again: ${created.join(', ')}.` +
          (left.length > 0 ? ` Could not remove: ${left.join('; ')}; remove them by hand.` : '')
      )
    }
    if (aside) {
      const { back, left } = await this.originals.putBack()
      if (back.length > 0) {
        parts.push(`The originals were put back as they were: ${back.join(', ')}.`)
      }
      if (left.length > 0) {
        parts.push(
          `Could not put back: ${left.join('; ')}. Put them back by hand as the README's ` +
            "'If a replace is cut short' says."
        )
      }
    } else {
      parts.push('Existing containers, volumes and networks were not changed.')
    }
    if (error instanceof HealthError && !keep && created.length > 0) {
      parts.push(
        aside
          ? 'Restore beside them with a prefix and keep-on-failure true (--keep-on-failure) ' +
              'to read the container logs.'
          : 'Restore again with keep-on-failure true (--keep-on-failure) to keep them and read ' +
              'the container logs.'
      )
    }
    return withContext(reason, parts.join(' '))
  }

  /** Removes what this run created, newest kind first; returns what could not be removed. */
  private async removeCreated(): Promise<string[]> {
    const left: string[] = []
    const attempt = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn()
        this.log.info(`removed ${what} (created by this restore)`)
      } catch (error) {
        left.push(`${what} (${describeError(error)})`)
      }
    }
    for (const container of [...this.created.containers].reverse()) {
      // Only volumes the engine made for it; named ones (ours included) are left to the next loop.
      await attempt(`container ${container.name}`, () =>
        this.engine.removeContainer(container.id, { force: true, volumes: true })
      )
    }
    for (const volume of [...this.created.volumes].reverse()) {
      await attempt(`volume ${volume}`, () => this.engine.removeVolume(volume))
    }
    for (const network of [...this.created.networks].reverse()) {
      await attempt(`network ${network}`, () => this.engine.removeNetwork(network))
    }
    return left
  }
}

function count(n: number, what: string): string {
  if (n === 1) return `1 ${what}`
  return `${n} ${what.endsWith('y') ? `${what.slice(0, -1)}ies` : `${what}s`}`
}

/** The same kind of error, its message followed by `context`. */
function withContext(error: unknown, context: string): Error {
  if (error instanceof SnapshotError) {
    const Kind = error.constructor as new (message: string, options?: ErrorOptions) => SnapshotError
    return new Kind(`${error.message} ${context}`, { cause: error })
  }
  return new SnapshotError(`${describeError(error)} ${context}`, { cause: error })
}

/**
 * Restores a snapshot from `store` onto the engine. See RestoreOptions for the choices; the
 * report says what was restored under which names, and how long each step took.
 */
export function restoreSnapshot(
  engine: Engine,
  store: SnapshotStore,
  options: RestoreOptions,
  log: Logger
): Promise<RestoreReport> {
  return new RestoreRun(engine, store, options, log).run()
}
