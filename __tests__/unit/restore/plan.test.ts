import { describe, expect, it } from 'vitest'
import { ConflictError, InvalidSettingsError, ManifestError } from '../../../src/shared/errors.js'
import { NameMap } from '../../../src/restore/names.js'
import {
  type EngineState,
  type ExistingContainer,
  planRestore,
  selectRecords
} from '../../../src/restore/plan.js'
import type { ConflictPolicy } from '../../../src/restore/types.js'
import { containerRecord, manifestOf, networkRecord, volumeRecord } from './fixtures.js'

const db = containerRecord('db', {
  mounts: [{ type: 'volume', source: 'pgdata', destination: '/data', readOnly: false }],
  endpoints: [{ network: 'backend', aliases: ['database'] }],
  create: { HostConfig: { NetworkMode: 'backend' } }
})
const web = containerRecord('web', {
  dependsOn: ['db'],
  mounts: [
    { type: 'volume', source: 'site', destination: '/srv', readOnly: false },
    { type: 'bind', source: '/etc/app', destination: '/etc/app', readOnly: true }
  ],
  endpoints: [
    { network: 'backend', aliases: [] },
    { network: 'bridge', aliases: [] }
  ],
  create: { HostConfig: { NetworkMode: 'backend' } }
})
const manifest = manifestOf({
  containers: [web, db],
  volumes: [volumeRecord('pgdata'), volumeRecord('site'), volumeRecord('logs')],
  networks: [networkRecord('backend'), networkRecord('unused')]
})

const names = (prefix = '') => new NameMap(manifest, prefix)
const state = (parts: Partial<EngineState> = {}): EngineState => ({
  containers: [],
  volumes: new Set(),
  networks: new Set(),
  ...parts
})
const existing = (name: string, ...volumes: string[]): ExistingContainer => ({
  name,
  id: `${name}-id`,
  volumes
})

describe('selectRecords', () => {
  it.each([
    {
      case: 'everything by default',
      options: {},
      expected: {
        containers: ['web', 'db'],
        volumes: ['pgdata', 'site', 'logs'],
        networks: ['backend'],
        images: ['commit:web', 'commit:db']
      }
    },
    {
      case: 'containers bring their volumes, networks and images',
      options: { containers: ['db'] },
      expected: {
        containers: ['db'],
        volumes: ['pgdata'],
        networks: ['backend'],
        images: ['commit:db']
      }
    },
    {
      case: 'containers and extra volumes',
      options: { containers: ['db'], volumes: ['logs'] },
      expected: {
        containers: ['db'],
        volumes: ['pgdata', 'logs'],
        networks: ['backend'],
        images: ['commit:db']
      }
    },
    {
      case: 'volumes alone: only volumes',
      options: { volumes: ['site'] },
      expected: { containers: [], volumes: ['site'], networks: [], images: [] }
    }
  ])('$case', ({ options, expected }) => {
    const selection = selectRecords(manifest, options)
    expect({
      containers: selection.containers.map(c => c.name),
      volumes: selection.volumes.map(v => v.name),
      networks: selection.networks.map(n => n.name),
      images: selection.images.map(i => i.key)
    }).toEqual(expected)
  })

  it.each([
    [{ containers: ['db', 'cache'] }, /no container 'cache'.*web, db/],
    [{ volumes: ['x', 'y'] }, /no volumes 'x', 'y'.*pgdata, site, logs/]
  ])('refuses unknown names and lists the known ones: %j', (options, message) => {
    expect(() => selectRecords(manifest, options)).toThrow(InvalidSettingsError)
    expect(() => selectRecords(manifest, options)).toThrow(message)
  })
})

describe('an excluded volume', () => {
  const withCache = containerRecord('worker', {
    mounts: [{ type: 'volume', source: 'cache', destination: '/cache', readOnly: false }]
  })
  const excluded = {
    name: 'cache',
    driver: 'local',
    driverOptions: {},
    labels: {},
    usedBy: ['worker']
  }
  const snapshot = { ...manifestOf({ containers: [withCache] }), excludedVolumes: [excluded] }

  it('is planned with its container, under the prefix, and conflicts like any volume', () => {
    const selection = selectRecords(snapshot, { containers: ['worker'] })
    expect(selection.volumes).toEqual([excluded])
    const copy = planRestore(selection, new NameMap(snapshot, 'copy-'), state(), 'fail', 'snap-1')
    expect(copy.volumes.map(v => [v.target, v.action])).toEqual([['copy-cache', 'create']])
    const inPlace = () =>
      planRestore(
        selection,
        new NameMap(snapshot, ''),
        state({ volumes: new Set(['cache']) }),
        'fail',
        'snap-1'
      )
    expect(inPlace).toThrow('would overwrite what exists: volume cache')
  })
})

