import Docker from 'dockerode'
import { Readable, Writable, addAbortSignal } from 'node:stream'
import {
  EngineError,
  EngineUnavailableError,
  HealthError,
  NotFoundError,
  RegistryError,
  SnapshotError,
  describeError
} from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { silentLogger } from '../shared/log.js'
import { rootEntryTar } from '../archive/root-entry.js'
import { processOwner } from '../shared/owner.js'
import type { ConnectionEnvironment, EngineConnection } from './connection.js'
import { explainConnectionError, resolveConnection } from './connection.js'
import { parseProgress } from './progress.js'
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
} from './types.js'

/** What a path is in a container's file system. */
export type PathKind = 'directory' | 'file' | 'missing'

/** The image of the never-started containers that carry a volume mount for archive copies. */
export const CARRIER_IMAGE = 'docker-snapshot/volume-carrier:1'
/** Carrier containers carry this label, valued with their owner (see `carrierOwner`). */
const CARRIER_LABEL = 'docker-snapshot.carrier'
/** Which process made a carrier, so a later step can remove what a killed one left. */
export const carrierOwner = processOwner
/** Where a carrier container mounts the volume it carries. */
const CARRIER_MOUNT = '/volume'

interface SavesImages {
  getImages(options: { names: string[] }): Promise<NodeJS.ReadableStream>
}

interface EngineErrorShape {
  statusCode?: number
  code?: string
  json?: { message?: string } | string | null
  message?: string
}

/** The message the engine gave, without dockerode's "(HTTP code N) unexpected - " prefix. */
function engineMessage(error: unknown): string {
  const e = error as EngineErrorShape
  if (e.json && typeof e.json === 'object' && e.json.message) return e.json.message
  if (typeof e.json === 'string' && e.json.trim()) return e.json.trim()
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
}

function connectionFailed(error: unknown): boolean {
  const code = (error as EngineErrorShape).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOENT' ||
    code === 'EACCES' ||
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ETIMEDOUT'
  )
}

/**
 * Sends `source` as a request body with `send`; a failing source (a bad decompression, a store
 * read error) aborts the request and rejects with the source's error instead of leaving the
 * engine waiting for more bytes.
 */
function upload<T>(source: Readable, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // A source that failed before the request began (an abort) would never send its error.
  if (source.errored) return Promise.reject(source.errored)
  if (source.destroyed)
    return Promise.reject(new SnapshotError('the upload was closed before it began'))
  const abort = new AbortController()
  const sourceFailed = new Promise<never>((_resolve, reject) => {
    source.once('error', (error: Error) => {
      abort.abort()
      reject(error)
    })
  })
  return Promise.race([send(abort.signal), sourceFailed])
}

/** Streams the events of a push, pull or load, failing on the first error reported in-band. */
async function followProgress(stream: NodeJS.ReadableStream, what: string) {
  let text = ''
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString()
  const progress = parseProgress(text)
  if (progress.error) throw new RegistryError(`${what}: ${progress.error}`)
  return progress
}

/** The text of a non-TTY container's log buffer: 8-byte frame headers stripped. */
function demuxed(logs: Buffer): string {
  const parts: Buffer[] = []
  for (let at = 0; at + 8 <= logs.length;) {
    const size = logs.readUInt32BE(at + 4)
    parts.push(logs.subarray(at + 8, at + 8 + size))
    at += 8 + size
  }
  return Buffer.concat(parts).toString('utf8')
}

/**
 * The only code that talks to the Docker engine. Every call goes through `call`, which logs it
 * and turns the engine's failures into typed errors that name the object and the next step.
 */
export class Engine {
  /** The engine's address, as resolved from the docker-host input, DOCKER_HOST or a context. */
  readonly host: string
  private readonly connection: EngineConnection
  private readonly docker: Docker
  private readonly log: Logger

