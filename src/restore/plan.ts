/**
 * What a restore will do, decided before it changes anything: which records of the snapshot are
 * restored, under which names, in which order, and what happens to objects that already exist.
 */
import { ConflictError, InvalidSettingsError, ManifestError } from '../shared/errors.js'
import type {
  ContainerRecord,
  ExcludedVolumeRecord,
  ImageRecord,
  Manifest,
  NetworkRecord,
  VolumeRecord
} from '../manifest/manifest.js'
import { type NameMap, containerReferences } from './names.js'
import { dependencyOrder } from '../shared/dependency-order.js'
import type { ConflictPolicy } from './types.js'

/** The records a restore brings back, containers in dependency order. */
export interface Selection {
  containers: ContainerRecord[]
  /** Volumes to restore: with their contents, or empty (left out of the snapshot). */
  volumes: (VolumeRecord | ExcludedVolumeRecord)[]
  networks: NetworkRecord[]
  images: ImageRecord[]
}

export interface SelectionOptions {
  containers?: string[]
  volumes?: string[]
}

/**
 * The records to restore: everything; or the named containers with their volumes, networks and
 * images (plus any volumes named); or, with only `volumes`, just those volumes. Unknown names are
 * an InvalidSettingsError that lists what the snapshot has.
 */
export function selectRecords(manifest: Manifest, options: SelectionOptions): Selection {
  checkKnown(
    options.containers,
    manifest.containers.map(c => c.name),
    'container',
    manifest.snapshotId
  )
  checkKnown(
    options.volumes,
    manifest.volumes.map(v => v.name),
    'volume',
    manifest.snapshotId
  )

  const everything = options.containers === undefined && options.volumes === undefined
  const wantedContainers = new Set(
    everything ? manifest.containers.map(c => c.name) : (options.containers ?? [])
  )
  const containers = manifest.containers.filter(c => wantedContainers.has(c.name))

  const wantedVolumes = new Set(everything ? manifest.volumes.map(v => v.name) : options.volumes)
  for (const container of containers) {
    for (const mount of container.mounts)
      if (mount.type === 'volume') wantedVolumes.add(mount.source)
  }
  const volumes = [...manifest.volumes, ...(manifest.excludedVolumes ?? [])].filter(v =>
    wantedVolumes.has(v.name)
  )

  const wantedNetworks = new Set<string>()
  for (const container of containers) {
    for (const endpoint of container.endpoints) wantedNetworks.add(endpoint.network)
    const mode = container.create.HostConfig.NetworkMode
    if (typeof mode === 'string') wantedNetworks.add(mode)
  }
  const networks = manifest.networks.filter(n => wantedNetworks.has(n.name))

  const wantedImages = new Set(containers.map(c => c.image))
  const images = manifest.images.filter(i => wantedImages.has(i.key))

  return { containers, volumes, networks, images }
}

function checkKnown(
  asked: string[] | undefined,
  known: string[],
  what: string,
  snapshotId: string
): void {
  if (asked === undefined) return
  const unknown = asked.filter(name => !known.includes(name))
  if (unknown.length === 0) return
  throw new InvalidSettingsError(
    `Snapshot ${snapshotId} has no ${what}${unknown.length > 1 ? 's' : ''} ` +
      `${unknown.map(n => `'${n}'`).join(', ')}. Expected ${what} names from the snapshot: ` +
      `${known.length > 0 ? known.join(', ') : '(none)'}.`
  )
}

/** A container on the engine, as planning needs to know it. */
export interface ExistingContainer {
  name: string
  id: string
  /** Names of the volumes it mounts. */
  volumes: string[]
}

/** What exists on the engine under the names the restore would use. */
export interface EngineState {
  containers: ExistingContainer[]
  volumes: Set<string>
  networks: Set<string>
}

export type Disposition = 'create' | 'replace' | 'skip'

export interface PlannedContainer {
  record: ContainerRecord
  target: string
  action: Disposition
  /** The container that has the target name now (replace, skip). */
  existing?: ExistingContainer
}

export interface PlannedVolume {
  record: VolumeRecord | ExcludedVolumeRecord
  target: string
  action: Disposition
  /** Containers (by name) that mount the existing volume; replace removes them first. */
  users: string[]
}

export interface PlannedNetwork {
  record: NetworkRecord
  target: string
  action: 'create' | 'reuse'
}

export interface RestorePlan {
  /** In the order to create and start them. */
  containers: PlannedContainer[]
  volumes: PlannedVolume[]
  networks: PlannedNetwork[]
  images: ImageRecord[]
}