describe('planRestore', () => {
  const plan = (given: EngineState, onConflict: ConflictPolicy = 'fail', prefix = '') =>
    planRestore(selectRecords(manifest, {}), names(prefix), given, onConflict, 'snap-1')

  it('creates everything on an empty engine, dependencies first', () => {
    const result = plan(state())
    expect(result.containers.map(c => [c.target, c.action])).toEqual([
      ['db', 'create'],
      ['web', 'create']
    ])
    expect(result.volumes.map(v => v.action)).toEqual(['create', 'create', 'create'])
    expect(result.networks.map(n => [n.target, n.action])).toEqual([['backend', 'create']])
  })

  it('reuses networks that exist, whatever the policy', () => {
    expect(plan(state({ networks: new Set(['backend']) })).networks[0]!.action).toBe('reuse')
  })

  it('fails listing every conflicting container and volume, and both ways out', () => {
    const given = state({
      containers: [existing('db', 'pgdata'), existing('web', 'site')],
      volumes: new Set(['pgdata', 'site'])
    })
    expect(() => plan(given)).toThrow(ConflictError)
    expect(() => plan(given)).toThrow(
      'would overwrite what exists: container web, container db, volume pgdata, volume site. ' +
        'Nothing was changed. Set on-conflict to replace'
    )
    expect(() => plan(given)).toThrow(/or skip/)
  })

  it('sees no conflict beside the originals with a prefix', () => {
    const given = state({
      containers: [existing('db', 'pgdata'), existing('web', 'site')],
      volumes: new Set(['pgdata', 'site', 'logs'])
    })
    const result = plan(given, 'fail', 'copy-')
    expect(result.containers.map(c => [c.target, c.action])).toEqual([
      ['copy-db', 'create'],
      ['copy-web', 'create']
    ])
    expect(result.volumes.map(v => v.target)).toEqual(['copy-pgdata', 'copy-site', 'copy-logs'])
  })

  it('skips what exists under skip', () => {
    const result = plan(
      state({ containers: [existing('db', 'pgdata')], volumes: new Set(['pgdata']) }),
      'skip'
    )
    expect(result.containers.map(c => [c.target, c.action])).toEqual([
      ['db', 'skip'],
      ['web', 'create']
    ])
    expect(result.volumes.map(v => [v.target, v.action])).toEqual([
      ['pgdata', 'skip'],
      ['site', 'create'],
      ['logs', 'create']
    ])
  })

  it('replaces what exists, knowing which replaced containers mount each volume', () => {
    const result = plan(
      state({ containers: [existing('db', 'pgdata')], volumes: new Set(['pgdata']) }),
      'replace'
    )
    expect(result.containers[0]).toMatchObject({
      target: 'db',
      action: 'replace',
      existing: { id: 'db-id' }
    })
    expect(result.volumes[0]).toMatchObject({ target: 'pgdata', action: 'replace', users: ['db'] })
  })

  it('refuses to replace a volume a container outside the restore mounts', () => {
    const given = state({
      containers: [existing('db', 'pgdata'), existing('backup', 'pgdata')],
      volumes: new Set(['pgdata'])
    })
    expect(() => plan(given, 'replace')).toThrow(ConflictError)
    expect(() => plan(given, 'replace')).toThrow(
      'volume pgdata is mounted by container backup, which this restore does not replace'
    )
  })

  it('refuses a volumes-only replace of a volume a container mounts', () => {
    const given = state({ containers: [existing('db', 'pgdata')], volumes: new Set(['pgdata']) })
    const selection = selectRecords(manifest, { volumes: ['pgdata'] })
    expect(() => planRestore(selection, names(), given, 'replace', 'snap-1')).toThrow(
      /volume pgdata is mounted by container db/
    )
  })

  describe('containers another needs at create', () => {
    const linked = containerRecord('app', {
      create: { HostConfig: { Links: ['/db:/app/db'], VolumesFrom: ['external'] } }
    })
    const withLinks = manifestOf({ containers: [linked, db], volumes: [volumeRecord('pgdata')] })
    const run = (given: EngineState, containers: string[], prefix = '') =>
      planRestore(
        selectRecords(withLinks, { containers }),
        new NameMap(withLinks, prefix),
        given,
        'fail',
        'snap-1'
      )

    it('orders a link target first even without dependsOn', () => {
      const result = run(state({ containers: [existing('external')] }), ['app', 'db'])
      expect(result.containers.map(c => c.target)).toEqual(['db', 'app'])
    })

    it('accepts a link target that is not restored but exists under its restored name', () => {
      const given = state({ containers: [existing('copy-db'), existing('external')] })
      expect(run(given, ['app'], 'copy-').containers.map(c => c.target)).toEqual(['copy-app'])
    })

    it('names every container that will be missing and what to do', () => {
      expect(() => run(state(), ['app'], 'copy-')).toThrow(InvalidSettingsError)
      expect(() => run(state(), ['app'], 'copy-')).toThrow(
        'app needs db (links), which is not being restored and does not exist as copy-db: add db ' +
          'to the containers to restore; app needs container external (volumes-from), which is ' +
          'not in the snapshot and does not exist on this engine'
      )
    })
  })

  it('refuses a dependency cycle', () => {
    const cyclic = manifestOf({
      containers: [
        containerRecord('a', { dependsOn: ['b'] }),
        containerRecord('b', { dependsOn: ['a'] })
      ]
    })
    expect(() =>
      planRestore(selectRecords(cyclic, {}), new NameMap(cyclic, ''), state(), 'fail', 'snap-1')
    ).toThrow(ManifestError)
  })
})
