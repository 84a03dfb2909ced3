import { Writable } from 'node:stream'
import { extract, type Extract, type Header } from 'tar-stream'
import { ArchiveIntegrityError } from '../errors.js'
import type { RootMetadata } from '../manifest.js'

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

/** The header fields we use, as tar-stream really delivers them (its types are narrower). */
interface EntryHeader {
  name: string
  /** null for a type tar-stream does not know (e.g. GNU sparse). */
  type: string | null
  size: number
  mode: number
  uid: number
  gid: number
  mtime: Date
  linkname: string | null
  /** The entry's PAX records, which tar-stream applies only for path, linkpath and size. */
  pax: Record<string, string>
  /** Offset of the entry's data in the tar stream. */
  byteOffset: number | undefined
}

function entryHeader(header: Header): EntryHeader {
  const raw: Header & { byteOffset?: unknown } = header
  const pax: Record<string, string> = {}
  if (typeof header.pax === 'object' && header.pax !== null) {
    for (const [key, value] of Object.entries(header.pax)) {
      if (typeof value === 'string') pax[key] = value
    }
  }
  return {
    name: header.name,
    type: typeof header.type === 'string' ? header.type : null,
    size: header.size,
    mode: header.mode,
    uid: header.uid,
    gid: header.gid,
    mtime: header.mtime,
    linkname: typeof header.linkname === 'string' ? header.linkname : null,
    pax,
    byteOffset: typeof raw.byteOffset === 'number' ? raw.byteOffset : undefined
  }
}

/**
 * A Writable that parses the tar written to it (tar-stream), refuses entries that would land
 * outside the root when unpacked, and once finished tells the root metadata and the entry count.
 * It fails with ArchiveIntegrityError naming the entry, or saying the tar is truncated.
 */
export class TarScanner extends Writable {
  readonly #subject: string
  readonly #extract: Extract
  readonly #symlinks = new Set<string>()
  #root: RootMetadata | undefined
  #entries = 0
  #tarBytes = 0
  /** Offset just after the last entry's data: an end-of-archive block must follow it. */
  #dataEnd = 0
  #result: TarScan | undefined

  /** `subject` starts error messages, e.g. `Archive volumes/db.tar.zst`. */
  constructor(subject: string) {
    super()
    this.#subject = subject
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
    this.#extract.on('error', (error: unknown) => this.destroy(this.#parseError(error)))
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
        callback(this.#truncated('it has no end-of-archive block'))
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
      throw this.#unsafe(header.name, `its type (${String(header.type)}) is not supported`)
    }
    const path = this.#resolve(header.name, 'its path')
    if (path === '') {
      if (header.type !== 'directory') {
        throw this.#unsafe(header.name, `the root must be a directory, not a ${header.type}`)
      }
      this.#root ??= rootMetadata(header)
      return
    }
    if (header.type === 'link') {
      const target = header.linkname ?? ''
      if (this.#resolve(target, `its hard link target '${target}'`, header.name) === '') {
        throw this.#unsafe(header.name, 'it is a hard link to the root directory')
      }
    }
    if (header.type === 'symlink') this.#symlinks.add(path)
    this.#entries++
  }

  /**
   * The entry's path relative to the root, normalised (`''` for the root itself). Throws when it
   * is absolute, climbs above the root, or passes through a symlink defined earlier.
   */
  #resolve(name: string, what: string, entry = name): string {
    if (name.startsWith('/')) throw this.#unsafe(entry, `${what} is absolute`)
    const parts = name.split('/')
    const stack: string[] = []
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (part === '' || part === '.') continue
      if (part === '..') {
        if (stack.length === 0)
          throw this.#unsafe(entry, `${what} climbs out of the root with '..'`)
        stack.pop()
        continue
      }
      stack.push(part)
      const prefix = stack.join('/')
      if (this.#symlinks.has(prefix) && parts.slice(i + 1).some(rest => rest !== '')) {
        throw this.#unsafe(
          entry,
          `${what} goes through '${prefix}', a symlink earlier in the archive`
        )
      }
    }
    return stack.join('/')
  }

  #unsafe(name: string, reason: string) {
    return new ArchiveIntegrityError(
      `${this.#subject} has an unsafe entry '${name}': ${reason}. Unpacking it could write ` +
        'outside the volume, so it is refused; restore from a snapshot you trust.'
    )
  }

  #truncated(detail: string) {
    return new ArchiveIntegrityError(
      `${this.#subject} is truncated: the tar inside ends early (${detail}). The stream was cut ` +
        'while the snapshot was written; restore from another snapshot.'
    )
  }

  #parseError(error: unknown): Error {
    if (error instanceof ArchiveIntegrityError) return error
    const message = error instanceof Error ? error.message : String(error)
    if (message === 'Unexpected end of data') return this.#truncated('in the middle of an entry')
    return new ArchiveIntegrityError(`${this.#subject} is not a valid tar: ${message}.`, {
      cause: error
    })
  }
}

function rootMetadata(header: EntryHeader): RootMetadata {
  // Large ids and exact times may come in PAX records only.
  const number = (key: string, fallback: number) => {
    const value = header.pax[key] === undefined ? NaN : Number(header.pax[key])
    return Number.isFinite(value) ? value : fallback
  }
  return {
    uid: number('uid', header.uid),
    gid: number('gid', header.gid),
    mode: header.mode & 0o7777,
    mtime: Math.floor(number('mtime', header.mtime.getTime() / 1000))
  }
}
