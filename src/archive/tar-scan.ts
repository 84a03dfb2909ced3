import { Writable } from 'node:stream'
import { extract, type Extract } from 'tar-stream'
import type { RootMetadata } from '../manifest/manifest.js'
import { climbsOut, entryHeader, normalise, rootMetadata, type EntryHeader } from './tar-entry.js'
import { TarFaults } from './tar-faults.js'

/** What a whole tar stream held, as far as restore cares. */
export interface TarScan {
  /** Metadata of the `./` entry, if the tar has one. */
  root: RootMetadata | undefined
  /** Entries below the root (files, directories, links, device nodes, fifos). */
  entries: number
  /** Bytes of the tar stream. */
  tarBytes: number
}

const BLOCK = 512
// Device nodes and fifos are allowed: they are restored as they are, nothing is read through them.
const ALLOWED_TYPES = new Set<string | null>([
  'file',
  'contiguous-file',
  'directory',
  'symlink',
  'link',
  'character-device',
  'block-device',
  'fifo'
])

/** What a path is once the engine's untar has written it. */
type PathKind = 'directory' | 'file' | 'symlink' | 'special'

/**
 * A Writable that parses the tar written to it (tar-stream) and models, entry by entry, what the
 * engine's untar (`PUT /containers/{id}/archive`, moby's `archive.Unpack`) makes of it: names are
 * cleaned, missing parents are created, an entry replaces what its path held (a directory merges
 * into a directory), a hard link to a symlink is a symlink. It refuses, by name, every entry that
 * would land outside the root and every entry the untar cannot place, so that what it accepts is
 * written as it reads. Once finished it tells the root metadata and the entry count.
 * It fails with ArchiveIntegrityError naming the entry, or saying the tar is truncated.
 */
export class TarScanner extends Writable {
  readonly #faults: TarFaults
  readonly #extract: Extract
  /** Every path below the root the untar would have made so far, relative to the root. */
  readonly #paths = new Map<string, PathKind>()
  #root: RootMetadata | undefined
  #entries = 0
  #tarBytes = 0
  /** Offset just after the last entry's data: an end-of-archive block must follow it. */
  #dataEnd = 0
  #result: TarScan | undefined

