/**
 * Snapshots as docker-snapshot kept them before the image layout: `<root>/<id>/<object name>`,
 * with `<root>/<id>/manifest.json`. They are still listed, read and deleted; nothing new is
 * written this way. Once a root is an image layout, its `blobs` directory is not a snapshot.
 */
import { open, readdir, stat } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { InvalidSettingsError, StoreError, errorMessage } from '../../shared/errors.js'
import { MANIFEST_FILE } from '../../manifest/manifest.js'
import { isValidObjectName, isValidSnapshotId } from '../../manifest/schema.js'
import type { StoredSnapshot } from '../store.js'
import { errorCode, isDirectory, isFile, totalFileBytes } from './files.js'
import { isLayout } from './layout.js'
import { PARTIAL_SUFFIX } from './staging.js'

/** Throws InvalidSettingsError for an id no snapshot can have. */
export function checkSnapshotId(snapshotId: string): void {
  if (!isValidSnapshotId(snapshotId)) {
    throw new InvalidSettingsError(
      `Invalid snapshot id '${snapshotId}'. Expected 1 to 128 characters of a-z, 0-9, '.', '_' ` +
        `and '-', starting with a letter or digit.`
    )
  }
}

/** Throws InvalidSettingsError for a name no object can have (nor leave its snapshot with). */
export function checkObjectName(name: string): void {
  if (!isValidObjectName(name) || name.endsWith(PARTIAL_SUFFIX)) {
    throw new InvalidSettingsError(
      `Invalid object name '${name}'. Expected a relative path of non-empty segments, none of ` +
        `them '.' or '..', without backslashes, control characters, a leading '/' or a ` +
        `'${PARTIAL_SUFFIX}' suffix, e.g. volumes/pgdata.tar.zst`
    )
  }
  const inside = relative('/snapshot', join('/snapshot', name))
  if (inside === '' || inside.startsWith(`..${sep}`) || inside !== name) {
    throw new InvalidSettingsError(
      `Invalid object name '${name}': it leaves the snapshot directory`
    )
  }
}

/** Whether `<root>/<id>` is a snapshot of the older layout. */
export async function isLegacySnapshot(root: string, snapshotId: string): Promise<boolean> {
  if (snapshotId === 'blobs' && (await isLayout(root))) return false
  return isDirectory(join(root, snapshotId))
}

/** The ids of the older layout's snapshots: the directories of `root` named like one. */
export async function legacyIds(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true })
  const layout = await isLayout(root)
  // Staging and bookkeeping directories start with '.', which no snapshot id does.
  return entries
    .filter(entry => entry.isDirectory() && isValidSnapshotId(entry.name))
    .map(entry => entry.name)
    .filter(name => !(layout && name === 'blobs'))
}

export async function describeLegacy(root: string, snapshotId: string): Promise<StoredSnapshot> {
  const directory = join(root, snapshotId)
  return {
    snapshotId,
    hasManifest: await isFile(join(directory, MANIFEST_FILE)),
    modifiedAt: (await stat(directory)).mtime,
    bytes: await totalFileBytes(directory)
  }
}

/** The path of an older snapshot's object. */
export function legacyObjectPath(root: string, snapshotId: string, name: string): string {
  return resolve(root, snapshotId, name)
}

/**
 * A stream of an older snapshot's object, or undefined when it has no such object (a directory
 * of that name is none).
 */
export async function openLegacyObject(
  root: string,
  snapshotId: string,
  name: string,
  description: string
): Promise<Readable | undefined> {
  const path = legacyObjectPath(root, snapshotId, name)
  try {
    const handle = await open(path, 'r')
    if (!(await handle.stat()).isFile()) {
      await handle.close()
      return undefined
    }
    return handle.createReadStream()
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw new StoreError(
      `cannot read object ${name} of snapshot ${snapshotId} from ${description}: ${errorMessage(error)}`,
      { cause: error }
    )
  }
}

/** Whether an older snapshot has the object. */
export async function hasLegacyObject(
  root: string,
  snapshotId: string,
  name: string,
  description: string
): Promise<boolean> {
  try {
    return await isFile(legacyObjectPath(root, snapshotId, name))
  } catch (error) {
    throw new StoreError(
      `cannot check object ${name} of snapshot ${snapshotId} in ${description}: ${errorMessage(error)}`,
      { cause: error }
    )
  }
}
