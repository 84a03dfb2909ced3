import { describe, expect, it } from 'vitest'
import type { ContainerRecord } from '../../../src/manifest/manifest.js'
import {
  applyPortPolicy,
  buildCreateSpec,
  mapBind,
  networkAttachment,
  type CreateContext
} from '../../../src/restore/create-body.js'
import { createConflicts } from '../../../src/verify/create-check.js'
import { NameMap } from '../../../src/restore/names.js'
import type { PortPolicy } from '../../../src/restore/types.js'
import { containerRecord, idFor, manifestOf, networkRecord, volumeRecord } from './fixtures.js'

const data = containerRecord('data', {
  mounts: [{ type: 'volume', source: 'shared', destination: '/shared', readOnly: false }]
})
const db = containerRecord('db', {
  mounts: [
    { type: 'volume', source: 'pgdata', destination: '/var/lib/postgresql/data', readOnly: false }
  ],
  endpoints: [{ network: 'backend', aliases: ['database'] }],
  create: {
    Env: ['PATH=/bin'],
    Labels: { 'com.docker.compose.project': 'demo', 'com.docker.compose.service': 'db' },
    HostConfig: { NetworkMode: 'backend', Binds: ['pgdata:/var/lib/postgresql/data:rw'] }
  }
})
const manifest = manifestOf({
  containers: [data, db],
  volumes: [volumeRecord('pgdata'), volumeRecord('shared'), volumeRecord('a'.repeat(64))],
  networks: [networkRecord('backend'), networkRecord('frontend')]
})
const names = new NameMap(manifest, 'copy-')

function context(overrides: Partial<CreateContext> = {}): CreateContext {
  return {
    names,
    image: 'docker-snapshot/commits:snap-1-web',
    ports: 'keep',
    env: ['PATH=/bin'],
    containers: new Map(manifest.containers.map(c => [c.name, c])),
    ...overrides
  }
}

function web(overrides: Partial<ContainerRecord> = {}, host: Record<string, unknown> = {}) {
  return containerRecord('web', {
    endpoints: [
      { network: 'frontend', aliases: ['www'] },
      { network: 'backend', aliases: ['web', 'app'], ipv4Address: '10.5.0.9' }
    ],
    create: {
      Cmd: ['httpd', '-f'],
      Env: ['PATH=/bin', 'MODE=prod'],
      Labels: { 'com.docker.compose.project': 'demo' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: 'backend',
        Binds: ['site:/srv/www:ro', '/etc/hosts.d:/etc/hosts.d', 'pgdata:/pg'],
        Mounts: [
          { Type: 'volume', Source: 'shared', Target: '/data' },
          { Type: 'bind', Source: '/tmp', Target: '/tmp' },
          { Type: 'tmpfs', Target: '/run' }
        ],
        VolumesFrom: ['data:ro'],
        Links: ['/db:/web/database'],
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] },
        RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
        ...host
      }
    },
    ...overrides
  })
}

