/**
 * A store in a local directory: `<root>/<snapshotId>/<object name>`. Objects are written to
 * `<path>.partial`, synced, then renamed, so a reader sees an object whole or not at all.
 */
import {
  type FileHandle,
  access,
  constants,
  lstat,
  mkdir,
  open,
  readFile,
  readdir,
  rename,
  rm,
  stat
} from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { InvalidSettingsError, StoreError } from '../errors.js'
import { MANIFEST_FILE } from '../manifest.js'
import { isValidObjectName, isValidSnapshotId } from '../manifest-schema.js'
import type { SnapshotStore, StoredSnapshot } from './store.js'

const PARTIAL_SUFFIX = '.partial'

/** What was being written when a write failed, for the error message. */
export interface WriteFailureContext {
  /** The store's directory. */
  root: string
  /** `<snapshotId>/<object name>`. */
  object: string
  /** Bytes that reached the file before the failure. */
  bytesWritten: number
}

/** The directory that holds one snapshot's objects. Throws InvalidSettingsError for a bad id. */
export function snapshotDirectory(root: string, snapshotId: string): string {
  checkSnapshotId(snapshotId)
  return join(resolve(root), snapshotId)
}

/** Turns a failed write (mkdir, open, write, fsync, rename) into a StoreError that says what to do. */
export function writeFailure(error: unknown, context: WriteFailureContext): StoreError {
  const { root, object, bytesWritten } = context
  const written = `${bytesWritten} bytes written`
  switch (errorCode(error)) {
    case 'ENOSPC':
      return new StoreError(
        `store full: no space left on ${root} while writing ${object} (${written}); ` +
          'free space or choose another store',
        { cause: error }
      )
    case 'EDQUOT':
      return new StoreError(
        `disk quota exceeded on ${root} while writing ${object} (${written}); ` +
          'free space within your quota or choose another store',
        { cause: error }
      )
    case 'EACCES':
    case 'EPERM':
      return new StoreError(
        `permission denied writing ${object} in ${root}; ` +
          'make the store directory writable by this user or choose another store',
        { cause: error }
      )
    case 'EROFS':
      return new StoreError(
        `${root} is on a read-only file system; cannot write ${object}: choose a writable store directory`,
        { cause: error }
      )
    default:
      return new StoreError(
        `cannot write ${object} to directory ${root} (${written}): ${errorMessage(error)}`,
        { cause: error }
      )
  }
}

export class DirectoryStore implements SnapshotStore {
  readonly root: string
  readonly description: string
  readonly canDelete = true

  /** No I/O: `put` creates directories as it needs them. Use `open` to check the root up front. */
  constructor(root: string) {
    this.root = resolve(root)
    this.description = `directory ${this.root}`
  }

  /**
   * A store at `root`, checked up front: created if missing when `create` (to write a snapshot),
   * else it must exist (to read one: a mistyped path should say so, not look empty) and be
   * readable; reading needs no write access (a read-only mount will do). Rejects with StoreError
   * if it cannot be used.
   */
  static async open(root: string, create = true): Promise<DirectoryStore> {
    const store = new DirectoryStore(root)
    const info = await statIfExists(store.root)
    if (info === undefined) {
      if (!create) {
        throw new StoreError(
          `no store at ${store.root}: the directory does not exist. Check the store setting.`
        )
      }
      try {
        await mkdir(store.root, { recursive: true })
      } catch (error) {
        throw new StoreError(
          `cannot create store directory ${store.root}: ${errorMessage(error)}; ` +
            'choose a directory this user can create, or create it first',
          { cause: error }
        )
      }
    } else if (!info.isDirectory()) {
      throw new StoreError(
        `store path ${store.root} is a file, not a directory: give the store a directory path`
      )
    }
    try {
      await access(store.root, constants.R_OK | constants.X_OK | (create ? constants.W_OK : 0))
    } catch (error) {
      throw new StoreError(
        errorCode(error) === 'EROFS'
          ? `store directory ${store.root} is on a read-only file system; choose a writable store directory`
          : `store directory ${store.root} is not ${create ? 'readable and writable' : 'readable'} ` +
              'by this user; fix its permissions or choose another store',
        { cause: error }
      )
    }
    return store
  }

