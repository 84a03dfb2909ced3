/** Checks a store's root before a run uses it, so that a bad path fails early and says why. */
import { access, constants, mkdir, stat } from 'node:fs/promises'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { errorCode } from './files.js'

/**
 * Checks the root: created if missing when `create` (after `beforeCreate`, which may refuse),
 * else it must exist; it must be a readable directory, and writable when `create`.
 */
export async function openStore(
  root: string,
  create: boolean,
  beforeCreate?: () => Promise<void>
): Promise<void> {
  const info = await statIfExists(root)
  if (info === undefined) {
    if (!create) {
      throw new StoreError(
        `no store at ${root}: the directory does not exist. Check the store setting.`
      )
    }
    await beforeCreate?.()
    try {
      await mkdir(root, { recursive: true })
    } catch (error) {
      throw new StoreError(
        `cannot create store directory ${root}: ${errorMessage(error)}; ` +
          'choose a directory this user can create, or create it first',
        { cause: error }
      )
    }
  } else if (!info.isDirectory()) {
    throw new StoreError(
      `store path ${root} is a file, not a directory: give the store a directory path`
    )
  }
  try {
    await access(root, constants.R_OK | constants.X_OK | (create ? constants.W_OK : 0))
  } catch (error) {
    throw new StoreError(
      errorCode(error) === 'EROFS'
        ? `store directory ${root} is on a read-only file system; choose a writable store directory`
        : `store directory ${root} is not ${create ? 'readable and writable' : 'readable'} ` +
            'by this user; fix its permissions or choose another store',
      { cause: error }
    )
  }
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