/**
 * Decides every object's fate against what exists, before anything is changed. Throws
 * ConflictError listing every conflict (policy `fail`, or `replace` blocked by a container outside
 * the restore), InvalidSettingsError when a container refers to one that will not exist, and
 * ManifestError when dependencies form a cycle.
 */
export function planRestore(
  selection: Selection,
  names: NameMap,
  state: EngineState,
  onConflict: ConflictPolicy,
  snapshotId: string
): RestorePlan {
  const byName = new Map(state.containers.map(c => [c.name, c]))
  const disposition = (exists: boolean): Disposition =>
    !exists ? 'create' : onConflict === 'skip' ? 'skip' : 'replace'

  const containers = selection.containers.map((record): PlannedContainer => {
    const target = names.container(record.name)
    const existing = byName.get(target)
    return { record, target, action: disposition(existing !== undefined), existing }
  })
  const volumes = selection.volumes.map((record): PlannedVolume => {
    const target = names.volume(record.name)
    const exists = state.volumes.has(target)
    const users = exists
      ? state.containers.filter(c => c.volumes.includes(target)).map(c => c.name)
      : []
    return { record, target, action: disposition(exists), users }
  })
  const networks = selection.networks.map((record): PlannedNetwork => {
    const target = names.network(record.name)
    return { record, target, action: state.networks.has(target) ? 'reuse' : 'create' }
  })

  const conflicts = [
    ...containers.filter(c => c.action !== 'create').map(c => `container ${c.target}`),
    ...volumes.filter(v => v.action !== 'create').map(v => `volume ${v.target}`)
  ]
  if (conflicts.length > 0 && onConflict === 'fail') {
    throw new ConflictError(
      `Restoring snapshot ${snapshotId} would overwrite what exists: ${conflicts.join(', ')}. ` +
        'Nothing was changed. Set on-conflict to replace (remove them and restore the ' +
        "snapshot's) or skip (keep them and restore the rest), or restore beside them with a prefix."
    )
  }

  if (onConflict === 'replace') {
    const replacedContainers = new Set(
      containers.filter(c => c.action === 'replace').map(c => c.target)
    )
    const blocked = volumes.flatMap(volume =>
      volume.action !== 'replace'
        ? []
        : volume.users
            .filter(user => !replacedContainers.has(user))
            .map(user => `volume ${volume.target} is mounted by container ${user}`)
    )
    if (blocked.length > 0) {
      throw new ConflictError(
        `Cannot replace in restoring snapshot ${snapshotId}: ${blocked.join('; ')}, which this ` +
          'restore does not replace. Nothing was changed. Remove or restore those containers ' +
          'too, set on-conflict to skip, or restore beside them with a prefix.'
      )
    }
  }

  checkReferences(containers, names, byName, state.containers)

  const selected = new Set(selection.containers.map(c => c.name))
  const order = dependencyOrder(
    selection.containers.map(record => ({
      name: record.name,
      dependsOn: [
        ...record.dependsOn,
        ...containerReferences(record, names)
          .filter(ref => ref.inSnapshot && selected.has(ref.container))
          .map(ref => ref.container)
      ]
    })),
    cycle =>
      new ManifestError(
        `containers depend on each other in a cycle (${cycle}), so there is no order to ` +
          'create and start them in: take a new snapshot after breaking the cycle'
      )
  )
  const planned = new Map(containers.map(c => [c.record.name, c]))
  return {
    containers: order.map(name => planned.get(name)!),
    volumes,
    networks,
    images: selection.images
  }
}

/** Every container a created container names in its HostConfig must exist when it is created. */
function checkReferences(
  containers: PlannedContainer[],
  names: NameMap,
  byName: Map<string, ExistingContainer>,
  existing: ExistingContainer[]
): void {
  const restored = new Set(containers.map(c => c.record.name))
  const missing: string[] = []
  for (const container of containers) {
    if (container.action === 'skip') continue
    for (const ref of containerReferences(container.record, names)) {
      if (ref.inSnapshot) {
        if (restored.has(ref.container) || byName.has(names.container(ref.container))) continue
        missing.push(
          `${container.record.name} needs ${ref.container} (${ref.via}), which is not being ` +
            `restored and does not exist as ${names.container(ref.container)}: add ` +
            `${ref.container} to the containers to restore`
        )
      } else if (
        !byName.has(ref.container) &&
        !existing.some(
          c => /^[a-f0-9]{12,64}$/.test(ref.container) && c.id.startsWith(ref.container)
        )
      ) {
        missing.push(
          `${container.record.name} needs container ${ref.container} (${ref.via}), which is not ` +
            'in the snapshot and does not exist on this engine: create it first'
        )
      }
    }
  }
  if (missing.length > 0) {
    throw new InvalidSettingsError(`Cannot restore as asked: ${missing.join('; ')}.`)
  }
}
