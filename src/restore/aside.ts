/**
 * On-conflict replace keeps the originals until their replacements are created, started and
 * healthy: each container is stopped and renamed `<name>-aside-<run>`, each volume's contents are
 * copied into directory `volume/` of a volume `<name>-aside-<run>` first, and a directory
 * `complete/` beside it says the copy is whole. A failed or interrupted restore puts them back as
 * they were; only a successful one removes them. A killed one leaves them under those names.
 */
import { randomBytes } from 'node:crypto'
import type { Engine } from '../docker/engine.js'
import type { VolumeCreateSpec } from '../docker/types.js'
import { ConflictError, SnapshotError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { HoldOptions } from '../snapshot/holds.js'
import { Holds, holdName } from '../snapshot/holds.js'
import type { PlannedContainer, PlannedVolume } from './plan.js'

/** On an aside volume: the volume whose original contents it holds. */
const ASIDE_OF_LABEL = 'docker-snapshot.aside-of'
/** On an aside volume: the restore run that made it (the `<run>` of the names). */
const ASIDE_RUN_LABEL = 'docker-snapshot.aside-run'

/** In an aside volume: the directory that says its copy is whole (the original may be changed). */
const ASIDE_COMPLETE = 'complete'

/** The name an original container or volume's copy has while it is kept aside. */
function asideName(name: string, run: string): string {
  return `${name}-aside-${run}`
}

interface ContainerAside {
  id: string
  name: string
  aside: string
  image: string
  running: boolean
  paused: boolean
  renamed: boolean
}

interface VolumeAside {
  name: string
  aside: string
  /** The original's driver, options and labels, to create it again after it was removed. */
  spec: VolumeCreateSpec
  /** Containers set aside that mount it. */
  users: string[]
  /** Image of one of them (it has /bin/sh): the volume stays (in use) and is emptied with it. */
  emptier?: string
  asideCreated: boolean
  copied: boolean
  /** The original contents were (or may have been, when emptying failed midway) deleted. */
  cleared: boolean
}

/** What putting the originals back achieved. */
export interface PutBack {
  back: string[]
  left: string[]
}

export class Originals {
  readonly run = randomBytes(3).toString('hex')
  private readonly containers: ContainerAside[] = []
  private readonly volumes: VolumeAside[] = []
  /** The containers to replace are held, as a snapshot holds them, while they are aside. */
  private readonly holds: Holds

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    holdOptions: HoldOptions
  ) {
    this.holds = new Holds(engine, log, holdOptions)
  }

  /** Whether anything was (or was being) set aside. */
  get any(): boolean {
    return this.containers.length > 0 || this.volumes.length > 0
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
    const details = await this.engine.inspectVolume(volume.target)
    const users = this.containers.filter(c => volume.users.includes(c.name))
    const entry: VolumeAside = {
      name: volume.target,
      aside: asideName(volume.target, this.run),
      spec: {
        name: volume.target,
        driver: details.Driver,
        driverOptions: details.Options ?? {},
        labels: details.Labels ?? {}
      },
      users: users.map(c => c.name),
      emptier: users[0]?.image,
      asideCreated: false,
      copied: false,
      cleared: false
    }
    this.volumes.push(entry)
    const started = Date.now()
    await this.engine.createVolume({
      name: entry.aside,
      driver: 'local',
      driverOptions: {},
      labels: { [ASIDE_OF_LABEL]: entry.name, [ASIDE_RUN_LABEL]: this.run }
    })
    entry.asideCreated = true
    await this.engine.copyVolume(entry.name, entry.aside, { nested: 'to', signal })
    await this.engine.markVolume(entry.aside, ASIDE_COMPLETE)
    entry.copied = true
    this.log.info(
      `volume ${entry.name}: contents copied aside into ${entry.aside} (${Date.now() - started} ms)`
    )
  }

  /**
   * Deletes the original's contents so that the snapshot's can be written: emptied in place
   * while a container set aside mounts it, else the volume is removed (`removed`: the caller
   * creates it anew, as the snapshot recorded it).
   */
  async clearVolume(name: string): Promise<'emptied' | 'removed'> {
    const entry = this.volumes.find(v => v.name === name)
    if (!entry?.copied) {
      throw new SnapshotError(`volume ${name} has no aside copy: it must not be cleared`)
    }
    if (entry.emptier === undefined) {
      await this.engine.removeVolume(name)
      entry.cleared = true
      return 'removed'
    }
    entry.cleared = true
    await this.engine.emptyVolume(name, entry.emptier)
    this.log.info(
      `volume ${name}: emptied in place (${entry.users.join(', ')}, kept aside, still mount it); ` +
        'it keeps its driver and labels'
    )
    return 'emptied'
  }

  /**
   * Puts every original back as it was: each volume's contents, then each container under its
   * name, started (and paused) again if it was. A container whose volume could not be put back
   * stays stopped aside. Call after removing the replacements, which hold the names.
   */
  async putBack(): Promise<PutBack> {
    const result: PutBack = { back: [], left: [] }
    const failed = new Set<string>()
    for (const entry of [...this.volumes].reverse()) {
      try {
        const done = await this.putBackVolume(entry)
        if (done) result.back.push(done)
      } catch (error) {
        failed.add(entry.name)
        result.left.push(
          `volume ${entry.name} (${describeError(error)}): its original contents are in volume ` +
            `${entry.aside}`
        )
      }
    }
    for (const entry of this.containers) {
      const lost = this.volumes.filter(v => failed.has(v.name) && v.users.includes(entry.name))
      if (lost.length > 0) {
        result.left.push(
          `container ${entry.name} stays stopped as ${entry.aside}, since its volume ` +
            `${lost.map(v => v.name).join(', ')} could not be put back`
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

  /** One volume back; what to report, or undefined when it was never touched. */
  private async putBackVolume(entry: VolumeAside): Promise<string | undefined> {
    if (!entry.cleared) {
      if (entry.asideCreated) await this.engine.removeVolume(entry.aside)
      return entry.asideCreated ? `volume ${entry.name} (untouched)` : undefined
    }
    let note = ''
    if (entry.emptier !== undefined) {
      try {
        await this.engine.emptyVolume(entry.name, entry.emptier)
      } catch (error) {
        // The original's files are copied back over whatever is there; say what may remain.
        note =
          `; it could not be emptied first (${describeError(error)}), so files the restore ` +
          `wrote may remain beside the original ones, which are also kept in ${entry.aside}`
      }
    } else {
      if (await this.engine.findVolume(entry.name)) {
        throw new SnapshotError(`volume ${entry.name} still holds the restored copy`)
      }
      await this.engine.createVolume(entry.spec)
    }
    await this.engine.copyVolume(entry.aside, entry.name, { nested: 'from' })
    if (note === '') await this.engine.removeVolume(entry.aside)
    this.log.info(`volume ${entry.name}: original contents copied back`)
    return `volume ${entry.name} (contents copied back${note})`
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
    for (const entry of this.volumes) {
      await this.engine.removeVolume(entry.aside).then(
        () =>
          this.log.info(`removed volume ${entry.aside} (the original ${entry.name}'s contents)`),
        (error: unknown) =>
          this.log.warn(
            `could not remove ${entry.aside}: ${describeError(error)}; remove it by hand`
          )
      )
    }
    await this.releaseHolds()
    return [
      ...this.containers.map(c => `container ${c.name}`),
      ...this.volumes.map(v => `volume ${v.name}`)
    ]
  }
}
