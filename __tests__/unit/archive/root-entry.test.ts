import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { afterAll, describe, expect, test } from 'vitest'
import { rootEntryTar } from '../../../src/archive/index.js'
import type { RootMetadata } from '../../../src/manifest/manifest.js'

async function entriesOf(tar: Buffer) {
  const headers = []
  const parser = extract()
  Readable.from([tar]).pipe(parser)
  for await (const entry of parser) {
    headers.push(entry.header)
    entry.resume()
  }
  return headers
}

const hasTar = spawnSync('tar', ['--version']).status === 0

describe('rootEntryTar', () => {
  test.each<[string, RootMetadata]>([
    ['postgres-style owner', { uid: 999, gid: 999, mode: 0o700, mtime: 1_714_557_600 }],
    ['setgid and sticky bits', { uid: 0, gid: 50, mode: 0o3775, mtime: 0 }],
    [
      'ids beyond octal fields',
      { uid: 3_000_000, gid: 4_294_967_294, mode: 0o755, mtime: 1_700_000_000 }
    ]
  ])('holds one directory with the metadata: %s', async (_name, root) => {
    const tar = rootEntryTar(root, 'volume')
    expect(tar.length).toBe(3 * 512)
    const headers = await entriesOf(tar)
    expect(headers).toHaveLength(1)
    expect(headers[0]).toMatchObject({
      name: 'volume/',
      type: 'directory',
      uid: root.uid,
      gid: root.gid,
      mode: root.mode,
      size: 0,
      mtime: new Date(root.mtime * 1000)
    })
  })

  test.runIf(hasTar)('the system tar lists it with the same owner, mode and time', () => {
    const tar = rootEntryTar(
      { uid: 3_000_000, gid: 998, mode: 0o750, mtime: 1_714_557_600 },
      'data'
    )
    const listing = spawnSync('tar', ['--numeric-owner', '--utc', '-tvf', '-'], { input: tar })
    expect(listing.status).toBe(0)
    expect(listing.stdout.toString()).toMatch(
      /^drwxr-x--- 3000000\/998 +0 2024-05-01 10:00 data\/\n$/
    )
  })

  describe('unpacked by the system tar', () => {
    const dir = mkdtempSync(join(tmpdir(), 'root-entry-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    test.runIf(hasTar && process.getuid?.() === 0)(
      'sets the directory’s owner, mode and mtime',
      () => {
        const root = { uid: 4321, gid: 1234, mode: 0o751, mtime: 1_600_000_000 }
        const unpack = spawnSync('tar', ['-C', dir, '--same-owner', '-xpf', '-'], {
          input: rootEntryTar(root, 'vol')
        })
        expect(unpack.status).toBe(0)
        const stat = statSync(join(dir, 'vol'))
        expect({
          uid: stat.uid,
          gid: stat.gid,
          mode: stat.mode & 0o7777,
          mtime: stat.mtimeMs / 1000
        }).toEqual(root)
      }
    )
  })

  test.each(['', '.', '..', 'a/b', 'x'.repeat(100)])('refuses the directory name %j', name => {
    expect(() => rootEntryTar({ uid: 0, gid: 0, mode: 0o755, mtime: 0 }, name)).toThrow(
      'for a root entry: expected one path component of at most 99 bytes.'
    )
  })

  test('refuses a negative id', () => {
    expect(() => rootEntryTar({ uid: -1, gid: 0, mode: 0o755, mtime: 0 }, 'v')).toThrow(
      'Invalid root uid -1: expected a whole number >= 0.'
    )
  })
})
