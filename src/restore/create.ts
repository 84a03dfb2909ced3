/** The restore's changing steps: volumes, networks, containers, and starting them in order. */
import type { Engine } from '../docker/engine.js'
import { chooseCopyMethod } from '../docker/helper-image.js'
import type { VolumeCopyMethod } from '../docker/helper-image.js'
import { describeError } from '../shared/errors.js'
import { plural } from '../shared/format.js'
import type { Logger } from '../shared/log.js'
import type { ContainerRecord, Manifest } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import type { Originals } from './aside.js'
import { type PlannedBindMount, bindReplacements } from './bind-mounts.js'
import { buildCreateSpec } from './create-body.js'
import type { ReadyImage } from './images.js'
import type { NameMap } from './names.js'
import { isAddressConflict, networkCreateSpec } from './networks.js'
import type { RestorePlan } from './plan.js'
import type {
  ContainerState,
  RestoreOptions,
  RestoredContainer,
  RestoredNetwork,
  RestoredVolume
} from './types.js'
import type { Created } from './unwind.js'
import { fillVolume } from './volume-fill.js'

/** What the changing steps need of a restore run. */
export interface StepContext {
  engine: Engine
  log: Logger
  store: SnapshotStore
  /** The snapshot being restored (resolved: never `latest`). */
  snapshotId: string
  options: Pick<RestoreOptions, 'ports' | 'signal' | 'start' | 'waitTimeoutMs' | 'copyMethod'>
  /** Told of everything created, to be removed again on failure. */
  created: Created
  /** Where the originals a replace removes are kept until the run succeeds. */
  originals: Originals
  bindMounts: PlannedBindMount[]
}

export async function restoreVolumes(
  steps: StepContext,
  plan: RestorePlan,
  names: NameMap
): Promise<RestoredVolume[]> {
  const { signal } = steps.options
  signal?.throwIfAborted()
  // Every container to replace stops before any volume is copied aside.
  await steps.originals.setAsideContainers(plan.containers, plan.volumes)
  const restored: RestoredVolume[] = []
  let copyMethod: VolumeCopyMethod | undefined
  for (const volume of plan.volumes) {
    const { record, target } = volume
    if (volume.action === 'skip') {
      steps.log.info(`volume ${target} exists: skipped, its contents are left as they are`)
      restored.push({ name: record.name, target, action: 'skipped', entries: 0 })
      continue
    }
    signal?.throwIfAborted()
    let emptied = false
    if (volume.action === 'replace') {
      await steps.originals.setAsideVolume(volume, signal)
      emptied = (await steps.originals.clearVolume(target)) === 'emptied'
    }
    if (!emptied) {
      await steps.engine.createVolume({
        name: target,
        driver: record.driver,
        driverOptions: record.driverOptions,
        labels: names.labels(record.labels) ?? {}
      })
      steps.created.volumes.push(target)
    }
    if (!('archive' in record)) {
      steps.log.info(
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
    steps.log.info(`volume ${target}: writing ${plural(record.entries, 'entry')}`)
    copyMethod ??= await chooseCopyMethod(
      steps.engine,
      steps.options.copyMethod ?? 'auto',
      steps.log
    )
    const source = { store: steps.store, snapshotId: steps.snapshotId }
    copyMethod = await fillVolume(steps.engine, copyMethod, source, record, target, {
      log: steps.log,
      signal
    })
    steps.log.info(
      `volume ${target}: ${plural(record.entries, 'entry')} written in ${Date.now() - started} ms ` +
        `by ${copyMethod.method === 'helper' ? 'a helper container' : "the engine's archive API"}`
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

export async function restoreNetworks(
  steps: StepContext,
  plan: RestorePlan,
  names: NameMap
): Promise<RestoredNetwork[]> {
  const restored: RestoredNetwork[] = []
  for (const network of plan.networks) {
    const { record, target } = network
    if (network.action === 'reuse') {
      restored.push({ name: record.name, target, action: 'reused' })
      continue
    }
    try {
      await steps.engine.createNetwork(networkCreateSpec(record, target, names))
    } catch (error) {
      const staticAddresses = plan.containers.some(c =>
        c.record.endpoints.some(e => e.network === record.name && (e.ipv4Address || e.ipv6Address))
      )
      if (
        record.ipam.config.length === 0 ||
        staticAddresses ||
        !isAddressConflict(describeError(error))
      ) {
        throw error
      }
      steps.log.warn(
        `network ${target}: its recorded subnet ` +
          `${record.ipam.config.map(c => c.subnet).join(', ')} is taken on this engine (by the ` +
          'original, when restoring beside it); created it with a subnet the engine chose'
      )
      await steps.engine.createNetwork(networkCreateSpec(record, target, names, false))
    }
    steps.created.networks.push(target)
    steps.log.info(`created network ${target} (${record.driver})`)
    restored.push({ name: record.name, target, action: 'created' })
  }
  return restored
}

export async function createContainers(
  steps: StepContext,
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
      steps.log.info(`container ${target} exists: skipped, left as it is`)
      restored.push({ name: record.name, target, action: 'skipped', state: 'skipped' })
      continue
    }
    steps.options.signal?.throwIfAborted()
    const { spec, connect } = buildCreateSpec(record, target, {
      names,
      image: images.get(record.image)!.reference,
      ports: steps.options.ports,
      env: environments.get(record.name),
      containers: byName,
      bindReplacements: bindReplacements(steps.bindMounts, target)
    })
    const id = await steps.engine.createContainer(spec)
    steps.created.containers.push({ id, name: target })
    for (const endpoint of connect) {
      await steps.engine.connectNetwork(endpoint.network, id, endpoint)
    }
    steps.log.info(`created container ${target} from ${spec.Image}`)
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
export async function startContainers(
  steps: StepContext,
  plan: RestorePlan,
  containers: RestoredContainer[]
): Promise<void> {
  if (!steps.options.start) {
    steps.log.info('not starting containers (start is off)')
    return
  }
  const byName = new Map(containers.map(c => [c.name, c]))
  const states = new Map<string, ContainerState>()
  const waitFor = async (container: RestoredContainer) => {
    if (states.has(container.name)) return
    const started = Date.now()
    const state = await steps.engine.waitHealthy(
      container.id!,
      steps.options.waitTimeoutMs,
      steps.options.signal
    )
    states.set(container.name, state)
    container.state = state
    steps.log.info(`${container.target} is ${state} (${Date.now() - started} ms)`)
  }
  const startedOnes: RestoredContainer[] = []
  for (const planned of plan.containers) {
    const container = byName.get(planned.record.name)!
    if (container.id === undefined || !planned.record.running) continue
    for (const dependency of planned.record.dependsOn) {
      const other = byName.get(dependency)
      if (other && startedOnes.includes(other)) await waitFor(other)
    }
    steps.options.signal?.throwIfAborted()
    await steps.engine.startContainer(container.id)
    startedOnes.push(container)
    steps.log.info(`started ${container.target}`)
  }
  for (const container of startedOnes) await waitFor(container)
}
