import { describe, expect, it } from 'vitest'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import type { ArchiveRecord, ContainerRecord, MountRecord } from '../../../src/manifest/manifest.js'
import {
  bindReplacements,
  describeBindMount,
  planBindMounts
} from '../../../src/restore/bind-mounts.js'
import { NameMap } from '../../../src/restore/names.js'
import type { PlannedContainer } from '../../../src/restore/plan.js'
import type { BindMountPolicy } from '../../../src/restore/types.js'
import { containerRecord, manifestOf } from './fixtures.js'

const archive: ArchiveRecord = {
  object: 'binds/app-0.tar.zst',
  compression: 'zstd',
  sha256: 'b'.repeat(64),
  storedBytes: 10,
  tarBytes: 1024
}

function bind(source: string, destination: string, readOnly = false, captured = false) {
  const mount: MountRecord = { type: 'bind', source, destination, readOnly }
  if (captured) mount.archive = archive
  return mount
}

function plan(records: ContainerRecord[], policy: BindMountPolicy, skip: string[] = []) {
  const names = new NameMap(manifestOf({ containers: records }), 'dsv-abc123-')
  const containers: PlannedContainer[] = records.map(record => ({
    record,
    target: names.container(record.name),
    action: skip.includes(record.name) ? 'skip' : 'create'
  }))
  return planBindMounts(containers, new Map(records.map(r => [r.name, r])), names, policy)
}

const app = containerRecord('app', {
  mounts: [
    bind('/srv/logs', '/logs'),
    bind('/srv/conf', '/conf', true),
    bind('/srv/data', '/data', false, true),
    bind('/srv/keys', '/keys', true, true),
    { type: 'volume', source: 'cache', destination: '/cache', readOnly: false }
  ],
  create: {
    HostConfig: {
      Binds: ['/srv/logs:/logs', '/srv/conf:/conf:ro', '/srv/keys:/keys:ro'],
      Mounts: [{ Type: 'bind', Source: '/srv/data', Target: '/data/' }]
    }
  }
})

describe('planBindMounts', () => {
  it('keeps every host path for a restore', () => {
    expect(plan([app], 'host').map(m => [m.report.destination, m.report.given])).toEqual([
      ['/logs', 'host'],
      ['/conf', 'host'],
      ['/data', 'host'],
      ['/keys', 'host']
    ])
  })

  it('gives a throwaway copy its own volumes: captured contents, or empty; read-only host paths stay read-only', () => {
    const planned = plan([app], 'isolate')
    expect(planned.map(m => m.report)).toEqual([
      {
        container: 'dsv-abc123-app',
        source: '/srv/logs',
        destination: '/logs',
        given: 'empty',
        readOnly: false,
        volume: 'dsv-abc123-app-bind-0'
      },
      {
        container: 'dsv-abc123-app',
        source: '/srv/conf',
        destination: '/conf',
        given: 'host',
        readOnly: true
      },
      {
        container: 'dsv-abc123-app',
        source: '/srv/data',
        destination: '/data',
        given: 'captured',
        readOnly: false,
        volume: 'dsv-abc123-app-bind-2'
      },
      {
        container: 'dsv-abc123-app',
        source: '/srv/keys',
        destination: '/keys',
        given: 'captured',
        readOnly: true,
        volume: 'dsv-abc123-app-bind-3'
      }
    ])
    expect(planned.filter(m => m.archive !== undefined)).toHaveLength(2)
    // No writable host path is left to the create body.
    expect([...bindReplacements(planned, 'dsv-abc123-app').entries()]).toEqual([
      ['/logs', { volume: 'dsv-abc123-app-bind-0', readOnly: false }],
      ['/data', { volume: 'dsv-abc123-app-bind-2', readOnly: false }],
      ['/keys', { volume: 'dsv-abc123-app-bind-3', readOnly: true }]
    ])
  })

  it('plans nothing for a container the restore skips', () => {
    expect(plan([app], 'isolate', ['app'])).toEqual([])
  })

  it('leaves a bind mount inherited through volumes-from to the copy of its source', () => {
    const reader = containerRecord('reader', {
      mounts: [bind('/srv/logs', '/logs')],
      create: { HostConfig: { VolumesFrom: ['app:ro'] } }
    })
    expect(plan([app, reader], 'isolate').map(m => m.report.container)).not.toContain(
      'dsv-abc123-reader'
    )
  })

  it('refuses a writable bind mount inherited from a container outside the snapshot, naming it', () => {
    const reader = containerRecord('reader', {
      mounts: [bind('/srv/outside', '/outside')],
      create: { HostConfig: { VolumesFrom: ['elsewhere'] } }
    })
    expect(() => plan([reader], 'isolate')).toThrow(InvalidSettingsError)
    expect(() => plan([reader], 'isolate')).toThrow(
      /reader mounts host path \/srv\/outside at \/outside writable through volumes-from/
    )
  })
})

describe('describeBindMount', () => {
  it.each([
    ['host', false, undefined, 'c /d: host path /s as it is (its contents are not restored)'],
    ['host', true, undefined, 'c /d: host path /s, read-only as in the original'],
    [
      'captured',
      false,
      'v',
      "c /d: the snapshot's captured contents of /s in volume v, not the host path"
    ],
    [
      'empty',
      false,
      'v',
      'c /d: empty volume v, not the host path /s (the snapshot did not capture it; snapshot with bind-mounts: capture to check its contents too)'
    ],
    [
      'image',
      false,
      undefined,
      "c /d: the image's own file there, in the container's layer, not the host file /s (the snapshot did not capture it)"
    ]
  ] as const)('says what a %s mount (read-only %s) got', (given, readOnly, volume, expected) => {
    expect(
      describeBindMount({
        container: 'c',
        source: '/s',
        destination: '/d',
        given,
        readOnly,
        volume
      })
    ).toBe(expected)
  })
})
