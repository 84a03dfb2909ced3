import { SnapshotError } from '../shared/errors.js'
import type { RootMetadata } from '../manifest/manifest.js'

const BLOCK = 512

/**
 * A tar holding one directory entry, `dirName/`, with the root's owner, mode and mtime. Unpacked
 * at `/` of a container whose volume is mounted at `/<dirName>`, it gives the volume's root
 * directory that metadata (a tar of the volume's contents cannot: its `./` is the mount point).
 */
export function rootEntryTar(root: RootMetadata, dirName: string): Buffer {
  if (
    dirName === '' ||
    dirName === '.' ||
    dirName === '..' ||
    dirName.includes('/') ||
    dirName.includes('\0') ||
    Buffer.byteLength(dirName) > 99
  ) {
    throw new SnapshotError(
      `Invalid directory name '${dirName}' for a root entry: expected one path component of at ` +
        'most 99 bytes.'
    )
  }
  for (const [field, value] of Object.entries(root)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SnapshotError(
        `Invalid root ${field} ${String(value)}: expected a whole number >= 0.`
      )
    }
  }

  const header = Buffer.alloc(BLOCK)
  header.write(`${dirName}/`, 0, 'utf8')
  writeNumber(header, 100, 8, root.mode & 0o7777)
  writeNumber(header, 108, 8, root.uid)
  writeNumber(header, 116, 8, root.gid)
  writeNumber(header, 124, 12, 0)
  writeNumber(header, 136, 12, root.mtime)
  header.write('5', 156, 'ascii')
  header.write('ustar\0', 257, 'ascii')
  header.write('00', 263, 'ascii')
  writeNumber(header, 329, 8, 0)
  writeNumber(header, 337, 8, 0)
  // The checksum is computed with its own field taken as spaces.
  header.fill(' ', 148, 156, 'ascii')
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii')
  // Two zero blocks end the archive.
  return Buffer.concat([header, Buffer.alloc(2 * BLOCK)])
}

/** Octal with a NUL terminator when it fits, else GNU base-256 (which Go and GNU tar read). */
function writeNumber(block: Buffer, offset: number, length: number, value: number) {
  const octal = value.toString(8)
  if (octal.length < length) {
    block.write(`${octal.padStart(length - 1, '0')}\0`, offset, 'ascii')
    return
  }
  let rest = value
  for (let i = offset + length - 1; i > offset; i--) {
    block[i] = rest % 256
    rest = Math.floor(rest / 256)
  }
  block[offset] = 0x80
}
