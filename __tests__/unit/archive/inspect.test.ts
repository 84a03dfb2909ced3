import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { afterAll, describe, expect, test } from 'vitest'
import {
  inspectArchive,
  resolveCompression,
  type Codec,
  type ExpectedArchive
} from '../../../src/archive/index.js'
import { ArchiveIntegrityError } from '../../../src/shared/errors.js'
import { buildTar, CODECS, packToBuffer, ROOT, VOLUME, type FixtureEntry } from './tar-fixtures.js'

/** Compresses `tar` as it is (no checks), recording its true digest, as a faulty writer would. */
async function compressRaw(
  tar: Buffer,
  codec: Codec
): Promise<{ stored: Buffer; expected: ExpectedArchive }> {
  const chunks: Buffer[] = []
  await pipeline(
    Readable.from([tar]),
    codec.compress(),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk)
        callback()
      }
    })
  )
  const stored = Buffer.concat(chunks)
  return { stored, expected: expectedOf(stored, codec) }
}

function expectedOf(stored: Buffer, codec: Codec): ExpectedArchive {
  return {
    sha256: createHash('sha256').update(stored).digest('hex'),
    storedBytes: stored.length,
    compression: codec.algorithm,
    object: 'volumes/db.tar'
  }
}

/** The stored bytes in several chunks, like a store would deliver them. */
function storedStream(stored: Buffer): Readable {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < stored.length; offset += 1000)
    chunks.push(stored.subarray(offset, offset + 1000))
  return Readable.from(chunks)
}

const gzip = () => resolveCompression('gzip', 1)
const ROOT_ENTRY: FixtureEntry = { name: './', type: 'directory', mode: 0o755 }

describe.each(CODECS)('$name', ({ choice, available }) => {
  const codec = () => resolveCompression(choice, undefined, available)

  test('pack then inspect gives back the digest, sizes, root metadata and entry count', async () => {
    const tar = await buildTar(VOLUME)
    const { result, stored } = await packToBuffer(tar, await codec())
    expect(result).toEqual({
      sha256: createHash('sha256').update(stored).digest('hex'),
      storedBytes: stored.length,
      tarBytes: tar.length,
      compression: choice === 'gzip' ? 'gzip' : 'zstd',
      root: ROOT,
      entries: VOLUME.length - 1
    })
    expect(stored.length).toBeLessThan(tar.length / 4)
    const inspection = await inspectArchive(storedStream(stored), result)
    expect(inspection).toEqual({ root: ROOT, entries: VOLUME.length - 1, tarBytes: tar.length })
  })

  test('a recorded digest that differs is reported as modification', async () => {
    const { result, stored } = await packToBuffer(await buildTar(VOLUME), await codec())
    const wrong = 'ab'.repeat(32)
    const attempt = inspectArchive(storedStream(stored), {
      ...result,
      sha256: wrong,
      object: 'volumes/db.tar'
    })
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(
      `Archive volumes/db.tar does not match its manifest: expected sha256 ${wrong} ` +
        `(${stored.length} bytes), got ${result.sha256} (${stored.length} bytes). The archive was ` +
        'modified or corrupted; restore from another snapshot.'
    )
  })

  test('stored bytes shorter than recorded are reported as truncated', async () => {
    const { result, stored } = await packToBuffer(await buildTar(VOLUME), await codec())
    const half = Math.floor(stored.length / 2)
    const attempt = inspectArchive(storedStream(stored.subarray(0, half)), result)
    await expect(attempt).rejects.toThrow(
      `The archive is truncated: ${half} bytes are stored, the manifest recorded ${stored.length}.`
    )
  })

  test('one flipped byte in the middle is reported as corruption, not as a tar error', async () => {
    const { result, stored } = await packToBuffer(await buildTar(VOLUME), await codec())
    const damaged = Buffer.from(stored)
    damaged[damaged.length >> 1] ^= 0x55
    const attempt = inspectArchive(storedStream(damaged), result)
    await expect(attempt).rejects.toThrow(
      /does not match its manifest: .*The archive was modified or corrupted/
    )
  })

  test('a compressed stream that ends early, with a matching digest, is reported as truncated', async () => {
    const tar = await buildTar([ROOT_ENTRY, { name: 'noise', content: randomText(300_000) }])
    const { stored } = await compressRaw(tar, await codec())
    const cut = stored.subarray(0, stored.length - 100)
    const attempt = inspectArchive(storedStream(cut), expectedOf(cut, await codec()))
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(
      /^Archive volumes\/db\.tar is truncated: the (zstd|gzip) stream ends early/
    )
  })
})

