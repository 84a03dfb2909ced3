/**
 * An in-memory Docker engine for unit tests of the code above src/docker/engine.ts. It keeps
 * containers, volumes (their contents as tars), networks, images and a registry, and refuses what
 * the real engine refuses, with the typed errors `EngineCalls.translate` makes of the engine's answers
 * (NotFoundError for a 404, EngineError for the rest).
 *
 * Every call is logged in `events` as `<method> <subject>[ <detail>]`; `failOn` makes calls
 * reject and `before` runs a hook (abort a signal, change state) as a call begins.
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import tar from 'tar-stream'
import type { Engine, PathKind } from '../../../src/docker/engine.js'
import { CARRIER_IMAGE } from '../../../src/docker/engine.js'
import type {
  ContainerCreateSpec,
  ContainerDetails,
  ContainerSummary,
  EngineInfo,
  ImageDetails,
  NetworkCreateSpec,
  NetworkDetails,
  RegistryAuth,
  VolumeCreateSpec,
  VolumeDetails
} from '../../../src/docker/types.js'
import { EngineError, HealthError, NotFoundError } from '../../../src/shared/errors.js'
import { CallLog, type Call, type CallMatch, type FaultOptions } from './faults.js'

/** The Engine methods the orchestration code calls; the fake implements each of them. */
type EngineMethods = Pick<
  Engine,
  | 'info'
  | 'listContainers'
  | 'inspectContainer'
  | 'findContainer'
  | 'pauseContainer'
  | 'unpauseContainer'
  | 'stopContainer'
  | 'startContainer'
  | 'removeContainer'
  | 'createContainer'
  | 'exec'
  | 'commitContainer'
  | 'waitHealthy'
  | 'findImage'
  | 'tagImage'
  | 'removeImage'
  | 'pushImage'
  | 'pullImage'
  | 'saveImages'
  | 'loadImages'
  | 'inspectVolume'
  | 'findVolume'
  | 'listVolumes'
  | 'createVolume'
  | 'removeVolume'
  | 'removeCarriers'
  | 'carrierOwners'
  | 'createLock'
  | 'markLock'
  | 'lockHasMark'
  | 'readVolume'
  | 'writeVolume'
  | 'readContainerPath'
  | 'pathKinds'
  | 'findNetwork'
  | 'createNetwork'
  | 'connectNetwork'
  | 'removeNetwork'
  | 'renameContainer'
  | 'copyVolume'
  | 'markVolume'
  | 'emptyVolume'
>

/** A file or directory of a volume or bind mount, as a test writes it down. */
export interface FakeEntry {
  /** Relative to the volume root, e.g. `data/a.txt`. */
  name: string
  type?: 'file' | 'directory'
  content?: string
  mode?: number
}

export type FakeState = 'running' | 'paused' | 'exited' | 'created'
export type FakeHealth = 'healthy' | 'unhealthy' | 'starting'

export interface FakeContainerOptions {
  name: string
  /** Defaults to a stable hash of the name. */
  id?: string
  /** Added to the engine when it has no such image. */
  image?: string
  state?: FakeState
  labels?: Record<string, string>
  env?: string[]
  cmd?: string[]
  /** Named volumes mounted; each is created (empty) when missing. */
  volumes?: { name: string; destination: string; readOnly?: boolean }[]
  binds?: { source: string; destination: string; readOnly?: boolean }[]
  /** User-defined networks (created when missing); `bridge` when none. */
  networks?: string[]
  /** Health status while running; none means no healthcheck. */
  health?: FakeHealth
  /** Extra HostConfig fields (Links, NetworkMode `container:x`, …). */
  hostConfig?: Record<string, unknown>
}

export interface ExecResult {
  exitCode: number
  output: string
}

interface FakeVolume {
  details: VolumeDetails
  /** The contents: entries, or the engine's archive of them (`./` first). */
  contents: FakeEntry[] | Buffer
}

interface ExecAnswer {
  container: string | RegExp
  command?: string | RegExp
  answer: (container: ContainerDetails, cmd: string[]) => ExecResult
}

const CARRIER_LABEL = 'docker-snapshot.carrier'
const BUILTIN_NETWORKS = ['bridge', 'host', 'none']
/** A fixed time, so that archives of the same entries are the same bytes. */
const EPOCH = new Date('2026-01-01T00:00:00Z')

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function nameOf(details: { Name: string }): string {
  return details.Name.replace(/^\//, '')
}

function matchesName(match: string | RegExp, name: string, id: string): boolean {
  return typeof match === 'string' ? match === name || match === id : match.test(name)
}

/** A tar of `entries` below a `./` root, as the engine archives a volume. */
export async function tarOf(entries: FakeEntry[], root = { mode: 0o755 }): Promise<Buffer> {
  const pack = tar.pack()
  const collected = buffer(pack)
  const add = (header: Pick<tar.Header, 'name' | 'type' | 'mode'>, content?: string) =>
    new Promise<void>((resolve, reject) => {
      pack.entry({ ...header, uid: 0, gid: 0, mtime: EPOCH }, content ?? '', error =>
        error ? reject(error) : resolve()
      )
    })
  await add({ name: './', type: 'directory', mode: root.mode })
  for (const entry of entries) {
    const type = entry.type ?? 'file'
    await add(
      {
        name: `./${entry.name}${type === 'directory' ? '/' : ''}`,
        type,
        mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644)
      },
      type === 'file' ? (entry.content ?? '') : undefined
    )
  }
  pack.finalize()
  return collected
}

/** The files of a tar, by name without the `./`, with their contents. */
export async function filesOf(archive: Buffer): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  const extract = tar.extract()
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      buffer(stream).then(content => {
        if (header.type === 'file') files.set(header.name.replace(/^\.\//, ''), content.toString())
        next()
      }, reject)
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  extract.end(archive)
  await done
  return files
}

function archiveOf(volume: FakeVolume): Promise<Buffer> {
  const { contents } = volume
  return Buffer.isBuffer(contents) ? Promise.resolve(contents) : tarOf(contents)
}

/** Passes `bytes` bytes of `source`, then fails with `error`. */
function breakAfter(source: Readable, bytes: number, error: Error): Readable {
  async function* cut(): AsyncGenerator<Buffer> {
    let passed = 0
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const room = bytes - passed
      if (chunk.length < room) {
        passed += chunk.length
        yield chunk
        continue
      }
      if (room > 0) yield chunk.subarray(0, room)
      break
    }
    source.destroy()
    throw error
  }
  return Readable.from(cut(), { objectMode: false })
}

