/**
 * Bind mounts of restored containers. A restore mounts the recorded host paths as they are; a
 * throwaway copy (verify's restore check, the drill beside the original) must never write to the
 * original's live files, so each of its writable bind mounts becomes a fresh volume of its own,
 * holding the contents the snapshot captured, or empty when it captured none.
 */
import { inspectArchive, rootEntryTar } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { ArchiveIntegrityError, ConflictError, InvalidSettingsError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type {
  ArchiveRecord,
  ContainerRecord,
  MountRecord,
  RootMetadata
} from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { openArchiveTar } from './archives.js'
import { type BindReplacement, normalizePath } from './create-body.js'
import { type NameMap, parseVolumesFrom, stringArray } from './names.js'
import type { PlannedContainer } from './plan.js'
import type { BindMountPolicy, RestoredBindMount } from './types.js'

export interface PlannedBindMount {
  report: RestoredBindMount
  /** Key of the container's image: a volume can stand in for a directory of it, not a file. */
  image: string
  /** The captured contents to fill the fresh volume with (`captured`). */
  archive?: ArchiveRecord
  /** The captured root's owner, mode and mtime, known once the archive was proven. */
  root?: RootMetadata
}

/**
 * The bind mounts of the containers to create and what each gets under `policy`. Under `isolate`
 * a read-only one without captured contents keeps its host path, read-only; a bind mount the container inherits through volumes-from comes from the copy of its source; one
 * from a container outside the snapshot is refused, naming it, before anything is changed.
 */
export function planBindMounts(
  containers: PlannedContainer[],
  records: ReadonlyMap<string, ContainerRecord>,
  names: NameMap,
  policy: BindMountPolicy
): PlannedBindMount[] {
  const planned: PlannedBindMount[] = []
  for (const { record, target, action } of containers) {
    if (action === 'skip') continue
    for (const [index, mount] of record.mounts.entries()) {
      if (mount.type !== 'bind') continue
      const report: RestoredBindMount = {
        container: target,
        source: mount.source,
        destination: mount.destination,
        given: 'host',
        readOnly: mount.readOnly
      }
      if (policy === 'host' || (mount.readOnly && mount.archive === undefined)) {
        planned.push({ report, image: record.image })
        continue
      }
      if (!declaresBind(record, mount)) {
        if (inheritedFromSnapshot(record, mount, records, names)) continue
        throw new InvalidSettingsError(
          `Container ${record.name} mounts host path ${mount.source} at ${mount.destination} ` +
            'writable through volumes-from a container outside the snapshot; a throwaway copy ' +
            'never mounts an original bind mount writable. Snapshot that container too.'
        )
      }
      report.volume = `${target}-bind-${index}`
      if (mount.archive === undefined) report.given = 'empty'
      else report.given = 'captured'
      planned.push({
        report,
        image: record.image,
        ...(mount.archive && { archive: mount.archive })
      })
    }
  }
  return planned
}

/** Whether the container's own create body names this bind mount (not volumes-from). */
function declaresBind(record: ContainerRecord, mount: MountRecord): boolean {
  const host = record.create.HostConfig
  const destination = normalizePath(mount.destination)
  const inBinds = stringArray(host.Binds).some(bind => {
    const [source, target] = bind.split(':')
    return source?.startsWith('/') === true && normalizePath(target ?? '') === destination
  })
  const inMounts = (Array.isArray(host.Mounts) ? (host.Mounts as unknown[]) : []).some(entry => {
    const { Type, Target } = (entry ?? {}) as { Type?: unknown; Target?: unknown }
    return Type === 'bind' && typeof Target === 'string' && normalizePath(Target) === destination
  })
  return inBinds || inMounts
}

function inheritedFromSnapshot(
  record: ContainerRecord,
  mount: MountRecord,
  records: ReadonlyMap<string, ContainerRecord>,
  names: NameMap
): boolean {
  return stringArray(record.create.HostConfig.VolumesFrom).some(value => {
    const source = names.snapshotContainer(parseVolumesFrom(value).container)
    const from = source === undefined ? undefined : records.get(source)
    return (
      from?.mounts.some(
        m => m.type === 'bind' && m.source === mount.source && m.destination === mount.destination
      ) === true
    )
  })
}

/** One line for the log and the summary: what the container got for the bind mount. */
export function describeBindMount({
  container,
  source,
  destination,
  given,
  readOnly,
  volume
}: RestoredBindMount): string {
  const where = `${container} ${destination}`
  switch (given) {
    case 'host':
      return readOnly
        ? `${where}: host path ${source}, read-only as in the original`
        : `${where}: host path ${source} as it is (its contents are not restored)`
    case 'captured':
      return `${where}: the snapshot's captured contents of ${source} in volume ${volume}, not the host path`
    case 'empty':
      return (
        `${where}: empty volume ${volume}, not the host path ${source} (the snapshot did not ` +
        'capture it; snapshot with bind-mounts: capture to check its contents too)'
      )
    case 'image':
      return (
        `${where}: the image's own file there, in the container's layer, not the host file ` +
        `${source} (the snapshot did not capture it)`
      )
  }
}

/** Proves each captured archive before anything is changed, and keeps its root's metadata. */
export async function verifyBindArchives(
  store: SnapshotStore,
  snapshotId: string,
  mounts: PlannedBindMount[],
  log: Logger
): Promise<void> {
  for (const mount of mounts) {
    const archive = mount.archive
    if (archive === undefined) continue
    if (archive.compression === 'none') {
      throw new ArchiveIntegrityError(
        `Archive ${archive.object} of bind mount ${mount.report.source} is recorded as ` +
          'uncompressed; docker-snapshot never writes bind mounts so. Restore from another snapshot.'
      )
    }
    const inspection = await inspectArchive(await store.get(snapshotId, archive.object), {
      ...archive,
      compression: archive.compression
    })
    mount.root = inspection.root
    log.info(
      `${archive.object}: sha256 and size match, ${inspection.entries} entries safe to unpack`
    )
  }
}

/**
 * Creates the fresh volumes and writes the captured contents into them; `created` learns each
 * volume as soon as it exists, so that a failure removes it with the rest. A volume cannot be
 * mounted on a file: where the image (`imageOf` a key) has a file, the container keeps the image's.
 */
export async function createBindVolumes(
  engine: Engine,
  store: SnapshotStore,
  snapshotId: string,
  mounts: PlannedBindMount[],
  imageOf: (key: string) => string,
  created: string[],
  log: Logger
): Promise<void> {
  await keepImageFiles(engine, mounts, imageOf, log)
  for (const mount of mounts) {
    const { volume } = mount.report
    if (volume === undefined) continue
    // The engine answers a create of an existing name with that volume: never fill someone's.
    if (await engine.findVolume(volume)) {
      throw new ConflictError(
        `Volume ${volume} exists; it would stand in for bind mount ${mount.report.source}. ` +
          'Remove it or restore with another prefix.'
      )
    }
    await engine.createVolume({ name: volume, driver: 'local', driverOptions: {}, labels: {} })
    created.push(volume)
    if (mount.archive !== undefined && mount.root !== undefined) {
      const what = `bind mount ${mount.report.source}`
      const { tar, check } = openArchiveTar(store, snapshotId, mount.archive, what)
      await engine.writeVolume(volume, tar, rootEntryTar(mount.root, 'volume'))
      check()
    }
    log.info(
      `volume ${volume}: created ${mount.archive === undefined ? 'empty' : `with the captured contents of ${mount.report.source}`}`
    )
  }
}

async function keepImageFiles(
  engine: Engine,
  mounts: PlannedBindMount[],
  imageOf: (key: string) => string,
  log: Logger
): Promise<void> {
  const empty = mounts.filter(m => m.report.given === 'empty')
  for (const image of new Set(empty.map(m => m.image))) {
    const ofImage = empty.filter(m => m.image === image)
    const kinds = await engine.pathKinds(
      imageOf(image),
      ofImage.map(m => m.report.destination)
    )
    for (const { report } of ofImage) {
      if (kinds.get(report.destination) !== 'file') continue
      report.given = 'image'
      delete report.volume
      log.info(describeBindMount(report))
    }
  }
}

/** The replacements for one container's create body, by the bind mounts' destinations. */
export function bindReplacements(
  mounts: PlannedBindMount[],
  container: string
): Map<string, BindReplacement> {
  const replacements = new Map<string, BindReplacement>()
  for (const { report } of mounts) {
    if (report.container !== container || report.given === 'host') continue
    replacements.set(report.destination, { volume: report.volume, readOnly: report.readOnly })
  }
  return replacements
}
