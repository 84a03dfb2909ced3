/** The cross-references of a manifest that its JSON schema cannot express. */
import { posix } from 'node:path'
import { BUILTIN_NETWORKS, MANIFEST_FILE, type ArchiveRecord, type Manifest } from './manifest.js'

/** Cross-references the schema cannot express; each message names the entry at fault. */
export function findInconsistencies(manifest: Manifest): string[] {
  const problems: string[] = []

  for (const field of ['createdAt', 'completedAt'] as const) {
    if (Number.isNaN(Date.parse(manifest[field]))) {
      problems.push(`${field} '${manifest[field]}' is not a valid time`)
    }
  }

  const unique = (names: string[], what: string) => reportDuplicates(names, what, problems)
  const containerNames = unique(
    manifest.containers.map(container => container.name),
    'container name'
  )
  const imageKeys = unique(
    manifest.images.map(image => image.key),
    'image key'
  )
  const volumeNames = unique(
    [...manifest.volumes, ...(manifest.excludedVolumes ?? [])].map(volume => volume.name),
    'volume name'
  )
  const networkNames = unique(
    manifest.networks.map(network => network.name),
    'network name'
  )

  const archiveOwners = new Map<string, string>()
  const claimArchive = (archive: ArchiveRecord | undefined, owner: string): void => {
    if (archive === undefined) return
    if (archive.object === MANIFEST_FILE) {
      problems.push(`${owner}: archive object '${MANIFEST_FILE}' is reserved for the manifest`)
    }
    const previous = archiveOwners.get(archive.object)
    if (previous === undefined) archiveOwners.set(archive.object, owner)
    else
      problems.push(`archive object '${archive.object}' is used by both ${previous} and ${owner}`)
  }

  manifest.volumes.forEach((volume, index) => {
    claimArchive(volume.archive, `volumes[${index}] '${volume.name}'`)
  })

  manifest.containers.forEach((container, index) => {
    const entry = `containers[${index}] '${container.name}'`
    if (!imageKeys.has(container.image)) {
      problems.push(`${entry}: image '${container.image}' is not in images`)
    }
    const destinations = new Set<string>()
    container.mounts.forEach((mount, mountIndex) => {
      const where = `${entry} mounts[${mountIndex}] (${mount.destination})`
      if (destinations.has(mount.destination)) {
        problems.push(`${where}: destination is mounted twice`)
      }
      destinations.add(mount.destination)
      if (mount.type === 'volume' && !volumeNames.has(mount.source)) {
        problems.push(`${where}: volume '${mount.source}' is not in volumes`)
      }
      if (mount.type === 'bind' && !posix.isAbsolute(mount.source)) {
        problems.push(`${where}: bind source '${mount.source}' is not an absolute path`)
      }
      if (mount.type === 'tmpfs' && mount.source !== '') {
        problems.push(`${where}: tmpfs mount has source '${mount.source}' (expected none)`)
      }
      claimArchive(mount.archive, where)
    })
    const attached = new Set<string>()
    container.endpoints.forEach((endpoint, endpointIndex) => {
      const where = `${entry} endpoints[${endpointIndex}]`
      if (attached.has(endpoint.network)) {
        problems.push(`${where}: network '${endpoint.network}' is attached twice`)
      }
      attached.add(endpoint.network)
      if (!networkNames.has(endpoint.network) && !BUILTIN_NETWORKS.includes(endpoint.network)) {
        problems.push(`${where}: network '${endpoint.network}' is not in networks`)
      }
    })
  })

  manifest.images.forEach((image, index) => {
    const entry = `images[${index}] '${image.key}'`
    if (image.role === 'commit') {
      if (image.container === undefined) {
        problems.push(`${entry}: a commit image must name its container`)
      } else if (!containerNames.has(image.container)) {
        problems.push(`${entry}: container '${image.container}' is not in containers`)
      }
    }
    if (image.location === 'store' && image.archive === undefined) {
      problems.push(`${entry}: location 'store' but no archive`)
    }
    if (image.location === 'registry' && image.digest === undefined) {
      problems.push(`${entry}: location 'registry' but no digest to pin the pull`)
    }
    claimArchive(image.archive, entry)
  })

  return problems
}

/** The set of names; each name that appears more than once is reported once. */
function reportDuplicates(names: string[], what: string, problems: string[]): Set<string> {
  const seen = new Set<string>()
  const reported = new Set<string>()
  for (const name of names) {
    if (seen.has(name) && !reported.has(name)) {
      problems.push(`duplicate ${what} '${name}'`)
      reported.add(name)
    }
    seen.add(name)
  }
  return seen
}