/** Reads `source` to its end, or up to `limit` bytes when a fault says to fail there. */
async function drain(source: Readable, limit?: { bytes: number; error: Error }): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const piece = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    total += piece.length
    chunks.push(piece)
    if (limit && total >= limit.bytes) {
      source.destroy()
      throw limit.error
    }
  }
  if (limit) throw limit.error
  return Buffer.concat(chunks)
}

export class FakeEngine implements EngineMethods {
  private readonly log = new CallLog()
  /** The timeout of every exec, in call order (hooks take theirs from settings and labels). */
  readonly execTimeouts: number[] = []
  private readonly containers = new Map<string, ContainerDetails>()
  private readonly volumeMap = new Map<string, FakeVolume>()
  private readonly networkMap = new Map<string, NetworkDetails>()
  private readonly imageMap = new Map<string, ImageDetails>()
  /** What the registry holds: `repo@digest` and `repo:tag` → the pushed image. */
  private readonly registry = new Map<string, ImageDetails>()
  /** Host paths bind-mounted into containers, as tars. */
  private readonly hostPaths = new Map<string, Buffer>()
  /** Paths that are files in an image's file system, by image reference. */
  private readonly imageFiles = new Map<string, Set<string>>()
  /** The marks written into lock containers (holds), by container id. */
  private readonly lockMarks = new Map<string, Set<string>>()
  private readonly answers: ExecAnswer[] = []
  private readonly healthRules: { match: string | RegExp; health: FakeHealth }[] = []
  private counter = 0

  constructor() {
    for (const name of BUILTIN_NETWORKS)
      this.addNetwork(name, { driver: name === 'none' ? 'null' : name })
  }

  /**
   * This fake as the code under test takes it. The one cast: Engine has private members (the
   * dockerode client) that a structural fake cannot have; `EngineMethods` checks the rest.
   */
  get engine(): Engine {
    return this as unknown as Engine
  }

  /** Every call in order, e.g. `pauseContainer web`, `readVolume pgdata`. */
  get events(): string[] {
    return this.log.events
  }

  // ---- test controls ----

  /**
   * Makes `call` (a method name, e.g. `commitContainer`) reject with `error` (default: an
   * EngineError as the engine's refusal would be translated) when `match` fits it (see
   * CallMatch), on every such call or as `options` say (`nth`, `times`; `afterBytes` for
   * `readVolume`, `saveImages`, `writeVolume` and `loadImages`: the stream breaks after so many
   * bytes).
   */
  failOn(
    call: keyof EngineMethods,
    match?: CallMatch,
    error?: Error,
    options: FaultOptions = {}
  ): this {
    this.log.fail(call, match, error, options)
    return this
  }

  /** Runs `fn` as `call` begins (before any fault fires), e.g. to abort a signal mid-run. */
  before(
    call: keyof EngineMethods,
    fn: (call: Call) => void | Promise<void>,
    match?: CallMatch
  ): this {
    this.log.before(call, fn, match)
    return this
  }

  /**
   * What `exec` answers in containers whose name fits `container` (a string also matches the
   * id) for commands fitting `command` (compared with, or tested against, the words joined by
   * spaces). The newest matching answer wins; without one, exec exits 0 with no output.
   */
  answerExec(
    container: string | RegExp,
    command: string | RegExp | undefined,
    answer: ExecResult | ((container: ContainerDetails, cmd: string[]) => ExecResult)
  ): this {
    this.answers.unshift({
      container,
      command,
      answer: typeof answer === 'function' ? answer : () => answer
    })
    return this
  }

  /** Containers whose name fits `match` report this health once started (created ones too). */
  healthOf(match: string | RegExp, health: FakeHealth): this {
    this.healthRules.unshift({ match, health })
    for (const details of this.containers.values()) {
      if (details.State.Running && matchesName(match, nameOf(details), details.Id)) {
        this.setHealth(details, health)
      }
    }
    return this
  }

  addContainer(options: FakeContainerOptions): ContainerDetails {
    const image = options.image ?? 'docker-snapshot-test/busybox:1'
    if (!this.lookupImage(image)) this.addImage(image)
    for (const network of options.networks ?? []) {
      if (!this.networkMap.has(network)) this.addNetwork(network)
    }
    for (const volume of options.volumes ?? []) {
      if (!this.volumeMap.has(volume.name)) this.newVolume(volume.name, 'local', {})
    }
    const spec: ContainerCreateSpec = {
      name: options.name,
      Image: image,
      Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: options.cmd ?? ['sleep', '3600'],
      Labels: options.labels ?? {},
      ...(options.health && { Healthcheck: { Test: ['CMD-SHELL', 'true'] } }),
      HostConfig: {
        NetworkMode: options.networks?.[0] ?? 'bridge',
        Binds: (options.binds ?? []).map(
          b => `${b.source}:${b.destination}${b.readOnly ? ':ro' : ''}`
        ),
        Mounts: (options.volumes ?? []).map(v => ({
          Type: 'volume',
          Source: v.name,
          Target: v.destination,
          ReadOnly: v.readOnly ?? false
        })),
        ...options.hostConfig
      }
    }
    const details = this.build(spec, options.id)
    for (const network of (options.networks ?? []).slice(1)) {
      details.NetworkSettings.Networks[network] = this.endpoint(network, details.Id, [])
    }
    if (options.health) this.healthRules.push({ match: options.name, health: options.health })
    const state = options.state ?? 'running'
    if (state !== 'created') this.setState(details, 'running')
    if (state === 'paused' || state === 'exited') this.setState(details, state)
    return details
  }

  /** Adds a volume holding `contents` (entries, or a tar that starts with `./`). */
  addVolume(
    name: string,
    contents: FakeEntry[] | Buffer = [],
    options: { labels?: Record<string, string>; driver?: string } = {}
  ): VolumeDetails {
    const volume = this.newVolume(name, options.driver ?? 'local', options.labels ?? {})
    volume.contents = contents
    return volume.details
  }

