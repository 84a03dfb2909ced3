import { CARRIER_LABEL } from '../docker/carriers.js'
import type { Engine } from '../docker/engine.js'
import type { ContainerDetails, VolumeDetails } from '../docker/types.js'
import { InvalidSettingsError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { BUILTIN_NETWORKS, type Selection } from '../manifest/manifest.js'
import { didYouMean, nearMatches } from '../shared/near-matches.js'
import { LABEL, containerName } from './capture.js'
import { HOLD_LABEL, REPAIR_LABEL } from './holds.js'

/** The labels docker compose puts on what it creates. */
export const COMPOSE_LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service'
} as const

export interface Targets {
  containers: ContainerDetails[]
  volumes: VolumeDetails[]
  /** Volumes the containers mount that exclude-volumes leaves out: recorded, not copied. */
  excludedVolumes: VolumeDetails[]
  /** User-defined networks the containers use. */
  networks: string[]
}

/** What "no selection" means to a user: say it plainly rather than snapshot nothing. */
function describeSelection(selection: Selection): string {
  const parts = []
  if (selection.containers.length) parts.push(`containers ${selection.containers.join(', ')}`)
  if (selection.composeProject) parts.push(`compose project ${selection.composeProject}`)
  if (selection.labels.length) parts.push(`labels ${selection.labels.join(', ')}`)
  if (selection.all) parts.push('all containers')
  return parts.join(' and ')
}

/** Containers named like `name` (among all on the engine), to suggest instead of it. */
async function containersLike(engine: Engine, name: string): Promise<string> {
  const all = await engine.listContainers()
  const names = all.flatMap(c => c.Names.map(n => n.replace(/^\//, '')))
  return didYouMean(nearMatches(name, names))
}

/** Label filters (and the compose project) no container carries, with what is near each. */
async function labelsLike(engine: Engine, selection: Selection): Promise<string> {
  const labels = (await engine.listContainers()).flatMap(c => Object.entries(c.Labels ?? {}))
  const hints: string[] = []
  if (selection.composeProject !== undefined) {
    const projects = labels
      .filter(([key]) => key === COMPOSE_LABEL.project)
      .map(([, value]) => value)
    if (!projects.includes(selection.composeProject)) {
      hints.push(didYouMean(nearMatches(selection.composeProject, projects)))
    }
  }
  for (const filter of selection.labels) {
    const candidates = filter.includes('=')
      ? labels.map(([key, value]) => `${key}=${value}`)
      : labels.map(([key]) => key)
    if (!candidates.includes(filter)) hints.push(didYouMean(nearMatches(filter, candidates)))
  }
  return hints.join('')
}

/** Finds the containers, volumes and networks a selection means, failing on unknown names. */
export async function resolveTargets(
  engine: Engine,
  selection: Selection,
  extraVolumes: string[],
  excludeVolumes: string[]
): Promise<Targets> {
  const ids = new Set<string>()
  for (const name of selection.containers) {
    const details = await engine.findContainer(name)
    if (!details) {
      throw new InvalidSettingsError(
        `No container named ${name}.${await containersLike(engine, name)} Name a container ` +
          'that exists (docker ps -a lists them).'
      )
    }
    ids.add(details.Id)
  }
  const filters: string[] = [...selection.labels]
  if (selection.composeProject) filters.push(`${COMPOSE_LABEL.project}=${selection.composeProject}`)
  if (filters.length > 0 || selection.all) {
    const found = await engine.listContainers(filters.length ? { label: filters } : {})
    if (found.length === 0 && !selection.all) {
      throw new InvalidSettingsError(
        `No container matches ${describeSelection({ ...selection, containers: [] })}.` +
          `${await labelsLike(engine, selection)} Check the labels with docker inspect.`
      )
    }
    for (const summary of found) ids.add(summary.Id)
  }
  if (ids.size === 0 && extraVolumes.length === 0) {
    throw new InvalidSettingsError(
      'Nothing to snapshot: name containers, a compose project, labels, or all, or list volumes.'
    )
  }

  const containers: ContainerDetails[] = []
  for (const id of ids) {
    const details = await engine.inspectContainer(id)
    const labels = details.Config.Labels ?? {}
    // The tool's own never-started containers: carriers, holds and repair claims.
    if (labels[CARRIER_LABEL] || labels[HOLD_LABEL] || labels[REPAIR_LABEL]) continue
    if (
      labels[LABEL.exclude] === 'true' &&
      !selection.containers.includes(containerName(details))
    ) {
      continue
    }
    containers.push(details)
  }
  containers.sort((a, b) => containerName(a).localeCompare(containerName(b)))

  const excluded = new Set(excludeVolumes)
  const mounted = new Set<string>()
  for (const details of containers) {
    for (const mount of details.Mounts ?? []) {
      if ((mount.Type as string) === 'volume' && mount.Name) mounted.add(mount.Name)
    }
  }
  const volumes: VolumeDetails[] = []
  const excludedVolumes: VolumeDetails[] = []
  for (const name of [...new Set([...mounted, ...extraVolumes])].sort()) {
    // An excluded volume no selected container mounts is simply not taken.
    if (excluded.has(name) && !mounted.has(name)) continue
    const volume = await engine.findVolume(name)
    if (!volume) {
      const names = (await engine.listVolumes()).map(v => v.Name)
      throw new InvalidSettingsError(
        `No volume named ${name}.${didYouMean(nearMatches(name, names))} Name a volume that ` +
          'exists (docker volume ls lists them).'
      )
    }
    if (excluded.has(name)) excludedVolumes.push(volume)
    else volumes.push(volume)
  }

  const networks = new Set<string>()
  for (const details of containers) {
    for (const network of Object.keys(details.NetworkSettings?.Networks ?? {})) {
      if (!BUILTIN_NETWORKS.includes(network)) networks.add(network)
    }
  }
  return { containers, volumes, excludedVolumes, networks: [...networks].sort() }
}

/** The containers (by name) that mount volume `name`. */
export function usersOf(name: string, containers: ContainerDetails[]): string[] {
  return containers
    .filter(details => (details.Mounts ?? []).some(mount => mount.Name === name))
    .map(containerName)
}

/** Warns about running containers outside the selection that may write a volume being copied. */
async function warnAboutOtherWriters(
  engine: Engine,
  log: Logger,
  selected: ContainerDetails[],
  volumes: VolumeDetails[]
): Promise<void> {
  const ids = new Set(selected.map(details => details.Id))
  for (const volume of volumes) {
    const users = await engine.listContainers({
      volume: [volume.Name],
      status: ['running']
    })
    const writers = users
      .filter(user => !ids.has(user.Id))
      .filter(user => user.Mounts.some(mount => mount.Name === volume.Name && mount.RW))
      .map(user => (user.Names[0] ?? user.Id).replace(/^\//, ''))
    if (writers.length === 0) continue
    log.warn(
      `volume ${volume.Name} is mounted read-write by ${writers.join(', ')}, running and not ` +
        'part of this snapshot: what it writes during the copy may leave the archive torn. ' +
        'Add it to the selection, or stop it first.'
    )
  }
}

/** Resolves what the options select and says what it is, warning of writers outside it. */
export async function findTargets(
  engine: Engine,
  log: Logger,
  options: { selection: Selection; volumes: string[]; excludeVolumes: string[] }
): Promise<Targets> {
  const targets = await log.group('Finding what to snapshot', async () => {
    const found = await resolveTargets(
      engine,
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

  await warnAboutOtherWriters(engine, log, targets.containers, targets.volumes)
  return targets
}
