/** The container calls of the Engine: lifecycle, exec, commit, health, reading a path. */
import type Docker from 'dockerode'
import { Writable, type Readable } from 'node:stream'
import { EngineError, HealthError } from '../shared/errors.js'
import { EngineCalls, engineMessage, type EngineErrorShape } from './engine-calls.js'
import type { ContainerCreateSpec, ContainerDetails, ContainerSummary } from './types.js'

/** How long removeContainer waits for a removal the engine began already, and how often it looks. */
const REMOVAL_WAIT_MS = 30_000
const REMOVAL_POLL_MS = 100

/** Containers: the layer of the Engine above the connection. */
export class ContainerCalls extends EngineCalls {
  listContainers(filters: Record<string, string[]> = {}): Promise<ContainerSummary[]> {
    return this.call('list containers', () => this.docker.listContainers({ all: true, filters }))
  }

  inspectContainer(nameOrId: string): Promise<ContainerDetails> {
    return this.call(`inspect container ${nameOrId}`, () =>
      this.docker.getContainer(nameOrId).inspect()
    )
  }

  /** The container's details, or undefined when there is none of that name. */
  findContainer(nameOrId: string): Promise<ContainerDetails | undefined> {
    return this.unlessMissing(() => this.inspectContainer(nameOrId))
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

  /**
   * Removes a container. When the engine is removing it already (another docker-snapshot run on
   * this host repairing the same killed run's carriers and holds), waits until it is gone instead
   * of failing.
   */
  async removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}) {
    await this.call(`remove container ${id}`, async () => {
      const container = this.docker.getContainer(id)
      try {
        await container.remove({ force: options.force, v: options.volumes })
      } catch (error) {
        const { statusCode } = error as EngineErrorShape
        const inProgress = /removal of container .* already in progress/.test(engineMessage(error))
        if (statusCode !== 409 || !inProgress) {
          throw error
        }
        for (let waited = 0; waited < REMOVAL_WAIT_MS; waited += REMOVAL_POLL_MS) {
          await new Promise(resolve => setTimeout(resolve, REMOVAL_POLL_MS))
          const gone = await container.inspect().then(
            () => false,
            (inspectError: unknown) => (inspectError as EngineErrorShape).statusCode === 404
          )
          if (gone) return
        }
        throw error
      }
    })
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

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call(`rename container ${id} to ${name}`, () =>
      this.docker.getContainer(id).rename({ name })
    )
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
}
