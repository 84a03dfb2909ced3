/**
 * Restore: manifest -> plan -> verify -> images -> volumes -> networks -> containers -> start.
 * Nothing that exists is changed before the plan is free of conflicts and every archive it needs
 * has been proven; under on-conflict replace the originals are only set aside until their
 * replacements are healthy. A failure removes what this run created, puts the originals back and
 * says what it had done.
 */
import type { Engine } from '../docker/engine.js'
import { plural } from '../shared/format.js'
import type { Logger } from '../shared/log.js'
import type { Manifest } from '../manifest/manifest.js'
import { HOLD_WAIT_MS } from '../snapshot/holds.js'
import type { SnapshotStore } from '../stores/store.js'
import { verifyImageArchive, verifyVolumeArchive } from './archives.js'
import { Originals } from './aside.js'
import { type Created, type Unfinished, unwind } from './unwind.js'
import {
  type PlannedBindMount,
  createBindVolumes,
  describeBindMount,
  planBindMounts,
  verifyBindArchives
} from './bind-mounts.js'
import {
  type StepContext,
  createContainers,
  restoreNetworks,
  restoreVolumes,
  startContainers
} from './create.js'
import { type MissingVariable, missingEnvError, resolveRedactedEnv } from './env.js'
import { type ReadyImage, restoreImage } from './images.js'
import { NameMap, checkPrefix } from './names.js'
import { type EngineState, type RestorePlan, planRestore, selectRecords } from './plan.js'
import { readManifest, resolveSnapshotId } from '../stores/catalog.js'
import type { RestoreOptions, RestoreReport, RestoreStep, StepTiming } from './types.js'

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

class RestoreRun implements Unfinished {
  private readonly started = Date.now()
  private readonly steps: StepTiming[] = []
  step: RestoreStep = 'manifest'
  readonly created: Created = { containers: [], volumes: [], networks: [] }
  readonly originals: Originals
  private bindMounts: PlannedBindMount[] = []
  snapshotId: string

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
    // The one option types cannot rule out; before anything is read.
    checkPrefix(this.options.prefix)
    try {
      return await this.restore()
    } catch (error) {
      throw await unwind(error, this, this.options, this.engine, this.log)
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
            plural(read.containers.length, 'container'),
            plural(read.volumes.length, 'volume'),
            plural(read.networks.length, 'network'),
            plural(read.images.length, 'image')
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

    const context: StepContext = {
      engine,
      log,
      options,
      store: this.store,
      snapshotId: this.snapshotId,
      created: this.created,
      originals: this.originals,
      bindMounts: this.bindMounts
    }
    const volumes = await this.timed('volumes', async () => {
      const restored = await restoreVolumes(context, plan, names)
      const { bindMounts, created, snapshotId, store } = this
      const imageOf = (key: string) => images.get(key)!.reference
      await createBindVolumes(engine, store, snapshotId, bindMounts, imageOf, created.volumes, log)
      return restored
    })
    const networks = await this.timed('networks', () => restoreNetworks(context, plan, names))
    const containers = await this.timed('containers', () =>
      createContainers(context, plan, names, images, environments, manifest)
    )
    await this.timed('start', () => startContainers(context, plan, containers))
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
    // Between two steps is a safe point for an interrupt (long steps also stop midway).
    this.options.signal?.throwIfAborted()
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
        `${volume.record.archive.object}: sha256 and size match, ${plural(inspection.entries, 'entry')} ` +
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