describe('buildCreateSpec', () => {
  it('maps every name the body uses and keeps everything else', () => {
    const { spec, connect } = buildCreateSpec(web(), 'copy-web', context())
    // Spelled out whole, to read beside web() above: what changed and what was kept.
    expect(spec).toEqual({
      name: 'copy-web',
      Image: 'docker-snapshot/commits:snap-1-web',
      Cmd: ['httpd', '-f'],
      Env: ['PATH=/bin'],
      Labels: { 'com.docker.compose.project': 'copy-demo' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        NetworkMode: 'copy-backend',
        // `site` is not a volume of the snapshot: it keeps its name.
        Binds: ['site:/srv/www:ro', '/etc/hosts.d:/etc/hosts.d', 'copy-pgdata:/pg'],
        Mounts: [
          { Type: 'volume', Source: 'copy-shared', Target: '/data' },
          { Type: 'bind', Source: '/tmp', Target: '/tmp' },
          { Type: 'tmpfs', Target: '/run' }
        ],
        VolumesFrom: ['copy-data:ro'],
        Links: ['copy-db:database'],
        PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }] },
        RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 }
      },
      NetworkingConfig: {
        EndpointsConfig: {
          'copy-backend': { Aliases: ['web', 'app'], IPAMConfig: { IPv4Address: '10.5.0.9' } }
        }
      }
    })
    expect(connect).toEqual([{ network: 'copy-frontend', aliases: ['www'] }])
  })

  it('does not change the record it was given', () => {
    const record = web()
    const before = structuredClone(record)
    buildCreateSpec(record, 'copy-web', context({ ports: 'none' }))
    expect(record).toEqual(before)
  })

  it('leaves Env out when there is none to give', () => {
    const { spec } = buildCreateSpec(web(), 'web', context({ env: undefined }))
    expect(spec).not.toHaveProperty('Env')
  })

  it('mounts recorded volumes the body does not name (anonymous, from the image VOLUME)', () => {
    const anonymous = 'a'.repeat(64)
    const record = containerRecord('web', {
      mounts: [
        { type: 'volume', source: anonymous, destination: '/cache/', readOnly: false },
        { type: 'volume', source: 'pgdata', destination: '/pg', readOnly: true },
        { type: 'volume', source: 'shared', destination: '/shared', readOnly: false },
        { type: 'bind', source: '/etc', destination: '/host-etc', readOnly: true }
      ],
      create: { HostConfig: { Binds: ['pgdata:/pg:ro'], VolumesFrom: ['data'] } }
    })
    const { spec } = buildCreateSpec(record, 'copy-web', context())
    expect((spec.HostConfig as Record<string, unknown>).Mounts).toEqual([
      { Type: 'volume', Source: `copy-${anonymous}`, Target: '/cache/', ReadOnly: false }
    ])
  })

  it('mounts a throwaway volume, or nothing, where a replaced bind mount mounted the host', () => {
    const { spec } = buildCreateSpec(
      web(),
      'copy-web',
      context({
        bindReplacements: new Map([
          ['/etc/hosts.d/', { volume: 'copy-web-bind-1', readOnly: false }],
          ['/tmp', { readOnly: false }]
        ])
      })
    )
    const host = spec.HostConfig as Record<string, unknown>
    // Volume binds stay; no host path is left in the body.
    expect(host.Binds).toEqual(['site:/srv/www:ro', 'copy-pgdata:/pg'])
    expect(host.Mounts).toEqual([
      { Type: 'volume', Source: 'copy-shared', Target: '/data' },
      { Type: 'tmpfs', Target: '/run' },
      { Type: 'volume', Source: 'copy-web-bind-1', Target: '/etc/hosts.d/', ReadOnly: false }
    ])
  })

  it('maps a container: network mode and attaches no endpoint', () => {
    const record = containerRecord('sidecar', {
      endpoints: [],
      create: { HostConfig: { NetworkMode: `container:${idFor('db')}` } }
    })
    const { spec, connect } = buildCreateSpec(record, 'copy-sidecar', context())
    expect((spec.HostConfig as Record<string, unknown>).NetworkMode).toBe('container:copy-db')
    expect(spec).not.toHaveProperty('NetworkingConfig')
    expect(connect).toEqual([])
  })

  it('gives back no hostname, domain or exposed ports on a container: network mode', () => {
    // As snapshots taken before capture left them out recorded them: inherited from db.
    const record = containerRecord('sidecar', {
      create: {
        Hostname: 'db-host',
        Domainname: 'example.org',
        ExposedPorts: { '8080/tcp': {} },
        User: 'nobody',
        HostConfig: { NetworkMode: 'container:db' }
      }
    })
    const { spec } = buildCreateSpec(record, 'copy-sidecar', context())
    expect(spec).not.toHaveProperty('Hostname')
    expect(spec).not.toHaveProperty('Domainname')
    expect(spec).not.toHaveProperty('ExposedPorts')
    expect(spec.User).toBe('nobody')
    expect(createConflicts(spec)).toEqual([])
  })
})

