/**
 * The names a restore gives to what it recreates: every container, volume and user network of the
 * snapshot gets the prefix, and references between them (mounts, links, `container:` modes) follow.
 */
import { invalidInput } from '../shared/errors.js'
import { BUILTIN_NETWORKS, type ContainerRecord, type Manifest } from '../manifest/manifest.js'
import { ENGINE_NAME } from '../manifest/patterns.js'
import { COMPOSE_LABEL } from '../snapshot/targets.js'

// A prefix must keep engine names valid.
const PREFIX_PATTERN = new RegExp(`^(?:${ENGINE_NAME})?$`)

/** Network modes that name no network object of the snapshot. */
const SPECIAL_NETWORK_MODES = new Set(['', 'default', ...BUILTIN_NETWORKS])

/** Throws InvalidSettingsError unless `prefix` is empty or keeps engine names valid. */
export function checkPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw invalidInput(
      'prefix',
      prefix,
      "Expected letters, digits, '_', '.' or '-', starting with a letter or digit."
    )
  }
}

export class NameMap {
  readonly prefix: string
  readonly #containerNames = new Set<string>()
  /** Original container ids (full) to names, so that `container:<id>` references map too. */
  readonly #containerIds = new Map<string, string>()
  readonly #volumeNames = new Set<string>()
  readonly #networkNames = new Set<string>()

  constructor(
    manifest: Pick<Manifest, 'containers' | 'volumes' | 'excludedVolumes' | 'networks'>,
    prefix: string
  ) {
    this.prefix = prefix
    for (const container of manifest.containers) {
      this.#containerNames.add(container.name)
      this.#containerIds.set(container.id, container.name)
    }
    for (const volume of [...manifest.volumes, ...(manifest.excludedVolumes ?? [])]) {
      this.#volumeNames.add(volume.name)
    }
    for (const network of manifest.networks) this.#networkNames.add(network.name)
  }

  /** The restored name of a container of the snapshot. */
  container(name: string): string {
    return `${this.prefix}${name}`
  }

  /** The restored name of a volume of the snapshot. */
  volume(name: string): string {
    return `${this.prefix}${name}`
  }

  /** The restored name of a network; the engine's built-in networks keep theirs. */
  network(name: string): string {
    return SPECIAL_NETWORK_MODES.has(name) ? name : `${this.prefix}${name}`
  }

  /**
   * The snapshot's container that `reference` (a name, `/name`, a full id or an id prefix of at
   * least 12 digits) means, or undefined when it names a container outside the snapshot.
   */
  snapshotContainer(reference: string): string | undefined {
    const name = reference.replace(/^\//, '')
    if (this.#containerNames.has(name)) return name
    if (/^[a-f0-9]{12,64}$/.test(name)) {
      for (const [id, containerName] of this.#containerIds) {
        if (id.startsWith(name)) return containerName
      }
    }
    return undefined
  }

  /** A container reference mapped to its restored name; a container outside the snapshot keeps it. */
  containerReference(reference: string): string {
    const name = this.snapshotContainer(reference)
    return name === undefined ? reference : this.container(name)
  }

  /** A volume reference mapped when it is a volume of the snapshot; host paths and others keep theirs. */
  volumeReference(source: string): string {
    return this.#volumeNames.has(source) ? this.volume(source) : source
  }

  /** A network reference mapped when it is a network of the snapshot. */
  networkReference(name: string): string {
    return this.#networkNames.has(name) ? this.network(name) : name
  }

  /** `container:<ref>` mapped; any other mode (`host`, `private`, a network name) as `other` says. */
  mode(value: string, other: (value: string) => string = v => v): string {
    if (value.startsWith('container:')) {
      return `container:${this.containerReference(value.slice('container:'.length))}`
    }
    return other(value)
  }

  /** Labels with the compose project prefixed; every other label as it was. */
  labels(labels: Record<string, string> | undefined): Record<string, string> | undefined {
    if (labels === undefined || this.prefix === '') return labels
    // So that compose tools never mistake a copy for the original.
    const project = labels[COMPOSE_LABEL.project]
    if (project === undefined) return labels
    return { ...labels, [COMPOSE_LABEL.project]: `${this.prefix}${project}` }
  }
}

/** How one container refers to another in its HostConfig, which the engine needs at create. */
export interface ContainerReference {
  /** The referenced container, by its name in the snapshot (or as written when outside it). */
  container: string
  /** Whether it is a container of the snapshot. */
  inSnapshot: boolean
  via: 'links' | 'volumes-from' | 'network mode' | 'pid mode' | 'ipc mode'
}

/** The containers `record` names in Links, VolumesFrom and `container:` modes. */
export function containerReferences(record: ContainerRecord, names: NameMap): ContainerReference[] {
  const host = record.create.HostConfig
  const references: ContainerReference[] = []
  const add = (reference: string, via: ContainerReference['via']) => {
    const name = names.snapshotContainer(reference)
    references.push({
      container: name ?? reference.replace(/^\//, ''),
      inSnapshot: name !== undefined,
      via
    })
  }
  for (const link of stringArray(host.Links)) add(parseLink(link).container, 'links')
  for (const from of stringArray(host.VolumesFrom))
    add(parseVolumesFrom(from).container, 'volumes-from')
  const modes = [
    [host.NetworkMode, 'network mode'],
    [host.PidMode, 'pid mode'],
    [host.IpcMode, 'ipc mode']
  ] as const
  for (const [mode, via] of modes) {
    if (typeof mode === 'string' && mode.startsWith('container:')) {
      add(mode.slice('container:'.length), via)
    }
  }
  return references
}

/**
 * A link as the engine shows it (`/db:/web/database`) or as a user writes it (`db:database`,
 * `db`): the container and the alias.
 */
export function parseLink(link: string): { container: string; alias: string } {
  const colon = link.indexOf(':')
  if (colon < 0) return { container: link.replace(/^\//, ''), alias: link.replace(/^\//, '') }
  const container = link.slice(0, colon).replace(/^\//, '')
  const target = link.slice(colon + 1)
  // The inspect form's alias is the last path segment of `/<container>/<alias>`.
  const alias = target.slice(target.lastIndexOf('/') + 1)
  return { container, alias }
}

/** `name[:ro|rw]` of VolumesFrom. */
export function parseVolumesFrom(value: string): { container: string; mode?: string } {
  const colon = value.lastIndexOf(':')
  if (colon > 0 && /^(ro|rw)$/.test(value.slice(colon + 1))) {
    return { container: value.slice(0, colon), mode: value.slice(colon + 1) }
  }
  return { container: value }
}

export function stringArray(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((item): item is string => typeof item === 'string')
    : []
}
