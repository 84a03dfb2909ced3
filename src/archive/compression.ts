import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { accessSync, constants as fsConstants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { Duplex, type Readable, type Writable } from 'node:stream'
// A namespace import: Node 20 lacks the zstd functions, and a named import would fail to link.
import * as zlib from 'node:zlib'
import { ArchiveIntegrityError, InvalidSettingsError, SnapshotError } from '../shared/errors.js'
import type { Compression } from '../manifest/manifest.js'

export type CompressorChoice = 'auto' | 'zstd' | 'gzip'

/** What this machine offers for zstd; `detectCodecs` finds it, tests and callers may override it. */
export interface CodecAvailability {
  /** Path of a `zstd` executable, or null when there is none on PATH. */
  zstdBinary: string | null
  /** Whether Node's zlib has zstd (Node >= 22.15 / 24). */
  nodeZstd: boolean
}

/** A chosen compressor: what it writes (for the manifest), how (for logs), and its stream. */
export interface Codec {
  algorithm: Compression
  /** e.g. `zstd binary -T0 -3`, `node zlib zstd -3`, `node zlib gzip -6`. */
  implementation: string
  /** The compression level, for compressors that run elsewhere (a helper container). */
  level: number
  /** A new compressing stream: uncompressed bytes in, compressed bytes out. */
  compress(): Duplex
}

/** The levels each algorithm takes, and the one used when none is given. */
export const COMPRESSION_LEVELS: Record<
  Compression,
  { min: number; max: number; default: number }
> = {
  zstd: { min: 1, max: 19, default: 3 },
  gzip: { min: 1, max: 9, default: 6 }
}

/** Bytes of zstd's stderr kept for an error message. */
const STDERR_LIMIT = 4096

/** Finds `zstd` on PATH and checks whether Node's zlib can do zstd. */
export function detectCodecs(): CodecAvailability {
  return { zstdBinary: findOnPath('zstd'), nodeZstd: typeof zlib.createZstdCompress === 'function' }
}

/**
 * Picks the compressor for `choice`: `auto` prefers the zstd binary (multi-threaded), then Node's
 * in-process zstd, then gzip. Throws InvalidSettingsError when the choice or level cannot work here.
 */
export async function resolveCompression(
  choice: CompressorChoice,
  level?: number,
  available: CodecAvailability = detectCodecs()
): Promise<Codec> {
  const zstdAvailable = available.zstdBinary !== null || available.nodeZstd
  let algorithm: Compression
  switch (choice) {
    case 'gzip':
      algorithm = 'gzip'
      break
    case 'zstd':
      if (!zstdAvailable) {
        throw new InvalidSettingsError(
          "Compression 'zstd' is not available here: there is no zstd program on PATH and this " +
            `Node (${process.version}) has no built-in zstd. Install zstd (e.g. 'apt-get install ` +
            "zstd'), run on Node 24, or choose compression 'gzip' or 'auto'."
        )
      }
      algorithm = 'zstd'
      break
    case 'auto':
      algorithm = zstdAvailable ? 'zstd' : 'gzip'
      break
    default:
      throw new InvalidSettingsError(
        `Invalid compression '${String(choice)}'. Expected one of: auto, zstd, gzip.`
      )
  }
  const chosenLevel = validateLevel(algorithm, level, choice === 'auto' && !zstdAvailable)

  if (algorithm === 'gzip') {
    return {
      algorithm,
      level: chosenLevel,
      implementation: `node zlib gzip -${chosenLevel}`,
      compress: () => zlib.createGzip({ level: chosenLevel })
    }
  }
  const binary = available.zstdBinary
  if (binary !== null) {
    const args = ['-q', '-c', '-T0', `-${chosenLevel}`]
    return {
      algorithm,
      level: chosenLevel,
      implementation: `zstd binary -T0 -${chosenLevel}`,
      compress: () => spawnFilter(binary, args, 'compress')
    }
  }
  return {
    algorithm,
    level: chosenLevel,
    implementation: `node zlib zstd -${chosenLevel}`,
    compress: () =>
      zlib.createZstdCompress({
        params: {
          [zlib.constants.ZSTD_c_compressionLevel]: chosenLevel,
          // The zstd program writes a content checksum by default; match it.
          [zlib.constants.ZSTD_c_checksumFlag]: 1
        }
      })
  }
}

/**
 * A new decompressing stream for `algorithm`: the zstd binary when present (it runs beside the
 * digest and tar parsing), else Node's zstd; gunzip for gzip.
 */
export function createDecompressor(
  algorithm: Compression,
  available: CodecAvailability = detectCodecs()
): Duplex {
  if (algorithm === 'gzip') return zlib.createGunzip()
  if (available.zstdBinary !== null) {
    return spawnFilter(available.zstdBinary, ['-q', '-d', '-c'], 'decompress')
  }
  if (available.nodeZstd) return zlib.createZstdDecompress()
  throw new InvalidSettingsError(
    'This archive is zstd-compressed, but there is no zstd program on PATH and this Node ' +
      `(${process.version}) has no built-in zstd. Install zstd (e.g. 'apt-get install zstd') or ` +
      'run on Node 24.'
  )
}

function validateLevel(algorithm: Compression, level: number | undefined, fellBack: boolean) {
  const range = COMPRESSION_LEVELS[algorithm]
  if (level === undefined) return range.default
  if (!Number.isInteger(level) || level < range.min || level > range.max) {
    const why = fellBack ? ' (zstd is not available here, so auto chose gzip)' : ''
    throw new InvalidSettingsError(
      `Invalid compression level ${String(level)} for ${algorithm}${why}. Expected a whole ` +
        `number from ${range.min} to ${range.max}.`
    )
  }
  return level
}

function findOnPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue
    const candidate = join(dir, command)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return null
}