describe('tar problems behind a matching digest', () => {
  test.each([
    [
      'cut in the middle of an entry',
      (tar: Buffer) => tar.subarray(0, 2048 + 700),
      'in the middle of an entry'
    ],
    [
      'cut after an entry, without the end-of-archive block',
      (tar: Buffer) => tar.subarray(0, 3072),
      'it has no end-of-archive block'
    ]
  ])('a tar %s is reported as truncated', async (_name, cut, detail) => {
    const tar = await buildTar([
      ROOT_ENTRY,
      { name: 'a', content: 'x'.repeat(1000) },
      { name: 'b', content: 'y' }
    ])
    const { stored, expected } = await compressRaw(cut(tar), await gzip())
    await expect(inspectArchive(storedStream(stored), expected)).rejects.toThrow(
      `Archive volumes/db.tar is truncated: the tar inside ends early (${detail}).`
    )
  })

  test('bytes that are not a tar are reported as such', async () => {
    const { stored, expected } = await compressRaw(Buffer.alloc(4096, 'z'), await gzip())
    await expect(inspectArchive(storedStream(stored), expected)).rejects.toThrow(
      /^Archive volumes\/db\.tar is not a valid tar: Invalid tar header/
    )
  })

  test('a tar without a ./ entry is not a volume archive', async () => {
    const { stored, expected } = await compressRaw(
      await buildTar([{ name: 'a', content: 'x' }]),
      await gzip()
    )
    await expect(inspectArchive(storedStream(stored), expected)).rejects.toThrow(
      "Archive volumes/db.tar has no root directory entry './'"
    )
  })

  test.each([
    ['gzip', 'zstd', 'is gzip-compressed, but the manifest records zstd'],
    ['zstd', 'gzip', 'is zstd-compressed, but the manifest records gzip']
  ] as const)(
    'a %s archive recorded as %s says the manifest is wrong',
    async (actual, recorded, message) => {
      const { stored, expected } = await compressRaw(
        await buildTar(VOLUME),
        await resolveCompression(actual)
      )
      await expect(
        inspectArchive(storedStream(stored), { ...expected, compression: recorded })
      ).rejects.toThrow(
        `Archive volumes/db.tar ${message}. The manifest does not describe this archive`
      )
    }
  )

  test('bytes that are neither zstd nor gzip are named as such', async () => {
    const tar = await buildTar(VOLUME)
    await expect(inspectArchive(storedStream(tar), expectedOf(tar, await gzip()))).rejects.toThrow(
      'Archive volumes/db.tar is not gzip data, but the manifest records gzip.'
    )
  })
})

