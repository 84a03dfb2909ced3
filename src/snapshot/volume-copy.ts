import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { addAbortSignal, pipeline } from 'node:stream'
import { DigestCounter, packArchive } from '../archive/index.js'
import type { Codec, PackResult } from '../archive/index.js'
import type { Engine } from '../docker/engine.js'
import { NOT_SHARED_EXIT, helperFolder, notShared, sharedCheck } from '../docker/helper-image.js'
import type { CopyMethod, HelperMethod, VolumeCopyMethod } from '../docker/helper-image.js'
import type { Logger } from '../shared/log.js'
import { SnapshotError } from '../shared/errors.js'
import type { RootMetadata } from '../manifest/manifest.js'
import type { SnapshotWriter } from '../stores/store.js'

/** Options of GNU tar that keep every attribute: xattrs (all namespaces), ACLs, holes, ids. */
export const TAR_KEEP_ALL = "--xattrs --xattrs-include='*' --acls --numeric-owner"

/**
 * The helper's script: tar the volume (listing every entry with its full metadata into
 * /out/index, its total into the log), compress it into /out/archive, and fail when either
 * side did (sh has no pipefail: tar's status goes through a file).
 */
export function snapshotScript(codec: Pick<Codec, 'algorithm' | 'level'>): string {
  const compress =
    codec.algorithm === 'gzip' ? `gzip -c -${codec.level}` : `zstd -q -T0 -${codec.level}`
  return (
    sharedCheck('/out', true) +
    `{ tar ${TAR_KEEP_ALL} --sparse --totals -vv --full-time --utc --index-file=/out/index ` +
    `-C /data -cf - . ; echo $? > /out/tar-status; } | ${compress} > /out/archive; z=$?; ` +
    `read t < /out/tar-status; [ "$z" = 0 ] && [ "$t" = 0 ]`
  )
}

/** Permission bits of an `ls -l` style mode (`drwxr-sr-t`), with setuid, setgid and sticky. */
export function parseMode(text: string): number {
  let mode = 0
  for (let i = 0; i < 9; i++) {
    const c = text[i]
    const bit = 1 << (8 - i)
    if (c === 'r' || c === 'w' || c === 'x' || c === 's' || c === 't') mode |= bit
    if (c === 's' || c === 'S') mode |= i === 2 ? 0o4000 : 0o2000
    if (c === 't' || c === 'T') mode |= 0o1000
  }
  return mode
}

/** The root's metadata from tar's first listing line (`drwxr-xr-x 0/0 0 2026-01-02 03:04:05 ./`). */
export function parseRootLine(line: string): RootMetadata | undefined {
  const match =
    /^d([-rwxsStT]{9})\S*\s+(\d+)\/(\d+)\s+\d+\s+(-?\d+-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)?\s+\.\/$/.exec(
      line
    )
  if (!match) return undefined
  const mtime = Date.parse(`${match[4]}T${match[5]}Z`)
  if (!Number.isFinite(mtime)) return undefined
  return {
    mode: parseMode(match[1]),
    uid: Number(match[2]),
    gid: Number(match[3]),
    mtime: Math.floor(mtime / 1000)
  }
}

/** The listing's first line and its number of lines (one per entry: tar escapes newlines). */
async function readListing(path: string): Promise<{ first: string; lines: number }> {
  let first: string | undefined
  let head = ''
  let lines = 0
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    if (first === undefined) {
      head += chunk.subarray(0, 65536).toString('utf8')
      const end = head.indexOf('\n')
      if (end >= 0) first = head.slice(0, end)
    }
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++
  }
  return { first: first ?? head, lines }
}

/**
 * Copies a volume with a helper container next to the data: `tar | zstd` (or gzip) writes a
 * file into a fresh folder of `workRoot`, which is then hashed on its way into the store and
 * removed. What the manifest needs comes from tar itself (its listing and its total), not from
 * a scan here.
 */
