import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { escapeMarkdown, outputsOf, summaryOf } from '../../../src/action/summary.js'
import type { RunResult } from '../../../src/app/runner.js'
import { containerRecord, manifestOf, volumeRecord } from '../restore/fixtures.js'

const DIGEST = 'sha256:4a1c3b2e9f8d7c6b5a4e3d2c1b0a9f8e7d6c5b4a3e2d1c0b9a8f7e6d5c4b3a2e'
/** A name a user chose, with characters that mean something in a Markdown table. */
const ODD = 'a|b_c'
const ODD_ESCAPED = 'a\\|b\\_c'

const snapshotResult: RunResult = {
  mode: 'snapshot',
  snapshot: {
    manifest: manifestOf({
      containers: [containerRecord('web'), containerRecord('db')],
      volumes: [volumeRecord(ODD), volumeRecord('pgdata')]
    }),
    manifestLocation: 'directory /srv/snapshots: snap-1/manifest.json',
    codec: 'zstd-3',
    seconds: 12.34,
    quiescedSeconds: 1.5,
    volumes: [
      { name: ODD, tarBytes: 2048, storedBytes: 100, seconds: 2, method: 'helper', notKept: [] },
      {
        name: 'pgdata',
        tarBytes: 3 * 1024 * 1024,
        storedBytes: 1024 * 1024,
        seconds: 0,
        method: 'archive',
        notKept: ['POSIX ACLs', 'sparseness']
      }
    ],
    images: [
      {
        key: 'commit:web',
        reference: `127.0.0.1:5000/docker-snapshot@${DIGEST}`,
        location: 'registry'
      },
      { key: 'source:sha256:abc', reference: 'postgres:13', location: 'store' }
    ],
    secretEnv: { encrypted: false, withheld: [], kept: [], inImages: [] }
  }
}

const restoreResult: RunResult = {
  mode: 'restore',
  restore: {
    snapshotId: 'snap-1',
    prefix: 'copy_',
    steps: [
      { step: 'manifest', durationMs: 120 },
      { step: 'volumes', durationMs: 2000 }
    ],
    durationMs: 3500,
    images: [{ key: 'commit:web', reference: 'web-image', id: DIGEST, action: 'pulled' }],
    volumes: [{ name: ODD, target: `copy_${ODD}`, action: 'created', entries: 42 }],
    networks: [{ name: 'net', target: 'copy_net', action: 'created' }],
    containers: [
      { name: ODD, target: `copy_${ODD}`, id: 'f'.repeat(64), action: 'created', state: 'healthy' },
      { name: 'db', target: 'copy_db', action: 'skipped', state: 'skipped' }
    ],
    bindMounts: [],
    replaced: []
  }
}

const verifyResult = (ok: boolean): RunResult => ({
  mode: 'verify',
  verify: {
    snapshotId: 'snap-1',
    ok,
    checks: [
      { kind: 'manifest', subject: 'snap-1', ok: true, detail: 'checksum matches', durationMs: 5 },
      {
        kind: 'archive',
        subject: `volume ${ODD}`,
        ok,
        detail: ok ? '42 entries' : 'sha256 <mismatch> in `volumes/x`',
        durationMs: 10
      }
    ],
    durationMs: 20
  }
})

const pruneResult = (removed: string[], kept: string[]): RunResult => ({
  mode: 'prune',
  prune: { removed, kept, skipped: [] }
})

describe('escapeMarkdown', () => {
  it.each<{ text: string; escaped: string }>([
    { text: 'plain-name.1', escaped: 'plain-name.1' },
    { text: 'a|b', escaped: 'a\\|b' },
    { text: 'my_volume_name', escaped: 'my\\_volume\\_name' },
    { text: '`code`', escaped: '\\`code\\`' },
    { text: '<script>', escaped: '\\<script\\>' },
    { text: '*bold* [link]', escaped: '\\*bold\\* \\[link\\]' },
    { text: 'back\\slash', escaped: 'back\\\\slash' },
    { text: ODD, escaped: ODD_ESCAPED }
  ])('$text becomes $escaped', ({ text, escaped }) => {
    expect(escapeMarkdown(text)).toBe(escaped)
  })
})

