/** The volume calls of the Engine: create, list, remove, and stream, copy, mark or empty one. */
import { addAbortSignal, type Readable } from 'node:stream'
import { rootEntryTar } from '../archive/root-entry.js'
import { EngineError, describeError } from '../shared/errors.js'
import { CARRIER_LABEL, CARRIER_MOUNT, CarrierCalls, carrierOwner } from './carriers.js'
import { upload } from './engine-calls.js'
import type { VolumeCreateSpec, VolumeDetails } from './types.js'

/** Volumes: the layer of the Engine above carriers, through which their contents travel. */
export class VolumeCalls extends CarrierCalls {
  inspectVolume(name: string): Promise<VolumeDetails> {
    return this.call(`inspect volume ${name}`, () =>
      this.docker.getVolume(name).inspect()
    ) as Promise<VolumeDetails>
  }

  findVolume(name: string): Promise<VolumeDetails | undefined> {
    return this.unlessMissing(() => this.inspectVolume(name))
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
}