// One row an attack: rows alike but for their entries are the table, not copies.
const UNSAFE: [string, FixtureEntry[], string][] = [
  [
    '../x',
    [{ name: '../x', content: 'x' }],
    "unsafe entry '../x': its path climbs out of the root with '..'"
  ],
  [
    '/etc/passwd',
    [{ name: '/etc/passwd', content: 'x' }],
    "unsafe entry '/etc/passwd': its path is absolute"
  ],
  [
    'a/../../x',
    [{ name: 'a/../../x', content: 'x' }],
    "unsafe entry 'a/../../x': its path climbs out of the root"
  ],
  [
    './a/../../x',
    [{ name: './a/../../x', content: 'x' }],
    "unsafe entry './a/../../x': its path climbs out"
  ],
  [
    'l -> /etc then l/passwd',
    [
      { name: './l', type: 'symlink', linkname: '/etc' },
      { name: 'l/passwd', content: 'root::0:0::/:/bin/sh\n' }
    ],
    "unsafe entry 'l/passwd': its path goes through 'l', a symlink earlier in the archive"
  ],
  [
    'd/up -> .. then ./d/up/up/x',
    [
      { name: './d/', type: 'directory' },
      { name: './d/up', type: 'symlink', linkname: '..' },
      { name: './d/up/x', content: 'x' }
    ],
    "unsafe entry './d/up/x': its path goes through 'd/up'"
  ],
  [
    'hard link to ../x',
    [{ name: 'h', type: 'link', linkname: '../x' }],
    "unsafe entry 'h': its hard link target '../x' climbs out of the root with '..'"
  ],
  [
    'hard link to /etc/shadow',
    [{ name: 'h', type: 'link', linkname: '/etc/shadow' }],
    "unsafe entry 'h': its hard link target '/etc/shadow' is absolute"
  ],
  [
    'hard link through a symlink',
    [
      { name: 'l', type: 'symlink', linkname: '/etc' },
      { name: 'h', type: 'link', linkname: 'l/shadow' }
    ],
    "unsafe entry 'h': its hard link target 'l/shadow' goes through 'l'"
  ],
  [
    'a -> / then hard link b -> a then b/x (b is a symlink too)',
    [
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'b/x', content: 'x' }
    ],
    "unsafe entry 'b/x': its path goes through 'b', a symlink earlier in the archive"
  ],
  [
    'a hard link chain to a symlink, then a path through it',
    [
      { name: 'd/', type: 'directory' },
      { name: 'd/a', type: 'symlink', linkname: '/etc' },
      { name: 'b', type: 'link', linkname: 'd/a' },
      { name: 'c', type: 'link', linkname: './b' },
      { name: 'c/sub/x', content: 'x' }
    ],
    "unsafe entry 'c/sub/x': its path goes through 'c', a symlink earlier in the archive"
  ],
  [
    'a directory replaced by a symlink, then a path through it',
    [
      { name: 'a/', type: 'directory' },
      { name: 'a/y', content: 'y' },
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'a/x', content: 'x' }
    ],
    "unsafe entry 'a/x': its path goes through 'a', a symlink earlier in the archive"
  ],
  [
    'a hard link whose target goes through a hard-linked symlink',
    [
      { name: 'a', type: 'symlink', linkname: '/etc' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'h', type: 'link', linkname: 'b/shadow' }
    ],
    "unsafe entry 'h': its hard link target 'b/shadow' goes through 'b', a symlink"
  ],
  [
    'a relative symlink above the root',
    [{ name: 'up', type: 'symlink', linkname: '../../outside' }],
    "entry 'up' that cannot be unpacked: its symlink target '../../outside' points above the root"
  ],
  [
    'a symlink to .. at the root',
    [{ name: './up', type: 'symlink', linkname: '..' }],
    "entry './up' that cannot be unpacked: its symlink target '..' points above the root"
  ],
  [
    'a hard link to an entry not in the archive',
    [{ name: 'h', type: 'link', linkname: 'missing' }],
    "entry 'h' that cannot be unpacked: its hard link target 'missing' is not an earlier entry"
  ],
  [
    'a hard link to itself (the untar removes the path first)',
    [
      { name: 'f', content: 'f' },
      { name: 'f', type: 'link', linkname: 'f' }
    ],
    "entry 'f' that cannot be unpacked: its hard link target 'f' is not an earlier entry"
  ],
  [
    'a hard link to an entry removed by a later symlink over its directory',
    [
      { name: 'd/f', content: 'f' },
      { name: 'd', type: 'symlink', linkname: 'elsewhere' },
      { name: 'h', type: 'link', linkname: 'd/f' }
    ],
    "unsafe entry 'h': its hard link target 'd/f' goes through 'd', a symlink"
  ],
  [
    'a hard link to a directory',
    [
      { name: 'd/', type: 'directory' },
      { name: 'h', type: 'link', linkname: 'd' }
    ],
    "entry 'h' that cannot be unpacked: its hard link target 'd' is a directory"
  ],
  [
    'a file below a file',
    [
      { name: 'f', content: 'f' },
      { name: 'f/x', content: 'x' }
    ],
    "entry 'f/x' that cannot be unpacked: its path goes through 'f', which is not a directory"
  ],
  [
    'a root that is a symlink',
    [{ name: '.', type: 'symlink', linkname: '/' }],
    "unsafe entry '.': the root must be a directory, not a symlink"
  ]
]

