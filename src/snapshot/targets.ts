import type { Engine } from '../docker/engine.js'
import type { ContainerDetails, VolumeDetails } from '../docker/types.js'
import { InvalidSettingsError, NotFoundError } from '../errors.js'
import { BUILTIN_NETWORKS } from '../manifest-schema.js'
import { LABEL, containerName } from './capture.js'

export interface Selection {
  /** Names or ids. */
  containers: string[]
  composeProject?: string
  /** `key` or `key=value`; a container must carry all of them. */
  labels: string[]
  all: boolean
}

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

async function runningNames(engine: Engine): Promise<string> {
  const running = await engine.listContainers({ status: ['running'] })
  const names = running.map(c => (c.Names[0] ?? c.Id).replace(/^\//, '')).sort()
  return names.length ? names.join(', ') : 'none'
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
      throw new NotFoundError(
        `No container named ${name}. Running containers: ${await runningNames(engine)}.`
      )
    }
    ids.add(details.Id)
  }
  const filters: string[] = [...selection.labels]
  if (selection.composeProject)
    filters.push(`com.docker.compose.project=${selection.composeProject}`)
  if (filters.length > 0 || selection.all) {
    const found = await engine.listContainers(filters.length ? { label: filters } : {})
    if (found.length === 0 && !selection.all) {
      throw new NotFoundError(
        `No container matches ${describeSelection({ ...selection, containers: [] })}. ` +
          `Running containers: ${await runningNames(engine)}.`
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
    if (labels['docker-snapshot.carrier']) continue
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
    if (!volume) throw new NotFoundError(`No volume named ${name}.`)
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