  addNetwork(
    name: string,
    options: { driver?: string; subnet?: string; labels?: Record<string, string> } = {}
  ) {
    const details: NetworkDetails = {
      Name: name,
      Id: hash(`network:${name}`),
      Created: EPOCH.toISOString(),
      Scope: 'local',
      Driver: options.driver ?? 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Config: options.subnet ? [{ Subnet: options.subnet }] : [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigOnly: false,
      Options: {},
      Labels: options.labels ?? {}
    }
    this.networkMap.set(name, details)
    return details
  }

  /** Adds an image tagged `reference` (and pinned by `digest` when given). */
  addImage(reference: string, options: { id?: string; env?: string[]; digest?: string } = {}) {
    const details = this.newImage(
      options.id ?? `sha256:${hash(`image:${reference}`)}`,
      options.env ?? []
    )
    this.tag(details, reference)
    if (options.digest) details.RepoDigests.push(`${repositoryOf(reference)}@${options.digest}`)
    return details
  }

  /** Makes `path` a file in the file system of the image tagged `reference` (see pathKinds). */
  addImageFile(reference: string, path: string): this {
    this.imageFiles.set(reference, (this.imageFiles.get(reference) ?? new Set()).add(path))
    return this
  }

  /** The contents of a host path that containers bind-mount. */
  async setHostPath(path: string, entries: FakeEntry[]): Promise<void> {
    this.hostPaths.set(path, await tarOf(entries))
  }

  /** A container's details as the engine would give them now; throws when there is none. */
  container(nameOrId: string): ContainerDetails {
    const details = this.lookupContainer(nameOrId)
    if (!details) throw new Error(`the fake engine has no container ${nameOrId}`)
    return details
  }

  /** Names of the containers, volumes, networks (built-in ones left out) and image tags. */
  get names() {
    return {
      containers: [...this.containers.values()].map(nameOf).sort(),
      volumes: [...this.volumeMap.keys()].sort(),
      networks: [...this.networkMap.keys()].filter(n => !BUILTIN_NETWORKS.includes(n)).sort(),
      images: [...this.imageMap.values()].flatMap(i => i.RepoTags).sort()
    }
  }

  /** `running`, `paused`, `exited` or `created`, by container name. */
  states(): Record<string, string> {
    return Object.fromEntries([...this.containers.values()].map(d => [nameOf(d), d.State.Status]))
  }

  /** The files of a volume, by path, with their contents. */
  async volumeFiles(name: string): Promise<Map<string, string>> {
    const volume = this.volumeMap.get(name)
    if (!volume) throw new Error(`the fake engine has no volume ${name}`)
    return filesOf(await archiveOf(volume))
  }

  /** The images the registry holds, by `repo:tag` and `repo@digest`. */
  get registryReferences(): string[] {
    return [...this.registry.keys()].sort()
  }

  // ---- Engine ----

  async info(): Promise<EngineInfo> {
    await this.begin('info', 'engine', 'read engine version')
    return { version: '20.10.24', apiVersion: '1.41', os: 'linux', arch: 'amd64' }
  }

  async listContainers(filters: Record<string, string[]> = {}): Promise<ContainerSummary[]> {
    await this.begin('listContainers', 'containers', 'list containers', JSON.stringify(filters))
    return [...this.containers.values()]
      .filter(details => {
        const labels = details.Config.Labels
        const labelOk = (filters.label ?? []).every(filter => {
          const eq = filter.indexOf('=')
          return eq < 0 ? filter in labels : labels[filter.slice(0, eq)] === filter.slice(eq + 1)
        })
        const statusOk = !filters.status || filters.status.includes(details.State.Status)
        const nameOk = !filters.name || filters.name.some(n => nameOf(details).includes(n))
        const volumeOk =
          !filters.volume ||
          details.Mounts.some(m => m.Type === 'volume' && filters.volume!.includes(m.Name ?? ''))
        const networkOk =
          !filters.network ||
          Object.keys(details.NetworkSettings.Networks).some(n => filters.network!.includes(n))
        return labelOk && statusOk && nameOk && volumeOk && networkOk
      })
      .map(details => this.summary(details))
  }

  async inspectContainer(nameOrId: string): Promise<ContainerDetails> {
    const what = `inspect container ${nameOrId}`
    await this.begin('inspectContainer', this.subject(nameOrId), what)
    return structuredClone(this.existing(nameOrId, what))
  }

  async findContainer(nameOrId: string): Promise<ContainerDetails | undefined> {
    await this.begin('findContainer', this.subject(nameOrId), `inspect container ${nameOrId}`)
    const details = this.lookupContainer(nameOrId)
    return details && structuredClone(details)
  }

  async pauseContainer(id: string): Promise<void> {
    const what = `pause container ${id}`
    await this.begin('pauseContainer', this.subject(id), what)
    const details = this.existing(id, what)
    if (!details.State.Running) throw this.refused(what, `Container ${details.Id} is not running`)
    if (details.State.Paused) throw this.refused(what, `Container ${details.Id} is already paused`)
    this.setState(details, 'paused')
  }

  async unpauseContainer(id: string): Promise<void> {
    const what = `unpause container ${id}`
    await this.begin('unpauseContainer', this.subject(id), what)
    const details = this.existing(id, what)
    if (!details.State.Paused) throw this.refused(what, `Container ${details.Id} is not paused`)
    this.setState(details, 'running')
  }

  async stopContainer(id: string): Promise<void> {
    const what = `stop container ${id}`
    await this.begin('stopContainer', this.subject(id), what)
    const details = this.existing(id, what)
    // Stopping a stopped container is the engine's 304, which Engine takes as success.
    if (details.State.Running) this.setState(details, 'exited')
  }

  async startContainer(id: string): Promise<void> {
    const what = `start container ${id}`
    await this.begin('startContainer', this.subject(id), what)
    const details = this.existing(id, what)
    if (details.State.Paused) {
      throw this.refused(what, 'cannot start a paused container, try unpause instead')
    }
    if (!details.State.Running) this.setState(details, 'running')
  }

  async removeContainer(
    id: string,
    options: { force?: boolean; volumes?: boolean } = {}
  ): Promise<void> {
    const what = `remove container ${id}`
    await this.begin('removeContainer', this.subject(id), what)
    const details = this.existing(id, what)
    if (details.State.Running && !options.force) {
      throw this.refused(
        what,
        `You cannot remove a running container ${details.Id}. Stop the container before ` +
          'attempting removal or force remove'
      )
    }
    this.containers.delete(details.Id)
    if (options.volumes) {
      // Only anonymous volumes go with their container.
      for (const mount of details.Mounts) {
        if (mount.Name && /^[0-9a-f]{64}$/.test(mount.Name)) this.volumeMap.delete(mount.Name)
      }
    }
  }

  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    const what = `create container ${spec.name}`
    await this.begin('createContainer', spec.name, what)
    const existing = this.lookupContainer(spec.name)
    if (existing) {
      throw this.refused(
        what,
        `Conflict. The container name "/${spec.name}" is already in use by container ` +
          `"${existing.Id}". You have to remove (or rename) that container to be able to reuse that name.`
      )
    }
    if (!this.lookupImage(spec.Image)) throw this.notFound(what, `No such image: ${spec.Image}`)
    const host = (spec.HostConfig ?? {}) as Record<string, unknown>
    const mode = host.NetworkMode
    if (typeof mode === 'string' && mode.startsWith('container:')) {
      const other = mode.slice('container:'.length)
      if (!this.lookupContainer(other)) throw this.notFound(what, `No such container: ${other}`)
    }
    for (const network of this.requestedNetworks(spec)) {
      if (!this.networkMap.has(network)) throw this.notFound(what, `network ${network} not found`)
    }
    return this.build(spec).Id
  }

