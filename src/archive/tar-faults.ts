/**
 * The ArchiveIntegrityErrors a tar scan raises, each naming the archive and the entry, and worded
 * for what is read: a snapshot being taken, or a stored archive read to restore.
 */
import { ArchiveIntegrityError, errorMessage } from '../shared/errors.js'

export class TarFaults {
  /**
   * `subject` starts every message, e.g. `Archive volumes/db.tar.zst`; `reading` picks the next
   * step the message gives.
   */
  constructor(
    private readonly subject: string,
    private readonly reading: 'snapshot' | 'restore'
  ) {}

  /** An entry that would land outside the root. */
  unsafe(name: string, reason: string) {
    return new ArchiveIntegrityError(
      `${this.subject} has an unsafe entry '${name}': ${reason}. Unpacking it could write ` +
        `outside the volume, so it is refused; ${this.refusedNextStep()}.`
    )
  }

  /** An entry the engine's untar cannot place, which would stop it halfway. */
  unplaceable(name: string, reason: string) {
    return new ArchiveIntegrityError(
      `${this.subject} has an entry '${name}' that cannot be unpacked: ${reason}. Unpacking ` +
        `would stop there with part of the archive written, so it is refused; ` +
        `${this.refusedNextStep()}.`
    )
  }

  private refusedNextStep() {
    return this.reading === 'snapshot'
      ? 'move or fix that entry where it was read from, and take the snapshot again'
      : 'restore from a snapshot you trust'
  }

  /** A tar that ends early (`detail` says where). */
  truncated(detail: string) {
    const cause =
      this.reading === 'snapshot'
        ? 'The engine stops the stream when a file changes while it is copied; take the ' +
          'snapshot again (or use consistency stop).'
        : 'The stream was cut while the snapshot was written; restore from another snapshot.'
    return new ArchiveIntegrityError(
      `${this.subject} is truncated: the tar inside ends early (${detail}). ${cause}`
    )
  }

  /** What tar-stream's own failure means for the reader. */
  parseError(error: unknown): Error {
    if (error instanceof ArchiveIntegrityError) return error
    const message = errorMessage(error)
    if (message === 'Unexpected end of data') return this.truncated('in the middle of an entry')
    return new ArchiveIntegrityError(`${this.subject} is not a valid tar: ${message}.`, {
      cause: error
    })
  }
}