describe('outputsOf', () => {
  const action = parse(readFileSync(new URL('../../../action.yml', import.meta.url), 'utf8')) as {
    outputs: Record<string, { description: string }>
  }
  const declared = Object.keys(action.outputs).sort()

  it.each<{ result: RunResult; names: string[] }>([
    { result: snapshotResult, names: ['images', 'manifest', 'snapshot-id', 'volumes'] },
    { result: restoreResult, names: ['containers', 'images', 'snapshot-id', 'volumes'] },
    { result: verifyResult(true), names: ['snapshot-id', 'verified'] },
    { result: pruneResult(['old'], []), names: ['pruned'] }
  ])('sets only outputs action.yml declares, for $result.mode', ({ result, names }) => {
    const set = Object.keys(outputsOf(result)).sort()
    expect(set).toEqual(names)
    for (const name of set) expect(declared).toContain(name)
  })

  it('sets every output action.yml declares in some mode', () => {
    const set = new Set(
      [snapshotResult, restoreResult, verifyResult(true), pruneResult([], [])].flatMap(result =>
        Object.keys(outputsOf(result))
      )
    )
    expect([...set].sort()).toEqual(declared)
  })

  it('gives the snapshot id, manifest, images and volume sizes of a snapshot', () => {
    expect(outputsOf(snapshotResult)).toEqual({
      'snapshot-id': 'snap-1',
      manifest: 'directory /srv/snapshots: snap-1/manifest.json',
      images: JSON.stringify([
        {
          key: 'commit:web',
          reference: `127.0.0.1:5000/docker-snapshot@${DIGEST}`,
          location: 'registry'
        },
        { key: 'source:sha256:abc', reference: 'postgres:13', location: 'store' }
      ]),
      volumes: JSON.stringify([
        { name: ODD, tarBytes: 2048, storedBytes: 100, copyMethod: 'helper' },
        {
          name: 'pgdata',
          tarBytes: 3 * 1024 * 1024,
          storedBytes: 1024 * 1024,
          copyMethod: 'archive'
        }
      ])
    })
  })

  it('gives what a restore did', () => {
    const outputs = outputsOf(restoreResult)
    expect(outputs['snapshot-id']).toBe('snap-1')
    expect(JSON.parse(outputs.images!)).toEqual([
      { key: 'commit:web', reference: 'web-image', id: DIGEST, action: 'pulled' }
    ])
    expect(JSON.parse(outputs.volumes!)).toEqual([
      { name: ODD, target: `copy_${ODD}`, action: 'created', entries: 42 }
    ])
    expect(JSON.parse(outputs.containers!)).toEqual([
      { name: ODD, target: `copy_${ODD}`, id: 'f'.repeat(64), action: 'created', state: 'healthy' },
      { name: 'db', target: 'copy_db', action: 'skipped', state: 'skipped' }
    ])
  })

  it.each([true, false])('gives verified %s', ok => {
    expect(outputsOf(verifyResult(ok))).toEqual({ 'snapshot-id': 'snap-1', verified: String(ok) })
  })

  it('gives the pruned ids as JSON', () => {
    expect(outputsOf(pruneResult(['a', 'b'], ['c']))).toEqual({ pruned: '["a","b"]' })
    expect(outputsOf(pruneResult([], ['c']))).toEqual({ pruned: '[]' })
  })
})

