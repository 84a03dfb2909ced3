/**
 * The volumes kept aside while on-conflict replace restores them (see aside.ts): each one's
 * contents copied into directory `volume/` of a volume `<name>-aside-<run>`, a directory
 * `complete/` beside it saying the copy is whole, and copied back when the restore fails.
 */
import type { Engine } from '../docker/engine.js'
import type { VolumeCreateSpec } from '../docker/types.js'
import { SnapshotError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { PlannedVolume } from './plan.js'

/** On an aside volume: the volume whose original contents it holds. */
const ASIDE_OF_LABEL = 'docker-snapshot.aside-of'
/** On an aside volume: the restore run that made it (the `<run>` of the names). */
const ASIDE_RUN_LABEL = 'docker-snapshot.aside-run'

/** In an aside volume: the directory that says its copy is whole (the original may be changed). */
const ASIDE_COMPLETE = 'complete'

/** The name an original container or volume's copy has while it is kept aside. */
export function asideName(name: string, run: string): string {
  return `${name}-aside-${run}`
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

/** The volumes of one restore run kept aside, in the order they were. */
export class VolumesAside {
  private readonly entries: VolumeAside[] = []

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly run: string
  ) {}

  /** Whether any volume was (or was being) set aside. */
  get any(): boolean {
    return this.entries.length > 0
  }

  /**
   * Copies the volume's contents into its aside volume; `users`, the containers set aside that
   * mount it, keep it in use (it is emptied in place then). `signal` stops the copy midway.
   */
  async setAside(
    volume: PlannedVolume,
    users: { name: string; image: string }[],
    signal?: AbortSignal
  ): Promise<void> {
    const details = await this.engine.inspectVolume(volume.target)
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
    this.entries.push(entry)
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
  async clear(name: string): Promise<'emptied' | 'removed'> {
    const entry = this.entries.find(v => v.name === name)
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
   * Puts every volume's contents back, last first, into `result`; returns the names of those
   * that could not be.
   */
  async putBack(result: PutBack): Promise<Set<string>> {
    const failed = new Set<string>()
    for (const entry of [...this.entries].reverse()) {
      try {
        const done = await this.putBackOne(entry)
        if (done) result.back.push(done)
      } catch (error) {
        failed.add(entry.name)
        result.left.push(
          `volume ${entry.name} (${describeError(error)}): its original contents are in volume ` +
            `${entry.aside}`
        )
      }
    }
    return failed
  }

  /** The volumes in `failed` that `container` mounts. */
  lostBy(container: string, failed: Set<string>): string[] {
    return this.entries
      .filter(v => failed.has(v.name) && v.users.includes(container))
      .map(v => v.name)
  }

  /** One volume back; what to report, or undefined when it was never touched. */
  private async putBackOne(entry: VolumeAside): Promise<string | undefined> {
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

  /** Removes the aside volumes; what could not be removed is a warning. Returns their originals. */
  async discard(): Promise<string[]> {
    for (const entry of this.entries) {
      await this.engine.removeVolume(entry.aside).then(
        () =>
          this.log.info(`removed volume ${entry.aside} (the original ${entry.name}'s contents)`),
        (error: unknown) =>
          this.log.warn(
            `could not remove ${entry.aside}: ${describeError(error)}; remove it by hand`
          )
      )
    }
    return this.entries.map(v => `volume ${v.name}`)
  }
}
