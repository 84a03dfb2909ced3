import { describe, expect, it } from 'vitest'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import {
  NameMap,
  checkPrefix,
  containerReferences,
  parseLink,
  parseVolumesFrom
} from '../../../src/restore/names.js'
import { containerRecord, idFor, manifestOf, networkRecord, volumeRecord } from './fixtures.js'

const manifest = manifestOf({
  containers: [containerRecord('db'), containerRecord('web')],
  volumes: [volumeRecord('pgdata')],
  networks: [networkRecord('backend')]
})
const names = new NameMap(manifest, 'copy-')
const unprefixed = new NameMap(manifest, '')

describe('NameMap', () => {
  it.each([
    ['container', (n: NameMap) => n.container('db'), 'copy-db'],
    ['volume', (n: NameMap) => n.volume('pgdata'), 'copy-pgdata'],
    ['user network', (n: NameMap) => n.network('backend'), 'copy-backend'],
    ['bridge keeps its name', (n: NameMap) => n.network('bridge'), 'bridge'],
    ['host keeps its name', (n: NameMap) => n.network('host'), 'host'],
    ['none keeps its name', (n: NameMap) => n.network('none'), 'none'],
    ['default keeps its name', (n: NameMap) => n.network('default'), 'default'],
    ['container by name', (n: NameMap) => n.containerReference('db'), 'copy-db'],
    ['container by /name', (n: NameMap) => n.containerReference('/db'), 'copy-db'],
    ['container by full id', (n: NameMap) => n.containerReference(idFor('web')), 'copy-web'],
    [
      'container by short id',
      (n: NameMap) => n.containerReference(idFor('web').slice(0, 12)),
      'copy-web'
    ],
    ['container outside the snapshot', (n: NameMap) => n.containerReference('other'), 'other'],
    ['volume of the snapshot', (n: NameMap) => n.volumeReference('pgdata'), 'copy-pgdata'],
    ['volume outside the snapshot', (n: NameMap) => n.volumeReference('cache'), 'cache'],
    ['network outside the snapshot', (n: NameMap) => n.networkReference('ext'), 'ext'],
    ['container: mode', (n: NameMap) => n.mode('container:db'), 'container:copy-db'],
    ['other modes', (n: NameMap) => n.mode('host'), 'host']
  ])('maps %s', (_case, map, expected) => {
    expect(map(names)).toBe(expected)
  })

  it('changes nothing without a prefix', () => {
    expect(unprefixed.container('db')).toBe('db')
    expect(unprefixed.mode('container:db')).toBe('container:db')
    expect(unprefixed.labels({ 'com.docker.compose.project': 'demo' })).toEqual({
      'com.docker.compose.project': 'demo'
    })
  })

  it('prefixes the compose project label and keeps every other label', () => {
    expect(
      names.labels({ 'com.docker.compose.project': 'demo', 'com.docker.compose.service': 'db' })
    ).toEqual({
      'com.docker.compose.project': 'copy-demo',
      'com.docker.compose.service': 'db'
    })
    expect(names.labels({ a: 'b' })).toEqual({ a: 'b' })
    expect(names.labels(undefined)).toBeUndefined()
  })
})

describe('checkPrefix', () => {
  it.each(['', 'copy-', 'a', 'A.b_c-', '0x'])('accepts %j', prefix => {
    expect(() => checkPrefix(prefix)).not.toThrow()
  })
  it.each(['-x', '.x', 'a/b', 'a b', 'ä'])('refuses %j', prefix => {
    expect(() => checkPrefix(prefix)).toThrow(InvalidSettingsError)
  })
})

describe('parseLink', () => {
  it.each([
    ['/db:/web/database', { container: 'db', alias: 'database' }],
    ['db:database', { container: 'db', alias: 'database' }],
    ['db', { container: 'db', alias: 'db' }],
    ['/db', { container: 'db', alias: 'db' }]
  ])('%s', (link, expected) => {
    expect(parseLink(link)).toEqual(expected)
  })
})

describe('parseVolumesFrom', () => {
  it.each([
    ['data', { container: 'data' }],
    ['data:ro', { container: 'data', mode: 'ro' }],
    ['data:rw', { container: 'data', mode: 'rw' }]
  ])('%s', (value, expected) => {
    expect(parseVolumesFrom(value)).toEqual(expected)
  })
})

describe('containerReferences', () => {
  it('finds links, volumes-from and container: modes, inside the snapshot or not', () => {
    const record = containerRecord('web', {
      create: {
        HostConfig: {
          Links: ['/db:/web/database'],
          VolumesFrom: ['other:ro'],
          NetworkMode: `container:${idFor('db').slice(0, 12)}`,
          PidMode: 'host',
          IpcMode: 'container:db'
        }
      }
    })
    expect(containerReferences(record, names)).toEqual([
      { container: 'db', inSnapshot: true, via: 'links' },
      { container: 'other', inSnapshot: false, via: 'volumes-from' },
      { container: 'db', inSnapshot: true, via: 'network mode' },
      { container: 'db', inSnapshot: true, via: 'ipc mode' }
    ])
  })
})