  async exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const what = `exec ${JSON.stringify(cmd)} in ${id}`
    await this.begin('exec', this.subject(id), what, cmd.join(' '))
    this.execTimeouts.push(timeoutMs)
    const details = this.existing(id, what)
    if (details.State.Paused) {
      throw this.refused(
        what,
        `Container ${details.Id} is paused, unpause the container before exec`
      )
    }
    if (!details.State.Running) throw this.refused(what, `Container ${details.Id} is not running`)
    const line = cmd.join(' ')
    const answer = this.answers.find(
      a =>
        matchesName(a.container, nameOf(details), details.Id) &&
        (a.command === undefined ||
          (typeof a.command === 'string' ? a.command === line : a.command.test(line)))
    )
    return answer ? answer.answer(structuredClone(details), cmd) : { exitCode: 0, output: '' }
  }

  async commitContainer(
    id: string,
    options: { repo: string; tag: string; pause: boolean; comment: string }
  ): Promise<string> {
    const what = `commit container ${id}`
    await this.begin('commitContainer', this.subject(id), what)
    const details = this.existing(id, what)
    const image = this.newImage(
      `sha256:${hash(`commit:${details.Id}:${++this.counter}`)}`,
      details.Config.Env
    )
    image.Comment = options.comment
    this.tag(image, `${options.repo}:${options.tag}`)
    return image.Id
  }

  async waitHealthy(
    id: string,
    timeoutMs: number,
    signal?: AbortSignal
  ): Promise<'healthy' | 'running'> {
    const what = `inspect container ${id}`
    await this.begin('waitHealthy', this.subject(id), what)
    signal?.throwIfAborted()
    const details = this.existing(id, what)
    const name = nameOf(details)
    const state = details.State
    if (!state.Running) {
      throw new HealthError(
        `container ${name} is ${state.Status} (exit code ${state.ExitCode}); see \`docker logs ${name}\``
      )
    }
    const health = state.Health?.Status
    if (!health) return 'running'
    if (health === 'healthy') return 'healthy'
    // The fake's time does not pass: a container not healthy now never becomes so.
    throw new HealthError(
      `container ${name} is still ${health} after ${Math.round(timeoutMs / 1000)} s; last ` +
        'health check said: fake health check'
    )
  }

  async findImage(reference: string): Promise<ImageDetails | undefined> {
    await this.begin('findImage', reference, `inspect image ${reference}`)
    const image = this.lookupImage(reference)
    return image && structuredClone(image)
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    const what = `tag image ${reference} as ${repo}:${tag}`
    await this.begin('tagImage', reference, what, `${repo}:${tag}`)
    const image = this.lookupImage(reference)
    if (!image) throw this.notFound(what, `No such image: ${reference}`)
    this.tag(image, `${repo}:${tag}`)
  }

  async removeImage(reference: string): Promise<void> {
    const what = `remove image ${reference}`
    await this.begin('removeImage', reference, what)
    const image = this.lookupImage(reference)
    if (!image) throw this.notFound(what, `No such image: ${reference}`)
    const user = [...this.containers.values()].find(c => c.Image === image.Id)
    if (user && !image.RepoTags.includes(reference)) {
      throw this.refused(
        what,
        `conflict: unable to delete ${reference} (must be forced) - image is being used by ` +
          `stopped container ${user.Id.slice(0, 12)}`
      )
    }
    image.RepoTags = image.RepoTags.filter(t => t !== reference)
    if (image.RepoTags.length === 0 && !user) this.imageMap.delete(image.Id)
  }

  async pushImage(repo: string, tag: string, _auth: RegistryAuth): Promise<string> {
    const reference = `${repo}:${tag}`
    const what = `push ${reference}`
    await this.begin('pushImage', reference, what)
    const image = this.lookupImage(reference)
    if (!image) throw this.notFound(what, `An image does not exist locally with the tag: ${repo}`)
    const digest = `sha256:${hash(`${reference}:${image.Id}`)}`
    const pinned = `${repo}@${digest}`
    if (!image.RepoDigests.includes(pinned)) image.RepoDigests.push(pinned)
    this.registry.set(reference, structuredClone(image))
    this.registry.set(pinned, structuredClone(image))
    return digest
  }

  async pullImage(reference: string, _auth: RegistryAuth): Promise<void> {
    const what = `pull ${reference}`
    await this.begin('pullImage', reference, what)
    const pushed = this.registry.get(reference) ?? this.registry.get(`${reference}:latest`)
    if (!pushed) {
      throw this.notFound(what, `manifest for ${reference} not found: manifest unknown`)
    }
    const image = this.imageMap.get(pushed.Id) ?? this.newImage(pushed.Id, pushed.Config.Env)
    for (const digest of pushed.RepoDigests) {
      if (!image.RepoDigests.includes(digest)) image.RepoDigests.push(digest)
    }
    if (!reference.includes('@')) this.tag(image, reference)
  }

  async saveImages(references: string[]): Promise<Readable> {
    const what = `save images ${references.join(', ')}`
    const fault = await this.log.enter('saveImages', references.join(','))
    if (fault && fault.afterBytes === undefined) throw fault.error ?? this.injected(what)
    const images = references.map(reference => {
      const image = this.lookupImage(reference)
      if (!image) throw this.notFound(what, `reference does not exist: ${reference}`)
      return image
    })
    // A stand-in for `docker save`: manifest.json names each image's config `<id hex>.json`
    // and its tags (none when saved by id), which loadImages reads back.
    const pack = tar.pack()
    const manifest = images.map((image, index) => {
      const reference = references[index]!
      const config = `${image.Id.replace('sha256:', '')}.json`
      pack.entry({ name: config, mtime: EPOCH }, JSON.stringify({ Env: image.Config.Env }))
      const byId = reference === image.Id
      return { Config: config, RepoTags: byId ? null : [reference], Layers: [] }
    })
    pack.entry({ name: 'manifest.json', mtime: EPOCH }, JSON.stringify(manifest))
    pack.finalize()
    const stream = Readable.from(await buffer(pack))
    return fault?.afterBytes !== undefined
      ? breakAfter(stream, fault.afterBytes, fault.error ?? this.injected(what))
      : stream
  }

  async loadImages(archive: Readable): Promise<string[]> {
    const what = 'load images'
    const fault = await this.log.enter('loadImages', 'images')
    if (fault && fault.afterBytes === undefined) throw fault.error ?? this.injected(what)
    const bytes = await drain(
      archive,
      fault && { bytes: fault.afterBytes!, error: fault.error ?? this.injected(what) }
    )
    let files: Map<string, string>
    try {
      files = await filesOf(bytes)
    } catch (error) {
      throw new EngineError(`${what} failed: ${(error as Error).message}`, { cause: error })
    }
    if (files.size === 0) {
      throw new EngineError(`${what} failed: the archive holds no image (no docker save archive)`)
    }
    const manifest = files.get('manifest.json')
    if (manifest === undefined) {
      throw new EngineError(`${what} failed: invalid tar header: no manifest.json`)
    }
    const loaded: string[] = []
    const entries = JSON.parse(manifest) as { Config: string; RepoTags: string[] | null }[]
    for (const entry of entries) {
      const config = files.get(entry.Config)
      if (config === undefined) {
        throw new EngineError(`${what} failed: ${entry.Config} is not in the archive`)
      }
      const id = `sha256:${entry.Config.replace(/\.json$/, '')}`
      const { Env } = JSON.parse(config) as { Env: string[] }
      const image = this.imageMap.get(id) ?? this.newImage(id, Env)
      for (const reference of entry.RepoTags ?? []) this.tag(image, reference)
      loaded.push(...(entry.RepoTags ?? [id]))
    }
    return loaded
  }

  async inspectVolume(name: string): Promise<VolumeDetails> {
    const what = `inspect volume ${name}`
    await this.begin('inspectVolume', name, what)
    return structuredClone(this.existingVolume(name, what).details)
  }

  async findVolume(name: string): Promise<VolumeDetails | undefined> {
    await this.begin('findVolume', name, `inspect volume ${name}`)
    const volume = this.volumeMap.get(name)
    return volume && structuredClone(volume.details)
  }

  async listVolumes(filters: Record<string, string[]> = {}): Promise<VolumeDetails[]> {
    await this.begin('listVolumes', 'volumes', 'list volumes', JSON.stringify(filters))
    return [...this.volumeMap.values()].map(v => structuredClone(v.details))
  }

  async createVolume(spec: VolumeCreateSpec): Promise<void> {
    await this.begin('createVolume', spec.name, `create volume ${spec.name}`)
    // Like the engine: creating an existing volume of the same driver returns it unchanged.
    if (!this.volumeMap.has(spec.name))
      this.newVolume(spec.name, spec.driver, spec.labels, spec.driverOptions)
  }

  async removeVolume(name: string): Promise<void> {
    const what = `remove volume ${name}`
    await this.begin('removeVolume', name, what)
    this.existingVolume(name, what)
    const users = [...this.containers.values()].filter(c => c.Mounts.some(m => m.Name === name))
    if (users.length > 0) {
      throw this.refused(
        what,
        `remove ${name}: volume is in use - [${users.map(u => u.Id).join(', ')}]`
      )
    }
    this.volumeMap.delete(name)
  }

  async removeCarriers(owner: string): Promise<string[]> {
    await this.begin('removeCarriers', owner, 'list containers')
    const left = [...this.containers.values()].filter(c => c.Config.Labels[CARRIER_LABEL] === owner)
    for (const details of left) this.containers.delete(details.Id)
    return left.map(nameOf)
  }

  /** Streams the volume's tar; no carrier container is modelled. */
  async carrierOwners(): Promise<string[]> {
    await this.begin('carrierOwners', 'containers', 'list containers')
    const owners = [...this.containers.values()].map(c => c.Config.Labels[CARRIER_LABEL])
    return [...new Set(owners.filter(owner => owner !== undefined))]
  }

  async createLock(name: string, labels: Record<string, string>): Promise<string | undefined> {
    await this.begin('createLock', name, `create container ${name}`)
    if (this.lookupContainer(name)) return undefined
    if (!this.lookupImage(CARRIER_IMAGE)) this.addImage(CARRIER_IMAGE)
    const details = this.build({
      name,
      Image: CARRIER_IMAGE,
      Cmd: ['/carrier'],
      Labels: labels,
      HostConfig: { NetworkMode: 'none' }
    })
    return details.Id
  }

  async markLock(id: string, mark: string): Promise<void> {
    const what = `mark ${mark} on container ${id}`
    await this.begin('markLock', this.subject(id), what, mark)
    const details = this.existing(id, what)
    this.lockMarks.set(details.Id, (this.lockMarks.get(details.Id) ?? new Set()).add(mark))
  }

  async lockHasMark(id: string, mark: string): Promise<boolean> {
    await this.begin('lockHasMark', this.subject(id), `read mark ${mark} of container ${id}`, mark)
    const details = this.lookupContainer(id)
    return Boolean(details && this.lockMarks.get(details.Id)?.has(mark))
  }

  async readVolume<T>(name: string, consume: (tar: Readable) => Promise<T>): Promise<T> {
    const what = `read volume ${name}`
    const fault = await this.log.enter('readVolume', name)
    if (fault && fault.afterBytes === undefined) throw fault.error ?? this.injected(what)
    const volume = this.existingVolume(name, `inspect volume ${name}`)
    const source = Readable.from([await archiveOf(volume)])
    const stream =
      fault?.afterBytes !== undefined
        ? breakAfter(source, fault.afterBytes, fault.error ?? this.injected(what))
        : source
    try {
      return await consume(stream)
    } finally {
      stream.destroy()
    }
  }

  /** Keeps the archive as the volume's contents; its own `./` entry stands for `rootEntry`. */
  async writeVolume(name: string, archive: Readable, _rootEntry: Buffer): Promise<void> {
    const what = `write volume ${name}`
    const fault = await this.log.enter('writeVolume', name)
    if (fault && fault.afterBytes === undefined) throw fault.error ?? this.injected(what)
    const volume = this.existingVolume(name, `inspect volume ${name}`)
    const bytes = await drain(
      archive,
      fault && { bytes: fault.afterBytes!, error: fault.error ?? this.injected(what) }
    )
    volume.contents = bytes
  }

  async readContainerPath<T>(
    id: string,
    path: string,
    consume: (tar: Readable) => Promise<T>
  ): Promise<T> {
    const what = `read ${path} of container ${id}`
    await this.begin('readContainerPath', this.subject(id), what, path)
    const details = this.existing(id, what)
    const mount = details.Mounts.find(m => m.Destination === path.replace(/\/$/, ''))
    const archive = (mount && this.hostPaths.get(mount.Source)) ?? (await tarOf([]))
    const stream = Readable.from([archive])
    try {
      return await consume(stream)
    } finally {
      stream.destroy()
    }
  }

  async pathKinds(image: string, paths: string[]): Promise<Map<string, PathKind>> {
    await this.begin('pathKinds', image, `stat ${paths.join(', ')} in image ${image}`)
    if (!this.lookupImage(image)) throw this.notFound(`create probe of ${image}`, 'no such image')
    // Files are noted by reference; asked by id, the image's tags count too.
    const references = [image, ...(this.lookupImage(image)?.RepoTags ?? [])]
    const files = new Set(references.flatMap(ref => [...(this.imageFiles.get(ref) ?? [])]))
    return new Map(paths.map(path => [path, files.has(path) ? 'file' : 'missing']))
  }

  async findNetwork(name: string): Promise<NetworkDetails | undefined> {
    await this.begin('findNetwork', name, `inspect network ${name}`)
    const network = this.networkMap.get(name)
    return network && structuredClone(network)
  }

  async createNetwork(spec: NetworkCreateSpec): Promise<string> {
    const what = `create network ${spec.Name}`
    await this.begin('createNetwork', spec.Name, what)
    if (this.networkMap.has(spec.Name)) {
      throw this.refused(what, `network with name ${spec.Name} already exists`)
    }
    const subnets = (spec.IPAM?.Config ?? []).map(c => c.Subnet).filter(Boolean)
    for (const other of this.networkMap.values()) {
      if ((other.IPAM?.Config ?? []).some(c => subnets.includes(c.Subnet))) {
        throw this.refused(what, 'Pool overlaps with other one on this address space')
      }
    }
    const details = this.addNetwork(spec.Name, { driver: spec.Driver, labels: spec.Labels })
    details.IPAM = { Driver: spec.IPAM?.Driver ?? 'default', Config: spec.IPAM?.Config ?? [] }
    return details.Id
  }

  async connectNetwork(
    network: string,
    container: string,
    endpoint: { aliases: string[]; ipv4Address?: string; ipv6Address?: string }
  ): Promise<void> {
    const what = `connect container ${container} to network ${network}`
    await this.begin('connectNetwork', network, what, this.subject(container))
    if (!this.networkMap.has(network)) throw this.notFound(what, `network ${network} not found`)
    const details = this.existing(container, what)
    details.NetworkSettings.Networks[network] = this.endpoint(network, details.Id, endpoint.aliases)
  }

  async removeNetwork(name: string): Promise<void> {
    const what = `remove network ${name}`
    await this.begin('removeNetwork', name, what)
    const network = this.networkMap.get(name)
    if (!network) throw this.notFound(what, `network ${name} not found`)
    if (BUILTIN_NETWORKS.includes(name)) {
      throw this.refused(what, `${name} is a pre-defined network and cannot be removed`)
    }
    const attached = [...this.containers.values()].some(
      c => c.State.Running && name in c.NetworkSettings.Networks
    )
    if (attached) {
      throw this.refused(
        what,
        `error while removing network: network ${name} id ${network.Id} has active endpoints`
      )
    }
    this.networkMap.delete(name)
  }

  // ---- replace: the originals kept aside ----

  async renameContainer(id: string, name: string): Promise<void> {
    const what = `rename container ${id} to ${name}`
    await this.begin('renameContainer', this.subject(id), what, name)
    const details = this.existing(id, what)
    const other = this.lookupContainer(name)
    if (other && other.Id !== details.Id) {
      throw this.refused(
        what,
        `Conflict. The container name "/${name}" is already in use by container "${other.Id}"`
      )
    }
    details.Name = `/${name}`
  }

  /**
   * Copies `from`'s files over `to`'s (the engine unpacks into what is there: files of `to` that
   * `from` lacks stay), to or from directory `volume/` as `nested` says. A fault fails the copy
   * before anything lands.
   */
  async copyVolume(
    from: string,
    to: string,
    options: { nested?: 'from' | 'to'; signal?: AbortSignal } = {}
  ): Promise<void> {
    await this.begin('copyVolume', from, `copy volume ${from} to ${to}`, to)
    options.signal?.throwIfAborted()
    const source = this.existingVolume(from, `inspect volume ${from}`)
    const target = this.existingVolume(to, `inspect volume ${to}`)
    const files = new Map(await filesOf(await archiveOf(target)))
    for (const [name, content] of await filesOf(await archiveOf(source))) {
      if (options.nested === 'from' && !name.startsWith('volume/')) continue
      const landing =
        options.nested === 'from'
          ? name.slice('volume/'.length)
          : options.nested === 'to'
            ? `volume/${name}`
            : name
      files.set(landing, content)
    }
    target.contents = [...files].map(([name, content]) => ({ name, content }))
  }

  /** Adds an empty directory at the volume's root (files only are kept beside it). */
  async markVolume(volume: string, name: string): Promise<void> {
    await this.begin('markVolume', volume, `mark volume ${volume} with ${name}`, name)
    const target = this.existingVolume(volume, `inspect volume ${volume}`)
    const files = await filesOf(await archiveOf(target))
    target.contents = [
      ...[...files].map(([file, content]) => ({ name: file, content })),
      { name, type: 'directory' }
    ]
  }

  /** Deletes the volume's contents, as a container of `image` running rm would. */
  async emptyVolume(name: string, image: string): Promise<void> {
    const what = `empty volume ${name}`
    await this.begin('emptyVolume', name, what, image)
    const volume = this.existingVolume(name, `inspect volume ${name}`)
    if (!this.lookupImage(image))
      throw this.notFound(`create container of ${image}`, 'no such image')
    volume.contents = []
  }

  // ---- internals ----

  /** Logs the call and throws what a `failOn` rule says (a default EngineError naming `what`). */
  private async begin(call: keyof EngineMethods, subject: string, what: string, detail?: string) {
    const fault = await this.log.enter(call, subject, detail)
    if (fault) throw fault.error ?? this.injected(what)
  }

  private injected(what: string): EngineError {
    return new EngineError(`${what} failed: injected fault`)
  }

  private refused(what: string, message: string): EngineError {
    return new EngineError(`${what} failed: ${message}`)
  }

  private notFound(what: string, message: string): NotFoundError {
    return new NotFoundError(`${what}: ${message}`)
  }

  private subject(nameOrId: string): string {
    const details = this.lookupContainer(nameOrId)
    return details ? nameOf(details) : nameOrId
  }

  private lookupContainer(nameOrId: string): ContainerDetails | undefined {
    const wanted = nameOrId.replace(/^\//, '')
    for (const details of this.containers.values()) {
      if (nameOf(details) === wanted || details.Id === wanted) return details
    }
    // An unambiguous id prefix, as the engine accepts.
    const byPrefix = [...this.containers.values()].filter(
      d => wanted.length >= 3 && d.Id.startsWith(wanted)
    )
    return byPrefix.length === 1 ? byPrefix[0] : undefined
  }

  private existing(nameOrId: string, what: string): ContainerDetails {
    const details = this.lookupContainer(nameOrId)
    if (!details) throw this.notFound(what, `No such container: ${nameOrId}`)
    return details
  }

  private existingVolume(name: string, what: string): FakeVolume {
    const volume = this.volumeMap.get(name)
    if (!volume) throw this.notFound(what, `get ${name}: no such volume`)
    return volume
  }

  private lookupImage(reference: string): ImageDetails | undefined {
    const tagged =
      /:[^/]+$/.test(reference) || reference.includes('@') ? reference : `${reference}:latest`
    for (const image of this.imageMap.values()) {
      if (
        image.Id === reference ||
        image.RepoTags.includes(tagged) ||
        image.RepoDigests.includes(reference)
      ) {
        return image
      }
    }
    return undefined
  }

  private newImage(id: string, env: string[]): ImageDetails {
    const config = {
      Hostname: '',
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: {},
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: [...env],
      Cmd: ['sh'],
      ArgsEscaped: false,
      Image: '',
      Volumes: {},
      WorkingDir: '',
      OnBuild: [],
      Labels: {}
    }
    const image: ImageDetails = {
      Id: id,
      RepoTags: [],
      RepoDigests: [],
      Parent: '',
      Comment: '',
      Created: EPOCH.toISOString(),
      Container: '',
      ContainerConfig: { ...config },
      DockerVersion: '20.10.24',
      Author: '',
      Config: config,
      Architecture: 'amd64',
      Os: 'linux',
      Size: 1024,
      VirtualSize: 1024,
      GraphDriver: { Name: 'overlay2', Data: { DeviceId: '', DeviceName: '', DeviceSize: '' } },
      RootFS: { Type: 'layers', Layers: [] }
    }
    this.imageMap.set(id, image)
    return image
  }

  /** Points `reference` at `image`, taking it from any image that had it. */
  private tag(image: ImageDetails, reference: string) {
    for (const other of this.imageMap.values()) {
      other.RepoTags = other.RepoTags.filter(t => t !== reference)
    }
    image.RepoTags.push(reference)
  }

  private newVolume(
    name: string,
    driver: string,
    labels: Record<string, string>,
    options: Record<string, string> = {}
  ): FakeVolume {
    const volume: FakeVolume = {
      details: {
        Name: name,
        Driver: driver,
        Mountpoint: `/var/lib/docker/volumes/${name}/_data`,
        Labels: { ...labels },
        Options: { ...options },
        Scope: 'local',
        CreatedAt: EPOCH.toISOString()
      },
      contents: []
    }
    this.volumeMap.set(name, volume)
    return volume
  }

  private requestedNetworks(spec: ContainerCreateSpec): string[] {
    const host = (spec.HostConfig ?? {}) as Record<string, unknown>
    const networking = spec.NetworkingConfig as
      { EndpointsConfig?: Record<string, unknown> } | undefined
    const endpoints = Object.keys(networking?.EndpointsConfig ?? {})
    if (endpoints.length > 0) return endpoints
    const mode = typeof host.NetworkMode === 'string' ? host.NetworkMode : 'bridge'
    if (mode === 'default') return ['bridge']
    return mode.startsWith('container:') ? [] : [mode]
  }

  private endpoint(network: string, id: string, aliases: string[]) {
    return {
      Aliases: [...aliases, id.slice(0, 12)],
      NetworkID: this.networkMap.get(network)?.Id ?? '',
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: ''
    }
  }

  /** A created (not started) container from a create body; volumes it mounts are created. */
  private build(spec: ContainerCreateSpec, id?: string): ContainerDetails {
    const host = { ...((spec.HostConfig ?? {}) as Record<string, unknown>) }
    const field = <T>(name: string, fallback: T): T => (spec[name] as T | undefined) ?? fallback
    const mounts: ContainerDetails['Mounts'] = []
    for (const bind of (host.Binds as string[] | undefined) ?? []) {
      const [source = '', destination = '', mode = 'rw'] = bind.split(':')
      const volume = !source.startsWith('/')
      if (volume && !this.volumeMap.has(source)) this.newVolume(source, 'local', {})
      mounts.push({
        Type: volume ? 'volume' : 'bind',
        ...(volume && { Name: source, Driver: 'local' }),
        Source: volume ? `/var/lib/docker/volumes/${source}/_data` : source,
        Destination: destination,
        Mode: mode,
        RW: mode !== 'ro',
        Propagation: volume ? '' : 'rprivate'
      })
    }
    const declared =
      (host.Mounts as
        { Type: string; Source: string; Target: string; ReadOnly?: boolean }[] | undefined) ?? []
    for (const mount of declared) {
      if (mount.Type === 'volume' && !this.volumeMap.has(mount.Source))
        this.newVolume(mount.Source, 'local', {})
      mounts.push({
        Type: mount.Type as 'volume' | 'bind' | 'tmpfs',
        ...(mount.Type === 'volume' && { Name: mount.Source, Driver: 'local' }),
        Source:
          mount.Type === 'volume' ? `/var/lib/docker/volumes/${mount.Source}/_data` : mount.Source,
        Destination: mount.Target,
        Mode: '',
        RW: !mount.ReadOnly,
        Propagation: ''
      })
    }
    const containerId = id ?? hash(`container:${spec.name}:${++this.counter}`)
    const image = this.lookupImage(spec.Image)
    const details: ContainerDetails = {
      Id: containerId,
      Created: EPOCH.toISOString(),
      Path: field<string[]>('Cmd', [])[0] ?? '',
      Args: field<string[]>('Cmd', []).slice(1),
      State: {
        Status: 'created',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: 0,
        Error: '',
        StartedAt: '0001-01-01T00:00:00Z',
        FinishedAt: '0001-01-01T00:00:00Z'
      },
      Image: image?.Id ?? spec.Image,
      ResolvConfPath: '',
      HostnamePath: '',
      HostsPath: '',
      LogPath: '',
      Name: `/${spec.name}`,
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      MountLabel: '',
      ProcessLabel: '',
      AppArmorProfile: '',
      HostConfig: host,
      GraphDriver: { Name: 'overlay2', Data: { DeviceId: '', DeviceName: '', DeviceSize: '' } },
      Mounts: mounts,
      Config: {
        Hostname: field('Hostname', containerId.slice(0, 12)),
        Domainname: '',
        User: field('User', ''),
        AttachStdin: false,
        AttachStdout: false,
        AttachStderr: false,
        ExposedPorts: field('ExposedPorts', {}),
        Tty: false,
        OpenStdin: false,
        StdinOnce: false,
        Env: field<string[]>('Env', []),
        Cmd: field<string[]>('Cmd', []),
        Image: spec.Image,
        Volumes: field('Volumes', {}),
        WorkingDir: field('WorkingDir', ''),
        Labels: field<Record<string, string>>('Labels', {}),
        ...(spec.Healthcheck !== undefined && { Healthcheck: spec.Healthcheck as object })
      },
      NetworkSettings: {
        SandboxID: '',
        Ports: {},
        SandboxKey: '',
        Networks: Object.fromEntries(
          this.requestedNetworks(spec).map(network => [
            network,
            this.endpoint(network, containerId, [])
          ])
        )
      }
    }
    this.containers.set(containerId, details)
    return details
  }

  private setState(details: ContainerDetails, state: Exclude<FakeState, 'created'>) {
    const s = details.State
    s.Status = state
    s.Running = state !== 'exited'
    s.Paused = state === 'paused'
    if (state === 'exited') {
      s.FinishedAt = EPOCH.toISOString()
      delete s.Health
      return
    }
    if (state === 'running' && s.Health === undefined) {
      const rule = this.healthRules.find(r => matchesName(r.match, nameOf(details), details.Id))
      const health = rule?.health ?? (details.Config.Healthcheck ? 'healthy' : undefined)
      if (health) this.setHealth(details, health)
    }
  }

  private setHealth(details: ContainerDetails, health: FakeHealth) {
    details.State.Health = {
      Status: health,
      FailingStreak: health === 'unhealthy' ? 3 : 0,
      Log: []
    }
  }

  private summary(details: ContainerDetails): ContainerSummary {
    return {
      Id: details.Id,
      Names: [details.Name],
      Image: details.Config.Image,
      ImageID: details.Image,
      Command: details.Config.Cmd.join(' '),
      Created: 0,
      Ports: [],
      Labels: { ...details.Config.Labels },
      State: details.State.Status,
      Status: details.State.Status,
      HostConfig: { NetworkMode: String(details.HostConfig.NetworkMode ?? 'bridge') },
      NetworkSettings: { Networks: structuredClone(details.NetworkSettings.Networks) },
      Mounts: details.Mounts.map(m => ({ ...m }))
    }
  }
}

/** `repo` of `repo:tag` (a registry port's colon is not a tag). */
function repositoryOf(reference: string): string {
  const colon = reference.lastIndexOf(':')
  return colon > reference.lastIndexOf('/') ? reference.slice(0, colon) : reference
}