  async put(snapshotId: string, name: string, data: Readable): Promise<number> {
    let path: string
    try {
      path = this.objectPath(snapshotId, name)
    } catch (error) {
      data.destroy()
      throw error
    }
    const partial = `${path}${PARTIAL_SUFFIX}`
    const context: WriteFailureContext = {
      root: this.root,
      object: `${snapshotId}/${name}`,
      bytesWritten: 0
    }
    let handle: FileHandle | undefined
    let sourceFailed = false
    try {
      await mkdir(dirname(path), { recursive: true })
      handle = await open(partial, 'w')
      const iterator = data[Symbol.asyncIterator]()
      for (;;) {
        let next: IteratorResult<unknown>
        try {
          next = await iterator.next()
        } catch (error) {
          sourceFailed = true
          throw error
        }
        if (next.done) break
        await writeAll(handle, toBytes(next.value), context)
      }
      await handle.sync()
      await handle.close()
      handle = undefined
      await rename(partial, path)
      await syncDirectory(dirname(path))
      return context.bytesWritten
    } catch (error) {
      if (!data.destroyed) data.destroy()
      // Cleanup is best effort: the failure that caused it is what the user needs to see.
      await handle?.close().catch(() => undefined)
      await rm(partial, { force: true }).catch(() => undefined)
      // The source's own failure (an engine or archive error) is not the store's to rename.
      if (sourceFailed) throw error
      throw writeFailure(error, context)
    }
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const path = this.objectPath(snapshotId, name)
    try {
      const handle = await open(path, 'r')
      if (!(await handle.stat()).isFile()) {
        await handle.close()
        throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOENT' })
      }
      return handle.createReadStream()
    } catch (error) {
      const code = errorCode(error)
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const snapshotExists = await isDirectory(join(this.root, snapshotId))
        throw new StoreError(
          snapshotExists
            ? `object ${name} of snapshot ${snapshotId} is not in ${this.description}; the snapshot is incomplete or damaged`
            : `snapshot ${snapshotId} is not in ${this.description} (looking for object ${name}); check the snapshot id and the store`,
          { cause: error }
        )
      }
      throw new StoreError(
        `cannot read object ${name} of snapshot ${snapshotId} from ${this.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    }
  }

  async has(snapshotId: string, name: string): Promise<boolean> {
    const path = this.objectPath(snapshotId, name)
    try {
      return (await stat(path)).isFile()
    } catch (error) {
      const code = errorCode(error)
      if (code === 'ENOENT' || code === 'ENOTDIR') return false
      throw new StoreError(
        `cannot check object ${name} of snapshot ${snapshotId} in ${this.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    }
  }

  async list(): Promise<StoredSnapshot[]> {
    let entries
    try {
      entries = await readdir(this.root, { withFileTypes: true })
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return []
      throw new StoreError(`cannot list ${this.description}: ${errorMessage(error)}`, {
        cause: error
      })
    }
    const snapshots: StoredSnapshot[] = []
    for (const entry of entries) {
      if (!entry.isDirectory() || !isValidSnapshotId(entry.name)) continue
      try {
        snapshots.push(await this.describeSnapshot(entry.name))
      } catch (error) {
        // Deleted while we looked: it is no longer there to list.
        if (errorCode(error) === 'ENOENT') continue
        throw new StoreError(
          `cannot read snapshot ${entry.name} in ${this.description}: ${errorMessage(error)}`,
          { cause: error }
        )
      }
    }
    return snapshots.sort(
      (a, b) =>
        b.createdAt.getTime() - a.createdAt.getTime() ||
        (a.snapshotId < b.snapshotId ? 1 : a.snapshotId > b.snapshotId ? -1 : 0)
    )
  }

  async delete(snapshotId: string): Promise<void> {
    const directory = snapshotDirectory(this.root, snapshotId)
    try {
      await rm(directory, { recursive: true, force: true })
    } catch (error) {
      throw new StoreError(
        `cannot delete snapshot ${snapshotId} from ${this.description}: ${errorMessage(error)}`,
        { cause: error }
      )
    }
  }

  /** The validated path of an object; never outside the snapshot's directory. */
  private objectPath(snapshotId: string, name: string): string {
    const directory = snapshotDirectory(this.root, snapshotId)
    if (!isValidObjectName(name) || name.endsWith(PARTIAL_SUFFIX)) {
      throw new InvalidSettingsError(
        `Invalid object name '${name}'. Expected a relative path of non-empty segments, none of ` +
          `them '.' or '..', without backslashes, control characters, a leading '/' or a ` +
          `'${PARTIAL_SUFFIX}' suffix, e.g. volumes/pgdata.tar.zst`
      )
    }
    const path = join(directory, name)
    const inside = relative(directory, path)
    if (inside === '' || inside.startsWith(`..${sep}`) || resolve(directory, inside) !== path) {
      throw new InvalidSettingsError(
        `Invalid object name '${name}': it leaves the snapshot directory`
      )
    }
    return path
  }

  private async describeSnapshot(snapshotId: string): Promise<StoredSnapshot> {
    const directory = join(this.root, snapshotId)
    const manifestCreatedAt = await readManifestCreatedAt(join(directory, MANIFEST_FILE))
    const complete = manifestCreatedAt !== undefined
    const createdAt =
      manifestCreatedAt instanceof Date ? manifestCreatedAt : (await stat(directory)).mtime
    return { snapshotId, complete, createdAt, bytes: await totalFileBytes(directory) }
  }
}

function checkSnapshotId(snapshotId: string): void {
  if (!isValidSnapshotId(snapshotId)) {
    throw new InvalidSettingsError(
      `Invalid snapshot id '${snapshotId}'. Expected 1 to 128 characters of a-z, 0-9, '.', '_' ` +
        `and '-', starting with a letter or digit.`
    )
  }
}

/**
 * `undefined` when there is no manifest; `null` when there is one without a readable `createdAt`
 * (the snapshot is still complete; restore reports what is wrong with it); else the time.
 */
async function readManifestCreatedAt(path: string): Promise<Date | null | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT' || code === 'EISDIR') return undefined
    throw error
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed !== null && typeof parsed === 'object' && 'createdAt' in parsed) {
      const createdAt = parsed.createdAt
      if (typeof createdAt === 'string') {
        const time = new Date(createdAt)
        if (!Number.isNaN(time.getTime())) return time
      }
    }
  } catch {
    // Unreadable JSON: fall back to the directory's time; restore will say what is wrong.
  }
  return null
}

async function totalFileBytes(directory: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) total += await totalFileBytes(path)
    else if (entry.isFile()) total += (await lstat(path)).size
  }
  return total
}

/** The path's stat, or undefined when nothing is there; a file on the way is a StoreError. */
async function statIfExists(path: string) {
  try {
    return await stat(path)
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT') return undefined
    throw new StoreError(
      code === 'ENOTDIR'
        ? `store path ${path} is below a file, not a directory: give the store a directory path`
        : `cannot look at store path ${path}: ${errorMessage(error)}`,
      { cause: error }
    )
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** Writes every byte of `chunk` (a write may be short when the disk fills). */
async function writeAll(handle: FileHandle, chunk: Uint8Array, context: WriteFailureContext) {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes')
    offset += bytesWritten
    context.bytesWritten += bytesWritten
  }
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  throw new TypeError(`a store object must be a byte stream, got a chunk of type ${typeof chunk}`)
}

/** Makes the rename durable; Windows cannot open a directory for syncing. */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined
  }
  return undefined
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
