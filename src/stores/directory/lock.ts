/**
 * The store's lock, `<root>/.lock`: a file naming its owner (`host:pid`). Holds and deletes,
 * publishing, adding a blob and collecting garbage each take it, so they happen one after the
 * other. A dead owner's lock is broken.
 */
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreError, errorMessage } from '../../shared/errors.js'
import { ownerAlive, processOwner } from '../../shared/owner.js'
import { errorCode } from './files.js'

export const LOCK_FILE = '.lock'
/** The lock is held for renames and removals: waiting longer means something is wrong. */
const LOCK_WAIT_MS = 60_000

/** Runs `fn` holding the lock of the store at `root` (`description` names it in errors). */
export async function withLock<T>(
  root: string,
  description: string,
  fn: () => Promise<T>
): Promise<T> {
  const path = join(root, LOCK_FILE)
  const deadline = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      await writeFile(path, processOwner, { flag: 'wx' })
      break
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        throw new StoreError(`cannot lock ${description}: ${errorMessage(error)}`, {
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
        `${description} stayed locked by ${owner || 'another process'} for ` +
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
