/** File system helpers of the directory store: errors that say what to do, durable writes. */
import { randomBytes } from 'node:crypto'
import {
  type FileHandle,
  access,
  constants,
  lstat,
  open,
  readdir,
  rename,
  rm,
  stat
} from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { StoreError, errorMessage } from '../../shared/errors.js'

/** What was being written when a write failed, for the error message. */
export interface WriteFailureContext {
  /** The store's directory. */
  root: string
  /** `<snapshotId>/<object name>`. */
  object: string
  /** Bytes that reached the file before the failure. */
  bytesWritten: number
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

export function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined
  }
  return undefined
}

/** Whether the error says that nothing is at the path. */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error)
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** Eight hex digits that tell apart the files of one process. */
export function token(): string {
  return randomBytes(4).toString('hex')
}

/** The names in a directory; none when it does not exist. */
export async function namesIn(directory: string): Promise<string[]> {
  try {
    return await readdir(directory)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return []
    throw new StoreError(`cannot read ${directory}: ${errorMessage(error)}`, { cause: error })
  }
}

export async function isWritable(directory: string): Promise<boolean> {
  try {
    await access(directory, constants.W_OK)
    return true
  } catch {
    return false
  }
}

/** Whether a directory is at `path` (false when nothing is, or a file). */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch (error) {
    if (isMissing(error)) return false
    throw error
  }
}

/** Whether a file is at `path` (false when nothing is, or a directory). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch (error) {
    if (isMissing(error)) return false
    throw error
  }
}

/** Writes every byte of `chunk` (a write may be short when the disk fills). */
export async function writeAll(
  handle: FileHandle,
  chunk: Uint8Array,
  context: WriteFailureContext
): Promise<void> {
  let offset = 0
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset)
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes')
    offset += bytesWritten
    context.bytesWritten += bytesWritten
  }
}

export function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  throw new TypeError(`a store object must be a byte stream, got a chunk of type ${typeof chunk}`)
}

/**
 * Replaces `path` whole with `bytes`: written to a temporary file beside it, synced, renamed over
 * it, and the rename synced. Readers see the old content or the new, never a mix.
 */
export async function replaceFile(path: string, bytes: Buffer | string): Promise<void> {
  const temporary = `${path}.${token()}.tmp`
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } catch (error) {
    await handle.close().catch(() => undefined)
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
  await handle.close()
  try {
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined)
    throw error
  }
  await syncDirectory(dirname(path))
}

/** Makes a rename durable; Windows cannot open a directory for syncing. */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(directory, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Bytes of every file below `directory`. */
export async function totalFileBytes(directory: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) total += await totalFileBytes(path)
    else if (entry.isFile()) total += (await lstat(path)).size
  }
  return total
}
