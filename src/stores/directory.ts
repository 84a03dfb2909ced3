/**
 * A store in a local directory: `<root>/<snapshotId>/<object name>`. A snapshot is written under
 * `<root>/.staging/` and renamed to its id once whole, so an id never holds half a snapshot;
 * within it, objects are written to `<path>.partial`, synced, then renamed. `<root>/.holds/`
 * marks snapshots being read, and `<root>/.lock` orders holds against deletes and publishing.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
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
  stat,
  writeFile
} from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { InvalidSettingsError, StoreError } from '../shared/errors.js'
import { MANIFEST_FILE } from '../manifest/manifest.js'
import { isValidObjectName, isValidSnapshotId } from '../manifest/schema.js'
import { ownerAlive, processOwner } from '../shared/owner.js'
import type {
  DeleteOutcome,
  SnapshotHold,
  SnapshotStore,
  SnapshotWriter,
  StoredSnapshot
} from './store.js'

const PARTIAL_SUFFIX = '.partial'
/** Snapshots being written: `<id>@<owner>@<token>`, renamed to `<id>` once whole. */
const STAGING = '.staging'
/** A snapshot being replaced, between the new one's arrival and its own removal. */
const REPLACED = '.replaced'
/** `<id>/<owner>@<token>`: a process reading the snapshot. */
const HOLDS = '.holds'
const LOCK_FILE = '.lock'
/** The lock is held for a rename or a removal: waiting longer means something is wrong. */
const LOCK_WAIT_MS = 60_000

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

  /** No I/O: `begin` creates directories as it needs them. Use `open` to check the root up front. */
  constructor(root: string) {
    this.root = resolve(root)
    this.description = `directory ${this.root}`
  }

  /**
   * A store at `root`, checked up front: created if missing when `create` (to write a snapshot;
   * `beforeCreate` may refuse first), else it must exist (to read one: a mistyped path should
   * say so, not look empty) and be readable; reading needs no write access (a read-only mount
   * will do). Rejects with StoreError if it cannot be used.
   */
  static async open(
    root: string,
    create = true,
    beforeCreate?: () => Promise<void>
  ): Promise<DirectoryStore> {
    const store = new DirectoryStore(root)
    const info = await statIfExists(store.root)
    if (info === undefined) {
      if (!create) {
        throw new StoreError(
          `no store at ${store.root}: the directory does not exist. Check the store setting.`
        )
      }
      await beforeCreate?.()
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

  async begin(snapshotId: string): Promise<SnapshotWriter> {
    checkSnapshotId(snapshotId)
    const directory = join(
      this.root,
      STAGING,
      `${stagingPrefix(snapshotId, processOwner)}${token()}`
    )
    try {
      await mkdir(directory, { recursive: true })
    } catch (error) {
      throw writeFailure(error, { root: this.root, object: snapshotId, bytesWritten: 0 })
    }
    return {
      snapshotId,
      put: (name, data) => this.writeObject(directory, snapshotId, name, data),
      publish: ({ replace }) => this.publish(directory, snapshotId, replace),
      discard: () => this.removeTree(directory, `the unfinished snapshot ${snapshotId}`)
    }
  }

  async discardStaged(snapshotId: string, owner: string): Promise<number> {
    checkSnapshotId(snapshotId)
    const prefix = stagingPrefix(snapshotId, owner)
    return (await this.discardStagedWhere(name => name.startsWith(prefix))).length
  }

  async discardAbandoned(): Promise<string[]> {
    return this.discardStagedWhere(name => {
      const [, owner] = name.split('@')
      return owner !== undefined && !ownerAlive(decodeURIComponent(owner))
    })
  }

  /** Removes the staging areas whose names `chosen` picks; resolves with their snapshot ids. */
  private async discardStagedWhere(chosen: (name: string) => boolean): Promise<string[]> {
    const staging = join(this.root, STAGING)
    const ids: string[] = []
    for (const name of (await namesIn(staging)).filter(chosen)) {
      const [snapshotId] = name.split('@')
      await this.removeTree(join(staging, name), `the unfinished snapshot ${snapshotId}`)
      ids.push(snapshotId)
    }
    return ids
  }

  async get(snapshotId: string, name: string): Promise<Readable> {
    const path = objectPath(snapshotDirectory(this.root, snapshotId), name)
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
    const path = objectPath(snapshotDirectory(this.root, snapshotId), name)
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
    // Staging and bookkeeping directories start with '.', which no snapshot id does.
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
    return snapshots
  }

  async hold(snapshotId: string): Promise<SnapshotHold> {
    checkSnapshotId(snapshotId)
    const path = join(
      this.root,
      HOLDS,
      snapshotId,
      `${encodeURIComponent(processOwner)}@${token()}`
    )
    // A store this process cannot write to (a read-only mount) cannot be held, only read.
    if (!(await isWritable(this.root))) return { release: async () => undefined }
    // Under the lock, so that a delete either sees this hold or has finished before it.
    await this.locked(async () => {
      try {
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, '')
      } catch (error) {
        throw writeFailure(error, {
          root: this.root,
          object: relative(this.root, path),
          bytesWritten: 0
        })
      }
    })
    return { release: () => this.removeTree(path, `the hold on snapshot ${snapshotId}`) }
  }

  async delete(snapshotId: string): Promise<DeleteOutcome> {
    const directory = snapshotDirectory(this.root, snapshotId)
    return this.locked(async () => {
      if ((await this.liveHolders(snapshotId)).length > 0) return 'held'
      await this.removeTree(directory, `snapshot ${snapshotId}`)
      // Every hold left on it is a dead process's.
      await this.removeTree(join(this.root, HOLDS, snapshotId), `the holds on ${snapshotId}`)
      return 'deleted'
    })
  }

  /** Moves a staged snapshot to its id; an existing one is set aside, then removed. */
  private async publish(staged: string, snapshotId: string, replace: boolean): Promise<void> {
    const target = join(this.root, snapshotId)
    // Where the replaced snapshot waits: kept there, never discarded, if we die before removing it.
    const aside = join(this.root, REPLACED, `${snapshotId}@${token()}`)
    let replaced = false
    await this.locked(async () => {
      if (existsSync(target)) {
        if (!replace) {
          throw new StoreError(
            `snapshot ${snapshotId} appeared in ${this.description} while this one was taken; ` +
              'it was left as it is and this snapshot was not kept. Take it again under another id.'
          )
        }
        const holders = await this.liveHolders(snapshotId)
        if (holders.length > 0) {
          throw new StoreError(
            `snapshot ${snapshotId} in ${this.description} is being read by ${holders.join(', ')} ` +
              '(a restore or verify); it was left as it is and the new snapshot was not kept. ' +
              'Take it again once that run is done.'
          )
        }
        await this.storeCall(`set snapshot ${snapshotId} aside`, async () => {
          await mkdir(dirname(aside), { recursive: true })
          await rename(target, aside)
        })
        replaced = true
      }
      try {
        await this.storeCall(`publish snapshot ${snapshotId}`, () => rename(staged, target))
      } catch (error) {
        if (replaced) await rename(aside, target)
        throw error
      }
      await syncDirectory(this.root)
    })
    // The new snapshot stands: a copy of the old one left behind would cost space, not safety.
    if (replaced) await rm(aside, { recursive: true, force: true }).catch(() => undefined)
  }

  /** The `host:pid` of every live process that holds `snapshotId`. */
  private async liveHolders(snapshotId: string): Promise<string[]> {
    const names = await namesIn(join(this.root, HOLDS, snapshotId))
    return names
      .map(name => decodeURIComponent(name.slice(0, name.lastIndexOf('@'))))
      .filter(ownerAlive)
  }

  /**
   * Runs `fn` holding the store's lock (a file naming its owner), which makes a hold and a
   * delete, or a publish, happen one after the other. A dead owner's lock is broken.
   */
  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    const path = join(this.root, LOCK_FILE)
    const deadline = Date.now() + LOCK_WAIT_MS
    for (;;) {
      try {
        await writeFile(path, processOwner, { flag: 'wx' })
        break
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') {
          throw new StoreError(`cannot lock ${this.description}: ${errorMessage(error)}`, {
            cause: error
          })
        }
      }
      // Empty: its owner is still writing its name. A dead owner held it for a moment only.
      const owner = await readFile(path, 'utf8').catch(() => '')
      if (owner && !ownerAlive(owner)) {
        await rm(path, { force: true })
        continue
      }
      if (Date.now() > deadline) {
        throw new StoreError(
          `${this.description} stayed locked by ${owner || 'another process'} for ` +
            `${LOCK_WAIT_MS / 1000} s; if no docker-snapshot runs there, remove ${path}`
        )
      }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    try {
      return await fn()
    } finally {
      await rm(path, { force: true })
    }
  }

  private async removeTree(path: string, what: string): Promise<void> {
    await this.storeCall(`remove ${what}`, () => rm(path, { recursive: true, force: true }))
  }

  private async storeCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw new StoreError(`cannot ${what} in ${this.description}: ${errorMessage(error)}`, {
        cause: error
      })
    }
  }

  /** Writes `<directory>/<name>` through a `.partial` file, synced, then renamed. */
  private async writeObject(
    directory: string,
    snapshotId: string,
    name: string,
    data: Readable
  ): Promise<number> {
    let path: string
    try {
      path = objectPath(directory, name)
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

  private async describeSnapshot(snapshotId: string): Promise<StoredSnapshot> {
    const directory = join(this.root, snapshotId)
    return {
      snapshotId,
      hasManifest: await isFile(join(directory, MANIFEST_FILE)),
      modifiedAt: (await stat(directory)).mtime,
      bytes: await totalFileBytes(directory)
    }
  }
}

/** The validated path of an object; never outside `directory`. */
function objectPath(directory: string, name: string): string {
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

/** How the staging directories of `owner`'s runs for `snapshotId` begin ('@' is in neither). */
function stagingPrefix(snapshotId: string, owner: string): string {
  return `${snapshotId}@${encodeURIComponent(owner)}@`
}

function token(): string {
  return randomBytes(4).toString('hex')
}

/** The names in a directory; none when it does not exist. */
async function namesIn(directory: string): Promise<string[]> {
  try {
    return await readdir(directory)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return []
    throw new StoreError(`cannot read ${directory}: ${errorMessage(error)}`, { cause: error })
  }
}

async function isWritable(directory: string): Promise<boolean> {
  try {
    await access(directory, constants.W_OK)
    return true
  } catch {
    return false
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT' || code === 'ENOTDIR') return false
    throw error
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