describe('networkAttachment', () => {
  const record = (mode: string | undefined, ...networks: [string, string[]][]) => ({
    create: { HostConfig: mode === undefined ? {} : { NetworkMode: mode } },
    endpoints: networks.map(([network, aliases]) => ({ network, aliases }))
  })
  it.each([
    [
      'the mode names the first endpoint, wherever it is recorded',
      record('backend', ['frontend', []], ['backend', ['db']]),
      { mode: 'copy-backend', first: 'copy-backend', rest: ['copy-frontend'] }
    ],
    [
      'default mode on the bridge; the bridge takes no aliases',
      record('default', ['bridge', ['x']], ['backend', ['db']]),
      { mode: 'default', first: 'bridge', rest: ['copy-backend'] }
    ],
    [
      'default mode without the bridge: the first network becomes the mode',
      record('default', ['backend', ['db']]),
      { mode: 'copy-backend', first: 'copy-backend', rest: [] }
    ],
    ['host mode', record('host', ['host', []]), { mode: 'host', first: undefined, rest: [] }],
    ['none mode', record('none', ['none', []]), { mode: 'none', first: undefined, rest: [] }],
    ['no endpoints at all', record('backend'), { mode: 'copy-backend', first: undefined, rest: [] }]
  ])('%s', (_case, given, expected) => {
    const attachment = networkAttachment(given, names)
    expect({
      mode: attachment.networkMode,
      first: attachment.first?.network,
      rest: attachment.rest.map(r => r.network)
    }).toEqual(expected)
    if (attachment.first?.network === 'bridge') expect(attachment.first.aliases).toEqual([])
  })
})

describe('applyPortPolicy', () => {
  const bindings = () => ({
    PortBindings: {
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }],
      '53/udp': [
        { HostIp: '', HostPort: '5353' },
        { HostIp: '::1', HostPort: '5353' }
      ],
      '9000/tcp': null
    },
    PublishAllPorts: true
  })
  it.each<[PortPolicy, Record<string, unknown>]>([
    ['keep', bindings()],
    [
      'ephemeral',
      {
        PortBindings: {
          '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
          '53/udp': [
            { HostIp: '', HostPort: '' },
            { HostIp: '::1', HostPort: '' }
          ],
          '9000/tcp': []
        },
        PublishAllPorts: true
      }
    ],
    ['none', { PublishAllPorts: false }]
  ])('%s', (policy, expected) => {
    const host: Record<string, unknown> = bindings()
    applyPortPolicy(host, policy)
    expect(host).toEqual(expected)
  })
})

describe('mapBind', () => {
  it.each([
    ['pgdata:/data', 'copy-pgdata:/data'],
    ['pgdata:/data:ro,z', 'copy-pgdata:/data:ro,z'],
    ['/srv/pgdata:/data', '/srv/pgdata:/data'],
    ['unknown:/data', 'unknown:/data'],
    ['/data', '/data']
  ])('%s -> %s', (bind, expected) => {
    expect(mapBind(bind, names)).toBe(expected)
  })
})

describe('with the compose stack of the demo', () => {
  it('creates db on its network with its alias and volume', () => {
    const { spec, connect } = buildCreateSpec(db, 'copy-db', context({ env: db.create.Env }))
    expect(spec.Labels).toEqual({
      'com.docker.compose.project': 'copy-demo',
      'com.docker.compose.service': 'db'
    })
    expect(spec.HostConfig).toEqual({
      NetworkMode: 'copy-backend',
      Binds: ['copy-pgdata:/var/lib/postgresql/data:rw']
    })
    expect(spec.NetworkingConfig).toEqual({
      EndpointsConfig: { 'copy-backend': { Aliases: ['database'] } }
    })
    expect(connect).toEqual([])
  })
})