export async function copyVolumeWithHelper(
  engine: Engine,
  helper: HelperMethod,
  volume: string,
  codec: Codec,
  store: { writer: SnapshotWriter; object: string },
  signal?: AbortSignal
): Promise<PackResult | 'not-shared'> {
  // Mounting a missing volume would create it empty: make sure it exists first.
  await engine.inspectVolume(volume)
  const dir = await helperFolder(helper.workRoot, 'copy')
  try {
    const run = await engine.runHelper(
      {
        name: `docker-snapshot-copy-${process.pid}-${Date.now().toString(36)}`,
        Image: helper.image,
        Entrypoint: ['/bin/sh', '-c'],
        Cmd: [snapshotScript(codec)],
        HostConfig: {
          NetworkMode: 'none',
          Mounts: [
            { Type: 'volume', Source: volume, Target: '/data', ReadOnly: true },
            { Type: 'bind', Source: dir, Target: '/out' }
          ]
        }
      },
      signal
    )
    if (run.exitCode === NOT_SHARED_EXIT) return 'not-shared'
    const total = /Total bytes written: (\d+)/.exec(run.output)
    if (run.exitCode !== 0 || !total) {
      throw new SnapshotError(
        `Copying volume ${volume} failed in the helper container (exit ${run.exitCode}): ` +
          `${run.output.trim() || 'no output'}. Take the snapshot again, or set copy-method ` +
          'archive.'
      )
    }
    const listing = await readListing(join(dir, 'index'))
    const root = parseRootLine(listing.first)
    if (!root || listing.lines < 1) {
      throw new SnapshotError(
        `Copying volume ${volume}: tar's listing does not start with the root ` +
          `('${listing.first.slice(0, 200)}'). Take the snapshot again, or set copy-method archive.`
      )
    }
    const digest = new DigestCounter()
    // Errors of the file destroy the digest, and so reach the store's reading.
    const stored = pipeline(createReadStream(join(dir, 'archive')), digest, () => undefined)
    await store.writer.put(store.object, stored)
    return {
      sha256: digest.sha256,
      storedBytes: digest.bytes,
      tarBytes: Number(total[1]),
      compression: codec.algorithm,
      root,
      entries: listing.lines - 1
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * Copies volume `volume` into `store.object` by the chosen method: a helper container next to
 * the data, or the engine's archive API streamed through `codec` (scanned on the way). Resolves
 * with the method that did it (the archive API after a helper found it runs elsewhere).
 */
export async function copyVolume(
  engine: Engine,
  method: VolumeCopyMethod,
  volume: string,
  codec: Codec,
  store: { writer: SnapshotWriter; object: string },
  options: { log: Logger; signal?: AbortSignal; onProgress?: (tarBytes: number) => void }
): Promise<{ packed: PackResult; method: VolumeCopyMethod }> {
  const { signal, onProgress } = options
  if (method.method === 'helper') {
    // The helper reports nothing until it is done: say that the copy started.
    onProgress?.(0)
    const packed = await copyVolumeWithHelper(engine, method, volume, codec, store, signal)
    if (packed !== 'not-shared') return { packed, method }
    method = notShared(method, options.log)
  }
  const packed = await engine.readVolume(volume, tar =>
    packArchive(
      signal ? addAbortSignal(signal, tar) : tar,
      codec,
      compressed => store.writer.put(store.object, compressed),
      onProgress
    )
  )
  return { packed, method }
}

/** How a volume was copied, and what that copy did not keep. */
export function copiedBy(volume: { method: CopyMethod; notKept: string[] }): string {
  const how = volume.method === 'helper' ? 'helper container' : 'archive API'
  return volume.notKept.length > 0 ? `${how}; not kept: ${volume.notKept.join(', ')}` : how
}

/** The compressor as reports name it, with the helper's own program when it compresses volumes. */
export function codecDescription(codec: Codec, method: VolumeCopyMethod | undefined): string {
  if (method?.method !== 'helper') return codec.implementation
  const program = codec.algorithm === 'gzip' ? 'gzip' : 'zstd -T0'
  return `${codec.implementation}; volumes: ${program} -${codec.level} in a helper container`
}
