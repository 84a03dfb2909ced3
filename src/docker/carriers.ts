/**
 * Carriers: never-started containers of an empty imported image, which mount a volume for an
 * archive copy, serve as locks on the engine, or probe an image's file system. None is ever
 * started, so nothing is pulled and nothing runs.
 */
import { Readable } from 'node:stream'
import { rootEntryTar } from '../archive/root-entry.js'
import { NotFoundError, describeError } from '../shared/errors.js'
import { processOwner } from '../shared/owner.js'
import { followProgress, type EngineErrorShape } from './engine-calls.js'
import { ImageCalls } from './images.js'

/** What a path is in a container's file system. */
export type PathKind = 'directory' | 'file' | 'missing'

/** The image of the never-started containers that carry a volume mount for archive copies. */
export const CARRIER_IMAGE = 'docker-snapshot/volume-carrier:1'
/** Carrier containers carry this label, valued with their owner (see `carrierOwner`). */
export const CARRIER_LABEL = 'docker-snapshot.carrier'
/** Which process made a carrier, so a later step can remove what a killed one left. */
export const carrierOwner = processOwner
/** Where a carrier container mounts the volume it carries. */
export const CARRIER_MOUNT = '/volume'

/** Carriers, locks and probes: the layer of the Engine above images. */
export class CarrierCalls extends ImageCalls {
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

  /**
   * Runs `fn` with a never-started container that mounts `volume` at `/volume` (read-only when
   * asked), and removes the container afterwards whatever happens.
   */
  protected async withCarrier<T>(
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
}
