/**
 * A tar entry as the scan sees it: its header fields as tar-stream really delivers them, its
 * path cleaned as the engine's untar cleans it, and the root metadata a `./` entry carries.
 */
import type { Header } from 'tar-stream'
import type { RootMetadata } from '../manifest/manifest.js'

/** The header fields we use, as tar-stream really delivers them (its types are narrower). */
export interface EntryHeader {
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

export function entryHeader(header: Header): EntryHeader {
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

/** A relative path's components after resolving `.` and `..` by name, as Go's filepath.Clean. */
function components(name: string): string[] | undefined {
  const stack: string[] = []
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue
    if (part !== '..') stack.push(part)
    else if (stack.pop() === undefined) return undefined
  }
  return stack
}

/** Whether a relative path climbs above its start, resolving `..` by name. */
export function climbsOut(name: string): boolean {
  return components(name) === undefined
}

export function normalise(name: string): string {
  return (components(name) ?? []).join('/')
}

export function rootMetadata(header: EntryHeader): RootMetadata {
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
