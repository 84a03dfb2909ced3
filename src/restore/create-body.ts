/**
 * The engine create body of a restored container: the recorded body with its names mapped (volume
 * mounts, links, volumes-from, `container:` modes, networks, the compose project label), the
 * restored image, the resolved environment and the port policy applied; a throwaway copy's bind
 * mounts replaced by its own volumes.
 */
import type { ContainerCreateSpec } from '../docker/types.js'
import type { ContainerRecord, EndpointRecord } from '../manifest/manifest.js'
import { dropSharedNetworkFields } from '../manifest/manifest.js'
import { type NameMap, parseLink, parseVolumesFrom, stringArray } from './names.js'
import type { PortPolicy } from './types.js'

/** A network endpoint to connect after create (API 1.41 takes one at create). */
export interface EndpointConnection {
  /** The restored network's name. */
  network: string
  aliases: string[]
  ipv4Address?: string
  ipv6Address?: string
}

export interface ContainerCreation {
  spec: ContainerCreateSpec
  /** Endpoints beyond the first, in the snapshot's order. */
  connect: EndpointConnection[]
}

export interface CreateContext {
  names: NameMap
  /** The reference of the restored image to create from. */
  image: string
  ports: PortPolicy
  /** `Env` after resolving redacted variables (see env.ts). */
  env: string[] | undefined
  /** Every container of the snapshot by name: what VolumesFrom brings comes from their mounts. */
  containers: ReadonlyMap<string, ContainerRecord>
  /** Bind mounts to mount from these volumes instead of the host, by destination (a copy's). */
  bindReplacements?: ReadonlyMap<string, BindReplacement>
}

/** What the create body mounts at a bind mount's destination instead of the host path. */
export interface BindReplacement {
  /** Nothing when undefined: the container keeps what its image has there. */
  volume?: string
  readOnly: boolean
}

type PortBindings = Record<string, { HostIp?: string; HostPort?: string }[] | null>

/** Networks a container cannot join beside another one. */
const EXCLUSIVE_NETWORKS = new Set(['host', 'none'])

export function buildCreateSpec(
  record: ContainerRecord,
  target: string,
  context: CreateContext
): ContainerCreation {
  const { names } = context
  const { HostConfig: recordedHost, ...config } = structuredClone(record.create)
  const host: Record<string, unknown> = structuredClone(recordedHost)

  if (Array.isArray(host.Binds)) host.Binds = stringArray(host.Binds).map(b => mapBind(b, names))
  if (Array.isArray(host.Mounts)) host.Mounts = host.Mounts.map(m => mapMount(m, names))
  if (Array.isArray(host.VolumesFrom)) {
    host.VolumesFrom = stringArray(host.VolumesFrom).map(value => {
      const { container, mode } = parseVolumesFrom(value)
      const mapped = names.containerReference(container)
      return mode === undefined ? mapped : `${mapped}:${mode}`
    })
  }
  if (Array.isArray(host.Links)) {
    host.Links = stringArray(host.Links).map(link => {
      const { container, alias } = parseLink(link)
      return `${names.containerReference(container)}:${alias}`
    })
  }
  for (const field of ['PidMode', 'IpcMode'] as const) {
    const mode = host[field]
    if (typeof mode === 'string') host[field] = names.mode(mode)
  }
  applyPortPolicy(host, context.ports)
  if (context.bindReplacements !== undefined) replaceBindMounts(host, context.bindReplacements)
  addUncoveredVolumeMounts(record, host, context)

  const { networkMode, first, rest } = networkAttachment(record, names)
  if (networkMode !== undefined) host.NetworkMode = networkMode
  // Snapshots taken before capture left these out recorded what the other container owns.
  if (networkMode?.startsWith('container:')) {
    dropSharedNetworkFields(config)
  }

  const spec: ContainerCreateSpec = {
    ...config,
    name: target,
    Image: context.image,
    HostConfig: host
  }
  if (context.env === undefined) delete spec.Env
  else spec.Env = context.env
  const labels = names.labels(config.Labels)
  if (labels !== undefined) spec.Labels = labels
  if (first !== undefined) {
    spec.NetworkingConfig = { EndpointsConfig: { [first.network]: endpointConfig(first) } }
  }
  return { spec, connect: rest }
}

/** `source:destination[:options]`: a volume source is mapped, a host path is kept. */
export function mapBind(bind: string, names: NameMap): string {
  const colon = bind.indexOf(':')
  if (colon <= 0) return bind
  const source = bind.slice(0, colon)
  if (source.startsWith('/')) return bind
  return `${names.volumeReference(source)}${bind.slice(colon)}`
}

function mapMount(mount: unknown, names: NameMap): unknown {
  if (mount === null || typeof mount !== 'object') return mount
  const entry = mount as Record<string, unknown>
  if (entry.Type !== 'volume' || typeof entry.Source !== 'string') return mount
  return { ...entry, Source: names.volumeReference(entry.Source) }
}

/** Drops the host path of each replaced bind mount and mounts its volume, if any, there instead. */
function replaceBindMounts(
  host: Record<string, unknown>,
  replacements: ReadonlyMap<string, BindReplacement>
): void {
  if (replacements.size === 0) return
  const replaced = new Set([...replacements.keys()].map(normalizePath))
  if (Array.isArray(host.Binds)) {
    host.Binds = stringArray(host.Binds).filter(bind => {
      const [source, destination] = bind.split(':')
      return !(source?.startsWith('/') && replaced.has(normalizePath(destination ?? '')))
    })
  }
  const mounts = (Array.isArray(host.Mounts) ? (host.Mounts as unknown[]) : []).filter(mount => {
    const { Type, Target } = (mount ?? {}) as { Type?: unknown; Target?: unknown }
    return !(Type === 'bind' && typeof Target === 'string' && replaced.has(normalizePath(Target)))
  })
  for (const [destination, { volume, readOnly }] of replacements) {
    if (volume === undefined) continue
    mounts.push({ Type: 'volume', Source: volume, Target: destination, ReadOnly: readOnly })
  }
  host.Mounts = mounts
}