describe('unsafe entries', () => {
  test.each(UNSAFE)('inspect refuses %s', async (_name, entries, message) => {
    const { stored, expected } = await compressRaw(
      await buildTar([ROOT_ENTRY, ...entries]),
      await gzip()
    )
    const attempt = inspectArchive(storedStream(stored), expected)
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(`Archive volumes/db.tar has an ${message}`)
  })

  test.each(UNSAFE)('pack refuses %s', async (_name, entries, message) => {
    const attempt = packToBuffer(await buildTar([ROOT_ENTRY, ...entries]), await gzip())
    await expect(attempt).rejects.toThrow(ArchiveIntegrityError)
    await expect(attempt).rejects.toThrow(`The tar stream has an ${message}`)
    await expect(attempt).rejects.toThrow(/; move or fix that entry .* take the snapshot again\.$/)
  })

  test('entries that stay inside the root are accepted, with and without ./', async () => {
    const entries: FixtureEntry[] = [
      { name: 'a/', type: 'directory' },
      { name: './a/../b', content: 'b' },
      { name: 'a/x', content: 'x' },
      { name: './..hidden', content: 'dots in a name are fine' },
      { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'a/up', type: 'symlink', linkname: '../b' },
      { name: 'h1', type: 'link', linkname: './a/x' },
      { name: 'h2', type: 'link', linkname: 'a/x' },
      { name: 'h3', type: 'link', linkname: 'abs' },
      { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'fifo', type: 'fifo' }
    ]
    const { stored, expected } = await compressRaw(
      await buildTar([ROOT_ENTRY, ...entries]),
      await gzip()
    )
    const inspection = await inspectArchive(storedStream(stored), expected)
    expect(inspection.entries).toBe(entries.length)
    expect(inspection.root).toEqual({ uid: 0, gid: 0, mode: 0o755, mtime: ROOT.mtime })
  })

  test('a path the untar replaces or cleans is judged as the untar leaves it', async () => {
    const entries: FixtureEntry[] = [
      // a directory replaces the symlink, so a/x is written inside it
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'a/', type: 'directory' },
      { name: 'a/x', content: 'x' },
      // the name is cleaned to y before anything is opened: l is never followed
      { name: 'l', type: 'symlink', linkname: '/' },
      { name: 'l/../y', content: 'y' },
      // a file replaces the hard-linked symlink
      { name: 'b', type: 'link', linkname: 'l' },
      { name: 'b', content: 'b' },
      { name: 'c', type: 'link', linkname: 'b' },
      { name: 'd/up', type: 'symlink', linkname: '..' }
    ]
    const { stored, expected } = await compressRaw(
      await buildTar([ROOT_ENTRY, ...entries]),
      await gzip()
    )
    expect((await inspectArchive(storedStream(stored), expected)).entries).toBe(entries.length)
  })
})

describe('a tar written by the system tar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archive-inspect-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test.runIf(spawnSync('tar', ['--version']).status === 0)(
    'gives the directory’s own metadata as root',
    async () => {
      const volume = join(dir, 'volume')
      mkdirSync(join(volume, 'sub'), { recursive: true })
      writeFileSync(join(volume, 'sub', 'file.txt'), 'content\n')
      symlinkSync('sub/file.txt', join(volume, 'link'))
      chmodSync(volume, 0o750)
      utimesSync(volume, 1_700_000_000, 1_700_000_000)
      const tar = spawnSync('tar', ['-C', volume, '-cf', '-', '.'], { maxBuffer: 1 << 24 })
      expect(tar.status).toBe(0)

      const { result, stored } = await packToBuffer(tar.stdout, await gzip())
      const stat = statSync(volume)
      const root = { uid: stat.uid, gid: stat.gid, mode: 0o750, mtime: 1_700_000_000 }
      expect(result.root).toEqual(root)
      expect(result.entries).toBe(3)
      expect(await inspectArchive(storedStream(stored), result)).toEqual({
        root,
        entries: 3,
        tarBytes: tar.stdout.length
      })
    }
  )
})

function randomText(length: number): string {
  let seed = 42
  let text = ''
  while (text.length < length) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    text += seed.toString(36)
  }
  return text.slice(0, length)
}