type FilterChild = ChildProcessByStdio<Writable, Readable, Readable>

/**
 * Runs `binary` as a stdin-to-stdout filter, as one Duplex. Unlike `Duplex.from({writable,
 * readable})` the readable side ends only after the program exited 0, so a failure is never
 * mistaken for a complete (but short) output. Destroying the stream kills the program.
 */
function spawnFilter(binary: string, args: string[], mode: 'compress' | 'decompress'): Duplex {
  let child: FilterChild | undefined
  let exited = false
  let inputEnded = false
  let stderr = ''

  const fail = (detail: string, cause?: unknown): Error => {
    const what = mode === 'decompress' ? 'decompress the archive' : 'compress the archive'
    const message = `zstd could not ${what}: ${detail}${stderr ? `: ${stderr.trim()}` : ''}`
    const options = cause === undefined ? undefined : { cause }
    // A decompression failure means the stored bytes are bad; a compression failure is ours.
    return mode === 'decompress'
      ? new ArchiveIntegrityError(message, options)
      : new SnapshotError(message, options)
  }

  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      if (child === undefined || exited) return callback(fail('it exited before reading all input'))
      if (child.stdin.write(chunk)) return callback()
      child.stdin.once('drain', () => callback())
    },
    final(callback) {
      inputEnded = true
      child?.stdin.end()
      callback()
    },
    read() {
      child?.stdout.resume()
    },
    destroy(error, callback) {
      if (child !== undefined && !exited) child.kill('SIGKILL')
      callback(error)
    }
  })

  try {
    child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (error) {
    process.nextTick(() => duplex.destroy(fail(`cannot start ${binary}`, error)))
    return duplex
  }
  const running = child
  running.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) running.stdout.pause()
  })
  running.stderr.setEncoding('utf8')
  running.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr = (stderr + text).slice(0, STDERR_LIMIT)
  })
  // The program's exit code decides; EPIPE on stdin only means it stopped reading.
  running.stdin.on('error', () => undefined)
  running.on('error', error => {
    exited = true
    duplex.destroy(fail(`cannot run ${binary}`, error))
  })
  running.on('close', (code, signal) => {
    exited = true
    if (duplex.destroyed) return
    if (code === 0 && inputEnded) duplex.push(null)
    else if (code === 0) duplex.destroy(fail('it exited before reading all input'))
    else duplex.destroy(fail(signal ? `killed by ${signal}` : `exit code ${String(code)}`))
  })
  return duplex
}