/**
 * `keep` leaves PortBindings; `ephemeral` keeps each binding's container port and address but
 * lets the engine choose the host port; `none` publishes nothing.
 */
export function applyPortPolicy(host: Record<string, unknown>, policy: PortPolicy): void {
  if (policy === 'keep') return
  if (policy === 'none') {
    delete host.PortBindings
    host.PublishAllPorts = false
    return
  }
  const bindings = host.PortBindings as PortBindings | undefined | null
  if (bindings === undefined || bindings === null) return
  const ephemeral: PortBindings = {}
  for (const [port, list] of Object.entries(bindings)) {
    ephemeral[port] = (list ?? []).map(binding => ({ ...binding, HostPort: '' }))
  }
  host.PortBindings = ephemeral
}

/**
 * The snapshot records every volume mount, including anonymous ones an image's VOLUME made, which
 * the create body does not name: mount the restored volume where the body does not already.
 */
function addUncoveredVolumeMounts(
  record: ContainerRecord,
  host: Record<string, unknown>,
  context: CreateContext
): void {
  const covered = new Set<string>()
  for (const bind of stringArray(host.Binds)) {
    const destination = bind.split(':')[1]
    if (destination) covered.add(normalizePath(destination))
  }
  for (const mount of Array.isArray(host.Mounts) ? (host.Mounts as unknown[]) : []) {
    const target = (mount as { Target?: unknown } | null)?.Target
    if (typeof target === 'string') covered.add(normalizePath(target))
  }
  for (const value of stringArray(record.create.HostConfig.VolumesFrom)) {
    const source = context.names.snapshotContainer(parseVolumesFrom(value).container)
    const from = source === undefined ? undefined : context.containers.get(source)
    for (const mount of from?.mounts ?? []) covered.add(normalizePath(mount.destination))
  }
  const added: Record<string, unknown>[] = []
  for (const mount of record.mounts) {
    if (mount.type !== 'volume' || covered.has(normalizePath(mount.destination))) continue
    added.push({
      Type: 'volume',
      Source: context.names.volume(mount.source),
      Target: mount.destination,
      ReadOnly: mount.readOnly
    })
  }
  if (added.length > 0) {
    host.Mounts = [...(Array.isArray(host.Mounts) ? (host.Mounts as unknown[]) : []), ...added]
  }
}

export function normalizePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path
}

/**
 * The network mode to create with, the endpoint to give at create (the one the mode names, else
 * the first recorded) and the others to connect after. A `container:`, `host` or `none` mode
 * takes no endpoints.
 */
export function networkAttachment(
  record: Pick<ContainerRecord, 'create' | 'endpoints'>,
  names: NameMap
): { networkMode?: string; first?: EndpointConnection; rest: EndpointConnection[] } {
  const mode = record.create.HostConfig.NetworkMode
  const recordedMode = typeof mode === 'string' ? mode : undefined
  if (recordedMode?.startsWith('container:')) {
    return { networkMode: names.mode(recordedMode), rest: [] }
  }
  if (recordedMode !== undefined && EXCLUSIVE_NETWORKS.has(recordedMode)) {
    return { networkMode: recordedMode, rest: [] }
  }
  const endpoints = record.endpoints.filter(e => !EXCLUSIVE_NETWORKS.has(e.network))
  const defaultMode =
    recordedMode === undefined || recordedMode === '' || recordedMode === 'default'
  let firstIndex = endpoints.findIndex(
    e => e.network === recordedMode || (defaultMode && e.network === 'bridge')
  )
  if (firstIndex < 0) firstIndex = 0
  const first = endpoints[firstIndex]
  if (first === undefined) {
    return {
      networkMode: recordedMode === undefined ? undefined : names.networkReference(recordedMode),
      rest: []
    }
  }
  const connections = endpoints.map(e => connection(e, names))
  const networkMode =
    first.network === 'bridge' && defaultMode ? recordedMode : names.network(first.network)
  return {
    networkMode,
    first: connections[firstIndex],
    rest: connections.filter((_, index) => index !== firstIndex)
  }
}

function connection(endpoint: EndpointRecord, names: NameMap): EndpointConnection {
  const result: EndpointConnection = {
    network: names.network(endpoint.network),
    // The default bridge refuses network-scoped aliases.
    aliases: endpoint.network === 'bridge' ? [] : [...endpoint.aliases]
  }
  if (endpoint.ipv4Address !== undefined) result.ipv4Address = endpoint.ipv4Address
  if (endpoint.ipv6Address !== undefined) result.ipv6Address = endpoint.ipv6Address
  return result
}

function endpointConfig(endpoint: EndpointConnection): Record<string, unknown> {
  const config: Record<string, unknown> = {}
  if (endpoint.aliases.length > 0) config.Aliases = endpoint.aliases
  if (endpoint.ipv4Address !== undefined || endpoint.ipv6Address !== undefined) {
    config.IPAMConfig = { IPv4Address: endpoint.ipv4Address, IPv6Address: endpoint.ipv6Address }
  }
  return config
}