describe('summaryOf', () => {
  it('summarises a snapshot with a row per volume and image', () => {
    const summary = summaryOf(snapshotResult)
    expect(summary.split('\n')).toEqual([
      '## Snapshot snap-1',
      '',
      '2 containers, 2 volumes, 0 networks in 12.3 s; containers held (stop) for 1.5 s. ' +
        'Compression: zstd-3.',
      '',
      '| volume | data | stored | time | throughput | copied by |',
      '| --- | --- | --- | --- | --- | --- |',
      `| ${ODD_ESCAPED} | 2.0 KiB | 100 B | 2.0 s | 1.0 KiB/s | helper container |`,
      '| pgdata | 3.0 MiB | 1.0 MiB | 0.0 s | 2.9 GiB/s | archive API; not kept: POSIX ACLs, sparseness |',
      '',
      '| image | location | reference |',
      '| --- | --- | --- |',
      `| commit:web | registry | \`127.0.0.1:5000/docker-snapshot@${DIGEST}\` |`,
      '| source:sha256:abc | store | `postgres:13` |',
      '',
      'Manifest: directory /srv/snapshots: snap-1/manifest.json',
      ''
    ])
  })

  it('says which secret-looking values were left out, and which image still holds them', () => {
    const summary = summaryOf({
      mode: 'snapshot',
      snapshot: {
        ...snapshotResult.snapshot,
        secretEnv: {
          encrypted: false,
          withheld: [{ container: ODD, variables: ['DB_PASSWORD', 'API_TOKEN'] }],
          kept: [],
          inImages: [{ image: `commit:${ODD}`, container: ODD, location: 'store' }]
        }
      }
    })
    expect(summary).toContain(
      `Secret-looking environment values left out of the manifest (${ODD_ESCAPED}: ` +
        'DB\\_PASSWORD, API\\_TOKEN): a restore takes them from its env setting, or from a ' +
        'committed image; an encrypted snapshot keeps them.\n'
    )
    expect(summary).toContain(
      `Image commit:${ODD_ESCAPED} holds the environment of ${ODD_ESCAPED}, secret-looking ` +
        'values included, in its image config, saved unencrypted into the store.\n'
    )
  })

  it('leaves out empty tables of a snapshot', () => {
    const empty: RunResult = {
      mode: 'snapshot',
      snapshot: { ...snapshotResult.snapshot, volumes: [], images: [] }
    }
    const summary = summaryOf(empty)
    expect(summary).not.toContain('| volume |')
    expect(summary).not.toContain('| image |')
    expect(summary).toContain('Manifest: directory /srv/snapshots: snap-1/manifest.json\n')
  })

  it('summarises a restore with its steps and a row per container and volume', () => {
    expect(summaryOf(restoreResult).split('\n')).toEqual([
      '## Restored snap-1 with prefix copy\\_',
      '',
      'Done in 3.5 s: manifest 0.1 s, volumes 2.0 s.',
      '',
      '| container | as | action | state |',
      '| --- | --- | --- | --- |',
      `| ${ODD_ESCAPED} | copy\\_${ODD_ESCAPED} | created | healthy |`,
      '| db | copy\\_db | skipped | skipped |',
      '',
      '| volume | as | action | entries |',
      '| --- | --- | --- | --- |',
      `| ${ODD_ESCAPED} | copy\\_${ODD_ESCAPED} | created | 42 |`,
      '',
      ''
    ])
  })

  it('says nothing of a prefix when there is none', () => {
    const plain: RunResult = { mode: 'restore', restore: { ...restoreResult.restore, prefix: '' } }
    expect(summaryOf(plain).split('\n')[0]).toBe('## Restored snap-1')
  })

  it('summarises a passed verify', () => {
    expect(summaryOf(verifyResult(true)).split('\n')).toEqual([
      '## Verify snap-1: passed',
      '',
      '| check | subject | result | detail |',
      '| --- | --- | --- | --- |',
      '| manifest | snap-1 | ok | checksum matches |',
      `| archive | volume ${ODD_ESCAPED} | ok | 42 entries |`,
      '',
      ''
    ])
  })

  it('marks a failed verify and escapes the detail', () => {
    const lines = summaryOf(verifyResult(false)).split('\n')
    expect(lines[0]).toBe('## Verify snap-1: FAILED')
    expect(lines).toContain(
      `| archive | volume ${ODD_ESCAPED} | **failed** | sha256 \\<mismatch\\> in \\\`volumes/x\\\` |`
    )
  })

  it.each<{ removed: string[]; kept: string[]; line: string }>([
    {
      removed: [ODD, 'old-1'],
      kept: ['a', 'b', 'c'],
      line: `Removed 2: ${ODD_ESCAPED}, old-1. Kept 3.`
    },
    { removed: [], kept: ['a'], line: 'Removed 0: none. Kept 1.' }
  ])('summarises a prune that removed $removed', ({ removed, kept, line }) => {
    expect(summaryOf(pruneResult(removed, kept))).toBe(`## Prune\n\n${line}\n`)
  })

  it('never lets a user-chosen name add a table cell', () => {
    for (const result of [snapshotResult, restoreResult, verifyResult(true)]) {
      const rows = summaryOf(result)
        .split('\n')
        .filter(line => line.startsWith('| '))
      const cells = (row: string) => row.replace(/\\\|/g, '').split('|').length
      const widths = new Set(rows.filter(row => row.includes('---')).map(cells))
      for (const row of rows) expect(widths).toContain(cells(row))
      expect(rows.join('\n')).not.toMatch(/[^\\]\|b\\_c/)
    }
  })
})
