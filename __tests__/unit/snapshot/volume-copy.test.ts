import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import {
  codecDescription,
  parseMode,
  parseRootLine,
  snapshotScript
} from '../../../src/snapshot/volume-copy.js'
import { restoreScript } from '../../../src/restore/volume-fill.js'

describe('parseMode', () => {
  it.each([
    ['rwxr-xr-x', 0o755],
    ['rw-------', 0o600],
    ['---------', 0],
    ['rwsr-xr-x', 0o4755],
    ['rwSr--r--', 0o4644],
    ['rwxr-sr-x', 0o2755],
    ['rwxr-S---', 0o2740],
    ['rwxrwxrwt', 0o1777],
    ['rwxr-x--T', 0o1750],
    ['rwsrwsrwt', 0o7777]
  ])('%s is %o', (text, mode) => {
    expect(parseMode(text)).toBe(mode)
  })
})

describe('parseRootLine', () => {
  it.each([
    [
      'drwxr-xr-x  0/0               0 2026-11-30 14:07:52.970205505 ./',
      { mode: 0o755, uid: 0, gid: 0, mtime: Date.UTC(2026, 10, 30, 14, 7, 52) / 1000 }
    ],
    [
      'drwxr-x--T+ 1234/2345         0 2001-01-01 00:00:07 ./',
      { mode: 0o1750, uid: 1234, gid: 2345, mtime: 978307207 }
    ],
    [
      'drwxrwxrwt* 4294967294/70000  0 1970-01-01 00:00:00 ./',
      { mode: 0o1777, uid: 4294967294, gid: 70000, mtime: 0 }
    ]
  ])('reads %s', (line, root) => {
    expect(parseRootLine(line)).toEqual(root)
  })

  it.each([
    ['a file first', '-rw-r--r--  0/0   3 2026-11-30 14:07:52 ./'],
    ['another directory', 'drwxr-xr-x  0/0   0 2026-11-30 14:07:52 ./sub/'],
    ['names instead of ids', 'drwxr-xr-x  root/root   0 2026-11-30 14:07:52 ./'],
    ['no seconds', 'drwxr-xr-x  0/0   0 2026-11-30 14:07 ./'],
    ['an impossible date', 'drwxr-xr-x  0/0   0 2026-13-45 14:07:52 ./'],
    ['nothing', '']
  ])('refuses %s', (_case, line) => {
    expect(parseRootLine(line)).toBeUndefined()
  })
})

describe('the helper scripts', () => {
  it('keep every attribute and fail when either side of the pipe fails', () => {
    const script = snapshotScript({ algorithm: 'zstd', level: 7 })
    for (const option of [
      '--xattrs',
      "--xattrs-include='*'",
      '--acls',
      '--sparse',
      '--numeric-owner'
    ]) {
      expect(script).toContain(option)
    }
    expect(script).toContain('zstd -q -T0 -7')
    expect(script).toMatch(/\[ "\$z" = 0 \] && \[ "\$t" = 0 \]$/)
    expect(snapshotScript({ algorithm: 'gzip', level: 9 })).toContain('gzip -c -9')
    expect(restoreScript('zstd')).toMatch(
      /^\[ -f \/in\/\.docker-snapshot-host \] \|\| exit 97; \{ zstd -d -q -c \/in\/archive;.*tar -x --xattrs/
    )
    expect(restoreScript('gzip')).toMatch(/exit 97; \{ gzip -d -c \/in\/archive;/)
    expect(script).toMatch(
      /^\[ -f \/out\/\.docker-snapshot-host \] && \{ : > \/out\/index; \} 2>\/dev\/null \|\| exit 97; /
    )
  })
})

describe('codecDescription', () => {
  const zstd = { algorithm: 'zstd', level: 5, implementation: 'zstd binary -T0 -5' } as const
  const gzip = { algorithm: 'gzip', level: 9, implementation: 'node zlib gzip -9' } as const
  const helper = { method: 'helper', image: 'copier:1', workRoot: '/tmp', forced: false } as const
  it.each([
    [zstd, undefined, 'zstd binary -T0 -5'],
    [zstd, { method: 'archive', reason: 'remote' } as const, 'zstd binary -T0 -5'],
    [zstd, helper, 'zstd binary -T0 -5; volumes: zstd -T0 -5 in a helper container'],
    [gzip, helper, 'node zlib gzip -9; volumes: gzip -9 in a helper container']
  ])('%j by %j is %s', (codec, method, text) => {
    expect(codecDescription({ ...codec, compress: () => new PassThrough() }, method)).toBe(text)
  })
})
