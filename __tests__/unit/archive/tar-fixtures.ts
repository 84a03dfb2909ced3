import { readdirSync, readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { pack, type Header } from 'tar-stream'
import {
  detectCodecs,
  packArchive,
  type Codec,
  type CodecAvailability,
  type CompressorChoice,
  type PackResult
} from '../../../src/archive/index.js'

/** One entry of a test tar: a header, and content for files. */
export type FixtureEntry = Partial<Header> & { name: string; content?: string | Buffer }

const MTIME = new Date('2024-05-01T10:00:00Z')

/** A tar built with tar-stream from `entries`, as bytes (headers default to root:root 0644). */
export async function buildTar(entries: FixtureEntry[]): Promise<Buffer> {
  const tar = pack()
  const chunks: Buffer[] = []
  const collected = (async () => {
    for await (const chunk of tar) chunks.push(chunk as Buffer)
  })()
  for (const { content, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const full = { uid: 0, gid: 0, mode: 0o644, mtime: MTIME, ...header }
      const callback = (error?: Error | null) => (error ? reject(error) : resolve())
      if (content === undefined) tar.entry(full, callback)
      else tar.entry(full, content, callback)
    })
  }
  tar.finalize()
  await collected
  return Buffer.concat(chunks)
}

/** A small volume: root, a directory, files, a symlink, a hard link, a fifo. */
export const VOLUME: FixtureEntry[] = [
  { name: './', type: 'directory', uid: 999, gid: 998, mode: 0o700, mtime: MTIME },
  { name: './data/', type: 'directory', mode: 0o755 },
  { name: './data/hello.txt', content: 'hello world\n' },
  { name: 'data/big.log', content: 'line of a log\n'.repeat(20_000) },
  { name: './data/latest', type: 'symlink', linkname: 'hello.txt' },
  { name: './data/hard', type: 'link', linkname: './data/hello.txt' },
  { name: './pipe', type: 'fifo' }
]

export const ROOT = { uid: 999, gid: 998, mode: 0o700, mtime: MTIME.getTime() / 1000 }

/** Packs `tar` with `codec` into memory: the result and the stored bytes. */
export async function packToBuffer(
  tar: Buffer,
  codec: Codec
): Promise<{ result: PackResult; stored: Buffer }> {
  const chunks: Buffer[] = []
  const result = await packArchive(Readable.from([tar]), codec, async compressed => {
    for await (const chunk of compressed) chunks.push(chunk as Buffer)
  })
  return { result, stored: Buffer.concat(chunks) }
}

const detected = detectCodecs()

/** Each implementation this machine can run, forced through the availability override. */
export const CODECS: { name: string; choice: CompressorChoice; available: CodecAvailability }[] = [
  ...(detected.zstdBinary === null
    ? []
    : [
        {
          name: 'zstd binary',
          choice: 'zstd' as const,
          available: { zstdBinary: detected.zstdBinary, nodeZstd: false }
        }
      ]),
  ...(detected.nodeZstd
    ? [
        {
          name: 'node zstd',
          choice: 'zstd' as const,
          available: { zstdBinary: null, nodeZstd: true }
        }
      ]
    : []),
  { name: 'gzip', choice: 'gzip', available: detected }
]

/** Pids of `zstd` processes (running or zombie) that this test process started. */
export function zstdChildren(): number[] {
  if (process.platform !== 'linux') return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name: state, ppid, ...
      const [, comm = '', rest = ''] = /^\d+ \((.*)\) (.*)$/.exec(stat.trim()) ?? []
      const ppid = rest.split(' ')[1]
      if (comm === 'zstd' && Number(ppid) === process.pid) {
        pids.push(Number(entry))
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return pids
}