  /**
   * Throws InvalidSettingsError when the address, context or TLS files cannot be used; no
   * request is made before the first call.
   */
  constructor(
    options: { host?: string; logger?: Logger; environment?: ConnectionEnvironment } = {}
  ) {
    this.connection = resolveConnection(options.host, options.environment)
    this.host = this.connection.address
    this.docker = new Docker(this.connection.options)
    this.log = options.logger ?? silentLogger
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.log.debug(`engine: ${what}`)
    try {
      return await fn()
    } catch (error) {
      throw this.translate(what, error)
    }
  }

  private translate(what: string, error: unknown): Error {
    // Already typed (ours, or a source stream's integrity error): keep its type and message.
    if (error instanceof SnapshotError) return error
    const explained = explainConnectionError(this.connection, error)
    if (explained) return new EngineUnavailableError(explained, { cause: error })
    if (connectionFailed(error)) {
      const { address, source } = this.connection
      return new EngineUnavailableError(
        `No Docker engine answers at ${address} (from ${source}; ${engineMessage(error)}). ` +
          `Start the engine, or set DOCKER_HOST (or the docker-host input) to the address of a ` +
          `running one.`,
        { cause: error }
      )
    }
    const status = (error as EngineErrorShape).statusCode
    if (status === 404) {
      return new NotFoundError(`${what}: ${engineMessage(error)}`, { cause: error })
    }
    return new EngineError(`${what} failed: ${engineMessage(error)}`, { cause: error })
  }

