import type { ContainerDetails, NetworkDetails } from '../docker/types.js'
import type {
  Consistency,
  ContainerCreateBody,
  ContainerRecord,
  EndpointRecord,
  MountRecord,
  NetworkRecord
} from '../manifest/manifest.js'
import { dropSharedNetworkFields } from '../manifest/manifest.js'
import { dependencyOrder } from '../shared/dependency-order.js'
import { InvalidSettingsError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'

/** A container as found, and its record (the image key is filled in once images are stored). */
export interface CapturedContainer {
  details: ContainerDetails
  record: Omit<ContainerRecord, 'image'>
}

/** Labels a user sets on a container to steer its snapshot. */
export const LABEL = {
  consistency: 'docker-snapshot.consistency',
  preExec: 'docker-snapshot.pre-exec',
  postExec: 'docker-snapshot.post-exec',
  hookTimeout: 'docker-snapshot.hook-timeout',
  onHookFailure: 'docker-snapshot.on-hook-failure',
  commit: 'docker-snapshot.commit',
  dependsOn: 'docker-snapshot.depends-on',
  exclude: 'docker-snapshot.exclude'
} as const

/** Marks a secret anywhere in a variable's name (`PGPASSWORD`, `AWS_SECRET_ACCESS_KEY`). */
const SECRET_ANYWHERE =
  /PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_?KEY|ACCESS_?KEY|API_?KEY|TOKENS?(_|$)/
/** Words (split at `_`) that mark it only as whole words: `DB_PWD`, not `PASSENGER_APP_ENV`. */
const SECRET_WORDS = new Set(['PASS', 'PWD'])
/** Words that mark it as the last word only: `REDIS_AUTH`, not `POSTGRES_HOST_AUTH_METHOD`. */
const SECRET_LAST_WORDS = new Set(['KEY', 'AUTH', 'DSN'])
/** A URL that carries a password: `scheme://user:password@host`. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i

/** Whether a variable's value must be kept out of manifests, by its name. */
export function isSecretName(name: string): boolean {
  // The shell's working directory, not a password.
  if (name === 'PWD') return false
  const upper = name.toUpperCase()
  const words = upper.split('_').filter(Boolean)
  return (
    SECRET_ANYWHERE.test(upper) ||
    words.some(word => SECRET_WORDS.has(word)) ||
    SECRET_LAST_WORDS.has(words.at(-1) ?? '')
  )
}

/** Splits `Env` into what may be written down and the names of what may not. */
export function redactEnv(env: string[]): { env: string[]; redacted: string[] } {
  const kept: string[] = []
  const redacted: string[] = []
  for (const entry of env) {
    const eq = entry.indexOf('=')
    const name = eq < 0 ? entry : entry.slice(0, eq)
    if (isSecretName(name) || URL_WITH_PASSWORD.test(entry.slice(eq + 1))) redacted.push(name)
    else kept.push(entry)
  }
  return { env: kept, redacted }
}

export function containerName(details: { Name: string }): string {
  return details.Name.replace(/^\//, '')
}

/** The consistency a container gets: its label when valid, else the snapshot's. */
export function consistencyFor(labels: Record<string, string>, fallback: Consistency): Consistency {
  const wanted = labels[LABEL.consistency]
  if (wanted === 'none' || wanted === 'pause' || wanted === 'stop') return wanted
  return fallback
}

const CONFIG_FIELDS = [
  'Hostname',
  'Domainname',
  'User',
  'WorkingDir',
  'Entrypoint',
  'Cmd',
  'Labels',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'StdinOnce',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'StopSignal',
  'StopTimeout',
  'Healthcheck',
  'Volumes'
] as const

function mountRecords(details: ContainerDetails): MountRecord[] {
  return (details.Mounts ?? []).flatMap((mount): MountRecord[] => {
    const type = mount.Type as string
    if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') return []
    return [
      {
        type,
        source: type === 'volume' ? (mount.Name ?? '') : type === 'bind' ? mount.Source : '',
        destination: mount.Destination,
        readOnly: !mount.RW
      }
    ]
  })
}

function endpointRecords(details: ContainerDetails): EndpointRecord[] {
  const shortId = details.Id.slice(0, 12)
  const networks = details.NetworkSettings?.Networks ?? {}
  return Object.entries(networks).map(([network, endpoint]) => {
    const ipam = endpoint.IPAMConfig as { IPv4Address?: string; IPv6Address?: string } | null
    const record: EndpointRecord = {
      network,
      // The engine adds the container's short id as an alias; it changes with every container.
      aliases: ((endpoint.Aliases as string[] | null) ?? []).filter(
        alias => alias !== shortId && alias !== details.Id
      )
    }
    if (ipam?.IPv4Address) record.ipv4Address = ipam.IPv4Address
    if (ipam?.IPv6Address) record.ipv6Address = ipam.IPv6Address
    return record
  })
}

/** The containers this one needs started first, by name, from links and shared namespaces. */
export function dependenciesOf(details: ContainerDetails, byId: Map<string, string>): string[] {
  const names = new Set<string>()
  const host = details.HostConfig as Record<string, unknown>
  for (const link of (host.Links as string[] | null) ?? []) {
    // "/db:/web/db": the first part names the linked container.
    names.add(link.split(':')[0].replace(/^\//, ''))
  }
  for (const from of (host.VolumesFrom as string[] | null) ?? []) names.add(from.split(':')[0])
  for (const mode of [host.NetworkMode, host.PidMode, host.IpcMode]) {
    if (typeof mode === 'string' && mode.startsWith('container:')) {
      names.add(mode.slice('container:'.length))
    }
  }
  const labels = details.Config.Labels ?? {}
  for (const name of (labels[LABEL.dependsOn] ?? '').split(',')) {
    if (name.trim()) names.add(name.trim())
  }
  return [...new Set([...names].map(name => byId.get(name) ?? name))].sort()
}

/** The create body that brings the container back, minus runtime state and secrets. */
function createBody(details: ContainerDetails, mounts: MountRecord[], env: string[]) {
  const config = details.Config as unknown as Record<string, unknown>
  const body: ContainerCreateBody = { HostConfig: { ...details.HostConfig } }
  for (const field of CONFIG_FIELDS) {
    if (config[field] !== undefined && config[field] !== null) {
      ;(body as unknown as Record<string, unknown>)[field] = config[field]
    }
  }
  body.Env = env
  // The engine's default hostname is the id prefix: a new container must get its own.
  if (body.Hostname === details.Id.slice(0, 12)) delete body.Hostname
  const networkMode = body.HostConfig.NetworkMode
  if (typeof networkMode === 'string' && networkMode.startsWith('container:')) {
    dropSharedNetworkFields(body)
  }
  // Volumes the image declared and the engine named (anonymous) must be mounted explicitly, or
  // the engine would make new empty ones.
  const host = body.HostConfig
  const binds = ((host.Binds as string[] | null) ?? []).map(bind => bind.split(':')[1])
  const explicit = ((host.Mounts as { Target: string }[] | null) ?? []).map(m => m.Target)
  const missing = mounts.filter(
    m => m.type === 'volume' && !binds.includes(m.destination) && !explicit.includes(m.destination)
  )
  if (missing.length > 0) {
    host.Mounts = [
      ...((host.Mounts as unknown[] | null) ?? []),
      ...missing.map(m => ({
        Type: 'volume',
        Source: m.source,
        Target: m.destination,
        ReadOnly: m.readOnly
      }))
    ]
  }
  return body
}

/**
 * Everything needed to recreate the container, except which image to create it from (`image`
 * is filled by the caller once the image is committed or resolved).
 */
export function captureContainer(
  details: ContainerDetails,
  consistency: Consistency,
  byId: Map<string, string>
): Omit<ContainerRecord, 'image'> {
  const mounts = mountRecords(details)
  const { env, redacted } = redactEnv(details.Config.Env ?? [])
  return {
    name: containerName(details),
    id: details.Id,
    sourceImage: details.Config.Image,
    consistency,
    running: details.State.Running,
    dependsOn: dependenciesOf(details, byId),
    mounts,
    endpoints: endpointRecords(details),
    redactedEnv: redacted,
    create: createBody(details, mounts, env)
  }
}

export function captureNetwork(details: NetworkDetails): NetworkRecord {
  const ipam = details.IPAM ?? { Driver: 'default', Config: [] }
  return {
    name: details.Name,
    driver: details.Driver,
    internal: details.Internal ?? false,
    attachable: details.Attachable ?? false,
    enableIPv6: details.EnableIPv6 ?? false,
    labels: details.Labels ?? {},
    options: details.Options ?? {},
    ipam: {
      driver: ipam.Driver || 'default',
      config: (ipam.Config ?? []).map(entry => {
        const config: { subnet?: string; ipRange?: string; gateway?: string } = {}
        if (entry.Subnet) config.subnet = entry.Subnet
        if (entry.IPRange) config.ipRange = entry.IPRange
        if (entry.Gateway) config.gateway = entry.Gateway
        return config
      }),
      options: (ipam.Options as Record<string, string> | null) ?? {}
    }
  }
}

/** The containers' records, dependencies first. */
export function recordsInOrder(
  containers: ContainerDetails[],
  defaultConsistency: Consistency,
  log: Logger
): CapturedContainer[] {
  const byId = new Map<string, string>()
  for (const details of containers) {
    byId.set(details.Id, containerName(details))
    byId.set(details.Id.slice(0, 12), containerName(details))
  }
  const records = containers.map(details => {
    let consistency = consistencyFor(details.Config.Labels ?? {}, defaultConsistency)
    if (details.State.Paused && consistency !== 'none') {
      // Not paused by us, nor by another run (we hold it): we cannot say when it resumes.
      log.warn(
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
