/**
 * On-conflict replace keeps the originals until their replacements are created, started and
 * healthy: each container is stopped and renamed `<name>-aside-<run>`, each volume's contents are
 * copied into directory `volume/` of a volume `<name>-aside-<run>` first, and a directory
 * `complete/` beside it says the copy is whole. A failed or interrupted restore puts them back as
 * they were; only a successful one removes them. A killed one leaves them under those names.
 * The volumes' side of this lives in aside-volumes.ts.
 */
import { randomBytes } from 'node:crypto'
import type { Engine } from '../docker/engine.js'
import { ConflictError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { HoldOptions } from '../snapshot/holds.js'
import { Holds, holdName } from '../snapshot/holds.js'
import { VolumesAside, asideName, type PutBack } from './aside-volumes.js'
import type { PlannedContainer, PlannedVolume } from './plan.js'

interface ContainerAside {
  id: string
  name: string
  aside: string
  image: string
  running: boolean
  paused: boolean
  renamed: boolean
}

export class Originals {
  readonly run = randomBytes(3).toString('hex')
  private readonly containers: ContainerAside[] = []
  private readonly volumes: VolumesAside
  /** The containers to replace are held, as a snapshot holds them, while they are aside. */
  private readonly holds: Holds

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    holdOptions: HoldOptions
  ) {
    this.holds = new Holds(engine, log, holdOptions)
    this.volumes = new VolumesAside(engine, log, this.run)
  }

  /** Whether anything was (or was being) set aside. */
  get any(): boolean {
    return this.containers.length > 0 || this.volumes.any
  }

  /**
   * Stops the containers to replace (dependents first) and renames them aside. First, changing
   * nothing: holds them, waiting for a run (a snapshot) that has them paused or stopped to
   * finish (ContainerHeldError when it does not in time), then refuses (ConflictError) what
   * cannot be kept aside: a running container the engine removes when it stops, a volume they
   * keep in use that cannot be emptied in place.
   */
  async setAsideContainers(
    containers: PlannedContainer[],
    volumes: PlannedVolume[]
  ): Promise<void> {
    const replacing = containers.flatMap(c =>
      c.action === 'replace' && c.existing !== undefined ? [c.existing] : []
    )
    const entries: ContainerAside[] = []
    try {
      // Held first: their state is read once no snapshot has them paused or stopped.
      await this.holds.acquire(replacing)
      for (const existing of replacing) {
        const details = await this.engine.inspectContainer(existing.id)
        if (details.State.Running && details.HostConfig.AutoRemove === true) {
          throw new ConflictError(
            `Cannot replace container ${existing.name}: the engine removes it when it stops ` +
              '(AutoRemove), so it cannot be kept aside. Nothing was changed. Stop it yourself ' +
              'if it may go, or restore beside it with a prefix.'
          )
        }
        entries.push({
          id: details.Id,
          name: existing.name,
          aside: asideName(existing.name, this.run),
          image: details.Image,
          running: details.State.Running,
          paused: details.State.Paused,
          renamed: false
        })
      }
      await this.checkEmptiers(entries, volumes)
    } catch (error) {
      await this.releaseHolds()
      throw error
    }
    for (const entry of [...entries].reverse()) {
      // Kept in dependency order, to be started again in it.
      this.containers.unshift(entry)
      if (entry.paused) await this.engine.unpauseContainer(entry.id)
      if (entry.running) await this.engine.stopContainer(entry.id)
      await this.engine.renameContainer(entry.id, entry.aside)
      entry.renamed = true
      this.log.info(
        `container ${entry.name}: ${entry.running ? 'stopped and ' : ''}kept aside as ` +
          `${entry.aside} until its replacement is healthy`
      )
    }
  }

  /** A volume kept in use is emptied by a container of its user's image: it needs a shell. */
  private async checkEmptiers(entries: ContainerAside[], volumes: PlannedVolume[]) {
    for (const volume of volumes) {
      const users = entries.filter(e => volume.users.includes(e.name))
      if (volume.action !== 'replace' || users.length === 0) continue
      const image = users[0]!.image
      const kinds = await this.engine.pathKinds(image, ['/bin/sh'])
      if (kinds.get('/bin/sh') !== 'missing') continue
      const names = users.map(u => u.name).join(', ')
      throw new ConflictError(
        `Cannot replace volume ${volume.target} in place: ${names} keep it in use while they ` +
          `are set aside, and their image ${image} has no /bin/sh to empty it with. Nothing ` +
          `was changed. Remove ${names} yourself (the volume is then replaced whole), or ` +
          'restore beside them with a prefix.'
      )
    }
  }

  /** Copies the volume's contents into its aside volume; `signal` stops the copy midway. */
  async setAsideVolume(volume: PlannedVolume, signal?: AbortSignal): Promise<void> {
    const users = this.containers.filter(c => volume.users.includes(c.name))
    await this.volumes.setAside(volume, users, signal)
  }

  /**
   * Deletes the original's contents so that the snapshot's can be written: emptied in place
   * while a container set aside mounts it, else the volume is removed (`removed`: the caller
   * creates it anew, as the snapshot recorded it).
   */
  clearVolume(name: string): Promise<'emptied' | 'removed'> {
    return this.volumes.clear(name)
  }

  /**
   * Puts every original back as it was: each volume's contents, then each container under its
   * name, started (and paused) again if it was. A container whose volume could not be put back
   * stays stopped aside. Call after removing the replacements, which hold the names.
   */
  async putBack(): Promise<PutBack> {
    const result: PutBack = { back: [], left: [] }
    const failed = await this.volumes.putBack(result)
    for (const entry of this.containers) {
      const lost = this.volumes.lostBy(entry.name, failed)
      if (lost.length > 0) {
        result.left.push(
          `container ${entry.name} stays stopped as ${entry.aside}, since its volume ` +
            `${lost.join(', ')} could not be put back`
        )
        continue
      }
      try {
        if (entry.renamed) await this.engine.renameContainer(entry.id, entry.name)
        entry.renamed = false
        if (entry.running) await this.engine.startContainer(entry.id)
        if (entry.paused) await this.engine.pauseContainer(entry.id)
        const state = entry.paused ? 'paused' : entry.running ? 'running' : 'stopped'
        result.back.push(`container ${entry.name} (${state})`)
        this.log.info(`container ${entry.name}: put back (${state})`)
      } catch (error) {
        const where = entry.renamed ? `as ${entry.aside}` : `as ${entry.name}`
        result.left.push(`container ${entry.name} (${describeError(error)}): it is ${where}`)
      }
    }
    await this.releaseHolds()
    return result
  }

  /** Removes the holds on the containers set aside; one that cannot be removed is a warning. */
  private async releaseHolds(): Promise<void> {
    for (const id of this.holds.containers) {
      await this.holds
        .release(id)
        .catch((error: unknown) =>
          this.log.warn(
            `could not remove the hold ${holdName(id)}: ${describeError(error)}; the next ` +
              'docker-snapshot command removes it'
          )
        )
    }
  }

  /**
   * After a successful restore: removes the originals kept aside. Returns what was replaced;
   * what could not be removed is a warning, not a failure.
   */
  async discard(): Promise<string[]> {
    for (const entry of this.containers) {
      await this.engine.removeContainer(entry.id, { force: true }).then(
        () => this.log.info(`removed container ${entry.aside} (the original ${entry.name})`),
        (error: unknown) =>
          this.log.warn(
            `could not remove ${entry.aside}: ${describeError(error)}; remove it by hand`
          )
      )
    }
    const volumes = await this.volumes.discard()
    await this.releaseHolds()
    return [...this.containers.map(c => `container ${c.name}`), ...volumes]
  }
}