  /**
   * `subject` starts error messages, e.g. `Archive volumes/db.tar.zst`. `reading` says what the
   * tar is: a `snapshot` being taken (a fault is fixed by taking it again), or a stored archive
   * read to `restore` (a fault is fixed by restoring another snapshot).
   */
  constructor(subject: string, reading: 'snapshot' | 'restore' = 'restore') {
    super()
    this.#faults = new TarFaults(subject, reading)
    this.#extract = extract({ highWaterMark: 1024 * 1024 })
    this.#extract.on('entry', (header, body, next) => {
      // The extractor's own 'error' reports any failure; the entry stream only repeats it.
      body.on('error', () => undefined)
      try {
        this.#visit(entryHeader(header))
      } catch (error) {
        body.resume()
        next(error instanceof Error ? error : new Error(String(error)))
        return
      }
      body.on('end', () => next())
      body.resume()
    })
    this.#extract.on('error', (error: unknown) => this.destroy(this.#faults.parseError(error)))
  }

  /** The scan's outcome; only once the stream has finished. */
  get result(): TarScan {
    if (this.#result === undefined) throw new Error('TarScanner.result read before finish')
    return this.#result
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void) {
    this.#tarBytes += chunk.length
    if (this.#extract.write(chunk)) callback()
    else this.#extract.once('drain', () => callback())
  }

  override _final(callback: (error?: Error) => void) {
    this.#extract.once('finish', () => {
      // tar-stream accepts a stream cut at an entry boundary; the end-of-archive block proves
      // that the writer finished.
      if (this.#tarBytes - this.#dataEnd < BLOCK) {
        callback(this.#faults.truncated('it has no end-of-archive block'))
        return
      }
      this.#result = { root: this.#root, entries: this.#entries, tarBytes: this.#tarBytes }
      callback()
    })
    this.#extract.end(null)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    this.#extract.destroy()
    callback(error)
  }

  #visit(header: EntryHeader) {
    if (header.byteOffset !== undefined) {
      this.#dataEnd = header.byteOffset + Math.ceil(header.size / BLOCK) * BLOCK
    }
    if (!ALLOWED_TYPES.has(header.type)) {
      throw this.#faults.unsafe(header.name, `its type (${String(header.type)}) is not supported`)
    }
    const path = this.#clean(header.name, 'its path', header.name)
    if (path === '') {
      if (header.type !== 'directory') {
        throw this.#faults.unsafe(header.name, `the root must be a directory, not a ${header.type}`)
      }
      // The untar skips the root, which exists; root-entry.ts applies its metadata.
      this.#root ??= rootMetadata(header)
      return
    }
    // The untar creates missing parents as directories (following symlinks on the way).
    const parts = path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      this.#checkParent(parent, 'its path', header.name)
      if (!this.#paths.has(parent)) this.#paths.set(parent, 'directory')
    }
    const kind = this.#kindOf(header, path)
    // Whatever the path held is removed first, unless a directory meets a directory.
    const existing = this.#paths.get(path)
    if (existing !== undefined && !(existing === 'directory' && kind === 'directory')) {
      this.#remove(path)
    }
    this.#paths.set(path, kind === 'link' ? this.#linkTarget(header) : kind)
    this.#entries++
  }

  #kindOf(header: EntryHeader, path: string): PathKind | 'link' {
    switch (header.type) {
      case 'directory':
        return 'directory'
      case 'file':
      case 'contiguous-file':
        return 'file'
      case 'link':
        return 'link'
      case 'symlink': {
        const target = header.linkname ?? ''
        if (target === '')
          throw this.#faults.unplaceable(header.name, 'its symlink target is empty')
        // The untar refuses a relative symlink whose target, seen from the link, leaves the root.
        if (!target.startsWith('/') && climbsOut(`${path}/../${target}`)) {
          throw this.#faults.unplaceable(
            header.name,
            `its symlink target '${target}' points above the root, which the engine refuses to ` +
              'unpack'
          )
        }
        return 'symlink'
      }
      default:
        return 'special'
    }
  }

  /** What a hard link becomes: its target's kind (a link to a symlink is a symlink). */
  #linkTarget(header: EntryHeader): PathKind {
    const linkname = header.linkname ?? ''
    const what = `its hard link target '${linkname}'`
    const target = this.#clean(linkname, what, header.name)
    if (target === '')
      throw this.#faults.unsafe(header.name, 'it is a hard link to the root directory')
    const parts = target.split('/')
    for (let i = 1; i < parts.length; i++) {
      this.#checkParent(parts.slice(0, i).join('/'), what, header.name)
    }
    const kind = this.#paths.get(target)
    if (kind === undefined) {
      throw this.#faults.unplaceable(header.name, `${what} is not an earlier entry of the archive`)
    }
    if (kind === 'directory') {
      throw this.#faults.unplaceable(
        header.name,
        `${what} is a directory, which cannot be hard linked`
      )
    }
    return kind
  }

  /** Throws unless `parent`, an ancestor of a path the untar opens, is a directory or absent. */
  #checkParent(parent: string, what: string, entry: string) {
    const kind = this.#paths.get(parent)
    if (kind === 'symlink') {
      throw this.#faults.unsafe(
        entry,
        `${what} goes through '${parent}', a symlink earlier in the archive`
      )
    }
    if (kind === 'file' || kind === 'special') {
      throw this.#faults.unplaceable(
        entry,
        `${what} goes through '${parent}', which is not a directory`
      )
    }
  }

  /** Forgets `path` and, when it was a directory, everything below it. */
  #remove(path: string) {
    const wasDirectory = this.#paths.get(path) === 'directory'
    this.#paths.delete(path)
    if (!wasDirectory) return
    const below = `${path}/`
    for (const known of this.#paths.keys()) {
      if (known.startsWith(below)) this.#paths.delete(known)
    }
  }

  /**
   * `name` relative to the root, cleaned as the untar cleans it (`''` for the root itself).
   * Throws when it is absolute or climbs above the root.
   */
  #clean(name: string, what: string, entry: string): string {
    if (name.startsWith('/')) throw this.#faults.unsafe(entry, `${what} is absolute`)
    if (climbsOut(name))
      throw this.#faults.unsafe(entry, `${what} climbs out of the root with '..'`)
    return normalise(name)
  }
}