  async info(): Promise<EngineInfo> {
    const version = await this.call('read engine version', () => this.docker.version())
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch
    }
  }

  // ---- containers ----

  listContainers(filters: Record<string, string[]> = {}): Promise<ContainerSummary[]> {
    return this.call('list containers', () => this.docker.listContainers({ all: true, filters }))
  }

  inspectContainer(nameOrId: string): Promise<ContainerDetails> {
    return this.call(`inspect container ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).inspect()
    )
  }

  /** The container's details, or undefined when there is none of that name. */
  async findContainer(nameOrId: string): Promise<ContainerDetails | undefined> {
    try {
      return await this.inspectContainer(nameOrId)
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async pauseContainer(id: string): Promise<void> {
    await this.call(`pause container ${id}`, () => this.docker.getContainer(id).pause())
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.call(`unpause container ${id}`, () => this.docker.getContainer(id).unpause())
  }

  async stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
    const options = timeoutSeconds === undefined ? {} : { t: timeoutSeconds }
    await this.call(`stop container ${id}`, async () => {
      try {
        await this.docker.getContainer(id).stop(options)
      } catch (error) {
        // 304: already stopped, which is what we wanted.
        if ((error as EngineErrorShape).statusCode !== 304) throw error
      }
    })
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${id}`, async () => {
      try {
        await this.docker.getContainer(id).start()
      } catch (error) {
        // 304: already running.
        if ((error as EngineErrorShape).statusCode !== 304) throw error
      }
    })
  }

  async removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}) {
    await this.call(`remove container ${id}`, () =>
      this.docker.getContainer(id).remove({ force: options.force, v: options.volumes })
    )
  }

  /** Creates a container; returns its id. Only one network endpoint may be given (API 1.41). */
  async createContainer(spec: ContainerCreateSpec): Promise<string> {
    const container = await this.call(`create container ${spec.name}`, () =>
      this.docker.createContainer(spec as Docker.ContainerCreateOptions)
    )
    return container.id
  }

  /**
   * Runs `cmd` in a running container and waits for it, up to `timeoutMs`. Output (stdout and
   * stderr together) is kept up to 64 KiB.
   */
  async exec(
    id: string,
    cmd: string[],
    timeoutMs: number
  ): Promise<{ exitCode: number; output: string }> {
    const what = `exec ${JSON.stringify(cmd)} in ${id}`
    return this.call(what, async () => {
      const exec = await this.docker
        .getContainer(id)
        .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true })
      const stream = await exec.start({ hijack: true, stdin: false })
      let output = ''
      const collect = new Writable({
        write(chunk: Buffer, _encoding, done) {
          if (output.length < 65536) output += chunk.toString()
          done()
        }
      })
      this.docker.modem.demuxStream(stream, collect, collect)
      const ended = new Promise<void>(resolve => {
        stream.on('end', resolve)
        stream.on('close', resolve)
        stream.on('error', () => resolve())
      })
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>(resolve => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs)
      })
      const outcome = await Promise.race([ended, timedOut])
      clearTimeout(timer)
      if (outcome === 'timeout') {
        stream.destroy()
        return { exitCode: -1, output }
      }
      const result = await exec.inspect()
      return { exitCode: result.ExitCode ?? -1, output }
    })
  }

  /** Commits the container's filesystem (volumes excluded) as `repo:tag`; returns the image id. */
  async commitContainer(
    id: string,
    options: { repo: string; tag: string; pause: boolean; comment: string }
  ): Promise<string> {
    const result: unknown = await this.call(`commit container ${id}`, () =>
      this.docker.getContainer(id).commit(options)
    )
    const imageId = (result as { Id?: string }).Id
    if (!imageId) throw new EngineError(`commit container ${id}: the engine returned no image id`)
    return imageId
  }

  /**
   * Waits until the container is healthy (when it has a healthcheck) or running (when it has
   * none), failing when it exits, when `timeoutMs` passes or when `signal` is aborted.
   */
  async waitHealthy(
    id: string,
    timeoutMs: number,
    signal?: AbortSignal
  ): Promise<'healthy' | 'running'> {
    const deadline = Date.now() + timeoutMs
    let delay = 200
    for (;;) {
      signal?.throwIfAborted()
      const details = await this.inspectContainer(id)
      const state = details.State
      const health = state.Health?.Status
      if (!state.Running) {
        throw new HealthError(
          `container ${details.Name.replace(/^\//, '')} is ${state.Status} (exit code ${state.ExitCode}` +
            `${state.Error ? `, ${state.Error}` : ''}); see \`docker logs ${details.Name.replace(/^\//, '')}\``
        )
      }
      if (!health || health === 'none') return 'running'
      if (health === 'healthy') return 'healthy'
      if (Date.now() >= deadline) {
        const last = state.Health?.Log?.at(-1)?.Output?.trim()
        throw new HealthError(
          `container ${details.Name.replace(/^\//, '')} is still ${health} after ` +
            `${Math.round(timeoutMs / 1000)} s${last ? `; last health check said: ${last}` : ''}`
        )
      }
      await new Promise(resolve => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 2000)
    }
  }

  // ---- images ----

  /** The image's details, or undefined when the engine has no image of that reference. */
  async findImage(reference: string): Promise<ImageDetails | undefined> {
    try {
      return await this.call(`inspect image ${reference}`, () =>
        this.docker.getImage(reference).inspect()
      )
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async tagImage(reference: string, repo: string, tag: string): Promise<void> {
    await this.call(`tag image ${reference} as ${repo}:${tag}`, () =>
      this.docker.getImage(reference).tag({ repo, tag })
    )
  }

  async removeImage(reference: string): Promise<void> {
    await this.call(`remove image ${reference}`, () => this.docker.getImage(reference).remove())
  }

  /** Pushes `repo:tag`; resolves with the registry's manifest digest. */
  async pushImage(repo: string, tag: string, auth: RegistryAuth): Promise<string> {
    const reference = `${repo}:${tag}`
    const what = `push ${reference}`
    return this.call(what, async () => {
      const stream = await this.docker.getImage(reference).push({ tag, authconfig: auth })
      const progress = await followProgress(stream, what)
      if (!progress.digest) throw new RegistryError(`${what}: the registry reported no digest`)
      return progress.digest
    })
  }

  async pullImage(reference: string, auth: RegistryAuth): Promise<void> {
    const what = `pull ${reference}`
    await this.call(what, async () => {
      const stream = await this.docker.pull(reference, { authconfig: auth })
      await followProgress(stream, what)
    })
  }

  /** A `docker save` tar of the given images. */
  async saveImages(references: string[]): Promise<Readable> {
    const stream = await this.call(`save images ${references.join(', ')}`, () =>
      // Missing from @types/dockerode: GET /images/get with several names, one tar.
      (this.docker as unknown as SavesImages).getImages({ names: references })
    )
    return Readable.from(stream as AsyncIterable<Buffer>)
  }

  /** Loads a `docker save` tar; resolves with what the engine says it loaded. */
  async loadImages(tar: Readable): Promise<string[]> {
    return this.call('load images', async () => {
      const stream = await upload(tar, signal =>
        this.docker.loadImage(tar, { quiet: true, abortSignal: signal })
      )
      const progress = await followProgress(stream, 'load images')
      return progress.loaded
    })
  }

  /** Makes sure the carrier image exists: an empty filesystem, imported (nothing pulled). */
  async ensureCarrierImage(): Promise<void> {
    if (await this.findImage(CARRIER_IMAGE)) return
    const [repo, tag] = CARRIER_IMAGE.split(':')
    // Two zero blocks: an empty tar archive.
    const emptyTar = Readable.from([Buffer.alloc(1024)])
    await this.call(`import ${CARRIER_IMAGE}`, async () => {
      const stream = await this.docker.importImage(emptyTar, { repo, tag })
      await followProgress(stream, `import ${CARRIER_IMAGE}`)
    })
  }

  /** Imports a root filesystem tar as image `repo:tag` (nothing is pulled). */
  async importImage(rootfs: Readable, repo: string, tag: string): Promise<void> {
    await this.call(`import ${repo}:${tag}`, async () => {
      const stream = await upload(rootfs, signal =>
        this.docker.importImage(rootfs, { repo, tag, abortSignal: signal })
      )
      await followProgress(stream, `import ${repo}:${tag}`)
    })
  }

  /**
   * Runs a short-lived helper container to its end and removes it whatever happens; resolves
   * with its exit code and its output (stdout and stderr, the last 64 KiB). It carries the
   * carrier label, so a killed run's helper is removed like a carrier. `signal` kills it.
   */
  async runHelper(
    spec: ContainerCreateSpec,
    signal?: AbortSignal
  ): Promise<{ exitCode: number; output: string }> {
    const labels = { ...(spec.Labels as Record<string, string>), [CARRIER_LABEL]: carrierOwner }
    const id = await this.createContainer({ ...spec, Labels: labels })
    const container = this.docker.getContainer(id)
    const kill = () => void container.kill().catch(() => undefined)
    signal?.addEventListener('abort', kill, { once: true })
    try {
      await this.call(`start helper ${spec.name}`, () => container.start())
      const waited = (await this.call(`wait for helper ${spec.name}`, () => container.wait())) as {
        StatusCode?: number
      }
      signal?.throwIfAborted()
      const logs = await this.call(`read output of helper ${spec.name}`, () =>
        container.logs({ stdout: true, stderr: true, follow: false, tail: 200 })
      )
      return { exitCode: waited.StatusCode ?? -1, output: demuxed(logs).slice(-65536) }
    } finally {
      signal?.removeEventListener('abort', kill)
      await this.removeContainer(id, { force: true }).catch((error: unknown) => {
        this.log.warn(`could not remove helper container ${id}: ${describeError(error)}`)
      })
    }
  }

  // ---- volumes ----

  inspectVolume(name: string): Promise<VolumeDetails> {
    return this.call(`inspect volume ${name}`, () =>
      this.docker.getVolume(name).inspect()
    ) as Promise<VolumeDetails>
  }

  async findVolume(name: string): Promise<VolumeDetails | undefined> {
    try {
      return await this.inspectVolume(name)
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async listVolumes(filters: Record<string, string[]> = {}): Promise<VolumeDetails[]> {
    const result = await this.call('list volumes', () => this.docker.listVolumes({ filters }))
    return (result.Volumes ?? []) as VolumeDetails[]
  }

  async createVolume(spec: VolumeCreateSpec): Promise<void> {
    await this.call(`create volume ${spec.name}`, () =>
      this.docker.createVolume({
        Name: spec.name,
        Driver: spec.driver,
        DriverOpts: spec.driverOptions,
        Labels: spec.labels
      })
    )
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(`remove volume ${name}`, () => this.docker.getVolume(name).remove())
  }

  /**
   * Runs `fn` with a never-started container that mounts `volume` at `/volume` (read-only when
   * asked), and removes the container afterwards whatever happens.
   */
  private async withCarrier<T>(
    volume: string,
    readOnly: boolean,
    fn: (id: string) => Promise<T>
  ): Promise<T> {
    await this.ensureCarrierImage()
    const id = await this.createContainer({
      name: `docker-snapshot-carrier-${process.pid}-${Date.now().toString(36)}`,
      Image: CARRIER_IMAGE,
      Cmd: ['/carrier'],
      Labels: { [CARRIER_LABEL]: carrierOwner },
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: volume, Target: CARRIER_MOUNT, ReadOnly: readOnly }],
        NetworkMode: 'none'
      }
    })
    try {
      return await fn(id)
    } finally {
      await this.removeContainer(id, { force: true }).catch((error: unknown) => {
        this.log.warn(`could not remove carrier container ${id}: ${describeError(error)}`)
      })
    }
  }

  /** Removes the carrier containers `owner` left behind (a process killed mid-copy). */
  async removeCarriers(owner: string): Promise<string[]> {
    const left = await this.listContainers({ label: [`${CARRIER_LABEL}=${owner}`] })
    for (const container of left) await this.removeContainer(container.Id, { force: true })
    return left.map(container => container.Names[0]?.replace(/^\//, '') ?? container.Id)
  }

  /** The owners (`host:pid`) of every carrier container on the engine. */
  async carrierOwners(): Promise<string[]> {
    const carriers = await this.listContainers({ label: [CARRIER_LABEL] })
    return [...new Set(carriers.map(container => container.Labels[CARRIER_LABEL]))]
  }

  /**
   * Creates a never-started container `name` with `labels`, as a lock on the engine: the engine
   * creates a name once, so of two runs only one succeeds. Resolves with its id, or undefined
   * when a container of that name exists already.
   */
  async createLock(name: string, labels: Record<string, string>): Promise<string | undefined> {
    await this.ensureCarrierImage()
    return this.call(`create container ${name}`, async () => {
      try {
        const container = await this.docker.createContainer({
          name,
          Image: CARRIER_IMAGE,
          Cmd: ['/carrier'],
          Labels: labels,
          HostConfig: { NetworkMode: 'none' }
        })
        return container.id
      } catch (error) {
        // 409: the name is taken.
        if ((error as EngineErrorShape).statusCode === 409) return undefined
        throw error
      }
    })
  }

  /** Records a step on a lock container: an empty directory `/<mark>` in its filesystem. */
  async markLock(id: string, mark: string): Promise<void> {
    const entry = rootEntryTar({ uid: 0, gid: 0, mode: 0o755, mtime: 0 }, mark)
    await this.call(`mark ${mark} on container ${id}`, () =>
      this.docker.getContainer(id).putArchive(entry, { path: '/' })
    )
  }

  /** Whether `markLock(id, mark)` was done. */
  async lockHasMark(id: string, mark: string): Promise<boolean> {
    try {
      await this.call(`read mark ${mark} of container ${id}`, async () => {
        const stream = (await this.docker
          .getContainer(id)
          .infoArchive({ path: `/${mark}` })) as unknown as Readable
        stream.destroy()
      })
      return true
    } catch (error) {
      if (error instanceof NotFoundError) return false
      throw error
    }
  }

  /**
   * Streams the volume's contents as a tar whose entries are `./`-relative, the first being the
   * volume root itself (owner, mode, mtime), into `consume`. No image is pulled or started.
   */
  async readVolume<T>(name: string, consume: (tar: Readable) => Promise<T>): Promise<T> {
    // Mounting a missing volume would create it empty: make sure it exists first.
    await this.inspectVolume(name)
    return this.withCarrier(name, true, async id => {
      const stream = await this.call(`read volume ${name}`, () =>
        this.docker.getContainer(id).getArchive({ path: `${CARRIER_MOUNT}/.` })
      )
      const tar = stream as Readable
      try {
        return await consume(tar)
      } finally {
        // The carrier stays locked until its archive stream is drained or destroyed.
        tar.destroy()
      }
    })
  }

  /**
   * Unpacks a `./`-relative tar into the volume (which must exist), then applies `rootEntry`,
   * a one-entry tar naming `volume/`, so that the root's own owner, mode and mtime come back.
   */
  async writeVolume(name: string, tar: Readable, rootEntry: Buffer): Promise<void> {
    await this.inspectVolume(name)
    await this.withCarrier(name, false, async id => {
      const container = this.docker.getContainer(id)
      await this.call(`write volume ${name}`, () =>
        upload(tar, signal =>
          container.putArchive(tar, { path: CARRIER_MOUNT, abortSignal: signal })
        )
      )
      await this.call(`set the root of volume ${name}`, () =>
        container.putArchive(rootEntry, { path: '/' })
      )
    })
  }

  /** Streams a path of a container (running or not) as a tar; used for bind mounts. */
  async readContainerPath<T>(
    id: string,
    path: string,
    consume: (tar: Readable) => Promise<T>
  ): Promise<T> {
    const stream = await this.call(`read ${path} of container ${id}`, () =>
      this.docker.getContainer(id).getArchive({ path: `${path.replace(/\/$/, '')}/.` })
    )
    const tar = stream as unknown as Readable
    try {
      return await consume(tar)
    } finally {
      tar.destroy()
    }
  }

  /**
   * Whether each path is a directory, something else (a file), or missing in `image`'s file
   * system, read from a never-started container of it that is removed again.
   */
  async pathKinds(image: string, paths: string[]): Promise<Map<string, PathKind>> {
    const id = await this.createContainer({
      name: `docker-snapshot-probe-${process.pid}-${Date.now().toString(36)}`,
      Image: image,
      Cmd: ['/probe'],
      Labels: { [CARRIER_LABEL]: carrierOwner },
      HostConfig: { NetworkMode: 'none' }
    })
    try {
      const kinds = new Map<string, PathKind>()
      for (const path of paths) kinds.set(path, await this.pathKind(id, path))
      return kinds
    } finally {
      await this.removeContainer(id, { force: true }).catch((error: unknown) => {
        this.log.warn(`could not remove probe container ${id}: ${describeError(error)}`)
      })
    }
  }

  private async pathKind(id: string, path: string): Promise<PathKind> {
    try {
      const response = (await this.call(`stat ${path} of container ${id}`, () =>
        this.docker.getContainer(id).infoArchive({ path })
      )) as { headers: Record<string, string | undefined>; resume?: () => void }
      response.resume?.()
      const header = response.headers['x-docker-container-path-stat'] ?? ''
      const stat = JSON.parse(Buffer.from(header, 'base64').toString() || '{}') as { mode?: number }
      // Go's os.ModeDir.
      return ((stat.mode ?? 0) & 0x80000000) !== 0 ? 'directory' : 'file'
    } catch (error) {
      if (error instanceof NotFoundError) return 'missing'
      throw error
    }
  }

  // ---- replace: the originals kept aside until their replacements are proven ----

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call(`rename container ${id} to ${name}`, () =>
      this.docker.getContainer(id).rename({ name })
    )
  }

  /**
   * Copies the contents of volume `from` into volume `to` (which must exist), the root's owner,
   * mode and mtime included. `nested: 'to'` puts them into directory `volume/` of `to` instead
   * of its root (a copy kept beside other things); `nested: 'from'` takes them from that
   * directory of `from`. `signal` stops the copy midway.
   */
  async copyVolume(
    from: string,
    to: string,
    options: { nested?: 'from' | 'to'; signal?: AbortSignal } = {}
  ): Promise<void> {
    const { nested, signal } = options
    signal?.throwIfAborted()
    await this.inspectVolume(from)
    await this.inspectVolume(to)
    await this.withCarrier(from, true, source =>
      this.withCarrier(to, false, async target => {
        // The archive of a directory names its entries after it (`volume/...`), the directory
        // itself first: unpacked where a `volume` directory is meant, root metadata included.
        const stream = (await this.call(`read volume ${from}`, () =>
          this.docker.getContainer(source).getArchive({
            path: nested === 'from' ? `${CARRIER_MOUNT}/volume` : CARRIER_MOUNT
          })
        )) as Readable
        const tar = signal ? addAbortSignal(signal, stream) : stream
        try {
          await this.call(`copy volume ${from} to ${to}`, () =>
            upload(tar, abort =>
              this.docker.getContainer(target).putArchive(tar, {
                path: nested === 'to' ? CARRIER_MOUNT : '/',
                abortSignal: abort
              })
            )
          )
        } finally {
          stream.destroy()
        }
      })
    )
  }

  /** Adds an empty directory `name` at the volume's root (a marker a human can look for). */
  async markVolume(volume: string, name: string): Promise<void> {
    await this.inspectVolume(volume)
    const marker = rootEntryTar(
      { uid: 0, gid: 0, mode: 0o755, mtime: Math.floor(Date.now() / 1000) },
      name
    )
    await this.withCarrier(volume, false, id =>
      this.call(`mark volume ${volume} with ${name}`, () =>
        this.docker.getContainer(id).putArchive(marker, { path: CARRIER_MOUNT })
      )
    )
  }

  /**
   * Deletes everything inside the volume but keeps the volume, which a stopped container may
   * still mount (the engine refuses to remove it then). The archive API cannot delete, so a
   * short-lived container of `image` (which needs /bin/sh and rm) does it as root.
   */
  async emptyVolume(name: string, image: string): Promise<void> {
    await this.inspectVolume(name)
    const id = await this.createContainer({
      name: `docker-snapshot-emptier-${process.pid}-${Date.now().toString(36)}`,
      Image: image,
      Entrypoint: [
        '/bin/sh',
        '-c',
        `rm -rf ${CARRIER_MOUNT}/..?* ${CARRIER_MOUNT}/.[!.]* ${CARRIER_MOUNT}/*`
      ],
      User: '0:0',
      WorkingDir: '/',
      Healthcheck: { Test: ['NONE'] },
      Labels: { [CARRIER_LABEL]: carrierOwner },
      HostConfig: {
        Mounts: [{ Type: 'volume', Source: name, Target: CARRIER_MOUNT }],
        NetworkMode: 'none'
      }
    })
    try {
      await this.startContainer(id)
      const result = (await this.call(`wait for container ${id} emptying volume ${name}`, () =>
        this.docker.getContainer(id).wait()
      )) as { StatusCode?: number }
      if (result.StatusCode !== 0) {
        throw new EngineError(
          `empty volume ${name}: rm in a container of image ${image} exited with ` +
            `${String(result.StatusCode)}`
        )
      }
    } finally {
      // Anonymous volumes the image declares go with it; named ones (this one) stay.
      await this.removeContainer(id, { force: true, volumes: true }).catch((error: unknown) => {
        this.log.warn(`could not remove container ${id}: ${describeError(error)}`)
      })
    }
  }

  // ---- networks ----

  async findNetwork(name: string): Promise<NetworkDetails | undefined> {
    try {
      return await this.call(`inspect network ${name}`, () =>
        this.docker.getNetwork(name).inspect()
      )
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async createNetwork(spec: NetworkCreateSpec): Promise<string> {
    const network = await this.call(`create network ${spec.Name}`, () =>
      this.docker.createNetwork({ ...spec, CheckDuplicate: true })
    )
    return network.id
  }

  async connectNetwork(
    network: string,
    container: string,
    endpoint: { aliases: string[]; ipv4Address?: string; ipv6Address?: string }
  ): Promise<void> {
    const ipam =
      endpoint.ipv4Address || endpoint.ipv6Address
        ? { IPv4Address: endpoint.ipv4Address, IPv6Address: endpoint.ipv6Address }
        : undefined
    await this.call(`connect container ${container} to network ${network}`, () =>
      this.docker.getNetwork(network).connect({
        Container: container,
        EndpointConfig: { Aliases: endpoint.aliases, IPAMConfig: ipam }
      })
    )
  }

  async removeNetwork(name: string): Promise<void> {
    await this.call(`remove network ${name}`, () => this.docker.getNetwork(name).remove())
  }
}
