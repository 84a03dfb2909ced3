import { createConflicts } from '../../../src/verify/create-check.js'
import { describe, expect, it } from 'vitest'
import type { ContainerDetails, NetworkDetails } from '../../../src/docker/types.js'
import { networkRecord } from '../restore/fixtures.js'
import {
  LABEL,
  captureContainer,
  captureNetwork,
  consistencyFor,
  dependenciesOf,
  isSecretName,
  redactEnv
} from '../../../src/snapshot/capture.js'

const WEB_ID = '3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f'
const DB_ID = 'c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789'
const CACHE_ID = 'feedface00112233445566778899aabbccddeeff00112233445566778899aabb'
const ANONYMOUS_VOLUME = '9d0c1b2a3f4e5d6c7b8a99887766554433221100ffeeddccbbaa998877665544'

type Mount = ContainerDetails['Mounts'][number]
type Endpoint = ContainerDetails['NetworkSettings']['Networks'][string]

interface Shape {
  id?: string
  name?: string
  hostname?: string
  env?: string[]
  labels?: Record<string, string>
  hostConfig?: ContainerDetails['HostConfig']
  mounts?: Mount[]
  networks?: Record<string, Partial<Endpoint>>
  running?: boolean
}

function endpoint(id: string, fields: Partial<Endpoint>): Endpoint {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    NetworkID: 'e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910',
    EndpointID: `${id.slice(0, 32)}${'0'.repeat(32)}`,
    Gateway: '172.28.0.1',
    IPAddress: '172.28.0.10',
    IPPrefixLen: 16,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '02:42:ac:1c:00:0a',
    ...fields
  }
}

/**
 * A `docker inspect` of a container as Docker 20.10 returns it (API 1.41), by default of
 * `docker run -d --name web --network net --network-alias web -v pgdata:/var/lib/postgresql/data
 * -v /srv/conf:/etc/app:ro -e POSTGRES_PASSWORD=... postgres:13` where the image also declares
 * `VOLUME /cache`, which the engine backs with an anonymous volume.
 */
function inspect(shape: Shape = {}): ContainerDetails {
  const id = shape.id ?? WEB_ID
  const name = shape.name ?? 'web'
  const networks = shape.networks ?? {
    net: { IPAMConfig: { IPv4Address: '172.28.0.10' }, Aliases: [id.slice(0, 12), 'web'] }
  }
  const running = shape.running ?? true
  return {
    Id: id,
    Created: '2026-11-22T06:00:00.123456789Z',
    Path: 'docker-entrypoint.sh',
    Args: ['postgres'],
    State: {
      Status: running ? 'running' : 'exited',
      Running: running,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: running ? 4242 : 0,
      ExitCode: 0,
      Error: '',
      StartedAt: '2026-11-22T06:00:01.5Z',
      FinishedAt: '0001-01-01T00:00:00Z'
    },
    Image: 'sha256:8f5a2ba7c4e1d3b6a9f0e2d4c6b8a0f1e3d5c7b9a1f3e5d7c9b1a3f5e7d9c1b3',
    ResolvConfPath: `/var/lib/docker/containers/${id}/resolv.conf`,
    HostnamePath: `/var/lib/docker/containers/${id}/hostname`,
    HostsPath: `/var/lib/docker/containers/${id}/hosts`,
    LogPath: `/var/lib/docker/containers/${id}/${id}-json.log`,
    Name: `/${name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: 'docker-default',
    ExecIDs: undefined,
    HostConfig: shape.hostConfig ?? {
      Binds: ['pgdata:/var/lib/postgresql/data', '/srv/conf:/etc/app:ro'],
      NetworkMode: 'net',
      PortBindings: { '5432/tcp': [{ HostIp: '', HostPort: '5432' }] },
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      Links: null,
      Privileged: false,
      ShmSize: 67108864
    },
    GraphDriver: {
      Name: 'overlay2',
      Data: { DeviceId: '', DeviceName: '', DeviceSize: '' }
    },
    Mounts: shape.mounts ?? [
      {
        Type: 'volume',
        Name: 'pgdata',
        Source: '/var/lib/docker/volumes/pgdata/_data',
        Destination: '/var/lib/postgresql/data',
        Driver: 'local',
        Mode: 'z',
        RW: true,
        Propagation: ''
      },
      {
        Type: 'bind',
        Source: '/srv/conf',
        Destination: '/etc/app',
        Mode: 'ro',
        RW: false,
        Propagation: 'rprivate'
      },
      {
        Type: 'volume',
        Name: ANONYMOUS_VOLUME,
        Source: `/var/lib/docker/volumes/${ANONYMOUS_VOLUME}/_data`,
        Destination: '/cache',
        Driver: 'local',
        Mode: '',
        RW: true,
        Propagation: ''
      }
    ],
    Config: {
      Hostname: shape.hostname ?? id.slice(0, 12),
      Domainname: '',
      User: '',
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: { '5432/tcp': {} },
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      Env: shape.env ?? [
        'POSTGRES_PASSWORD=hunter2',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'GOSU_VERSION=1.16',
        'LANG=en_US.utf8',
        'PGDATA=/var/lib/postgresql/data',
        'API_KEY=k-123'
      ],
      Cmd: ['postgres'],
      Image: 'postgres:13',
      Volumes: { '/cache': {}, '/var/lib/postgresql/data': {} },
      WorkingDir: '',
      Entrypoint: ['docker-entrypoint.sh'],
      OnBuild: null,
      Labels: shape.labels ?? { 'com.example.tier': 'db' }
    },
    NetworkSettings: {
      SandboxID: 'a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8',
      Ports: { '5432/tcp': [{ HostIp: '0.0.0.0', HostPort: '5432' }] },
      SandboxKey: '/var/run/docker/netns/a9b8c7d6e5f4',
      Networks: Object.fromEntries(
        Object.entries(networks).map(([network, fields]) => [network, endpoint(id, fields)])
      )
    }
  }
}

describe('isSecretName and redactEnv', () => {
  it.each<{ name: string; secret: boolean }>([
    { name: 'POSTGRES_PASSWORD', secret: true },
    { name: 'MYSQL_ROOT_PASSWORD', secret: true },
    { name: 'PGPASSWORD', secret: true },
    { name: 'DB_PASS', secret: true },
    { name: 'DB_PASSWD', secret: true },
    { name: 'API_KEY', secret: true },
    { name: 'APIKEY', secret: true },
    { name: 'AWS_SECRET_ACCESS_KEY', secret: true },
    { name: 'AWS_ACCESS_KEY_ID', secret: true },
    { name: 'AWS_SESSION_TOKEN', secret: true },
    { name: 'GITHUB_TOKEN', secret: true },
    { name: 'SSH_PRIVATE_KEY', secret: true },
    { name: 'PRIVATEKEY', secret: true },
    { name: 'SECRET_KEY_BASE', secret: true },
    { name: 'RAILS_MASTER_KEY', secret: true },
    { name: 'KEY', secret: true },
    { name: 'key', secret: true },
    { name: 'REGISTRY_CREDENTIALS', secret: true },
    { name: 'BASIC_AUTH', secret: true },
    { name: 'SESSION_KEY', secret: true },
    { name: 'db_password', secret: true },
    { name: 'PATH', secret: false },
    { name: 'HOME', secret: false },
    { name: 'PGDATA', secret: false },
    { name: 'LANG', secret: false },
    { name: 'MODE', secret: false },
    { name: 'KEYBOARD_LAYOUT', secret: false },
    { name: 'KEYS', secret: false },
    { name: 'MONKEY', secret: false },
    { name: 'PWD', secret: false },
    { name: 'HOSTNAME', secret: false },
    // Words that mark a secret only as whole or last words.
    { name: 'POSTGRES_HOST_AUTH_METHOD', secret: false },
    { name: 'GIT_AUTHOR_NAME', secret: false },
    { name: 'TOKENIZERS_PARALLELISM', secret: false },
    { name: 'PASSENGER_APP_ENV', secret: false },
    { name: 'DB_PWD', secret: true },
    { name: 'REDIS_AUTH', secret: true },
    { name: 'SENTRY_DSN', secret: true },
    // A key by name, redacted although it may not be secret: the safe side.
    { name: 'PRIMARY_KEY', secret: true },
    // Not secret by name; redactEnv catches a password inside the URL by value.
    { name: 'DATABASE_URL', secret: false }
  ])('$name is secret: $secret', ({ name, secret }) => {
    expect(isSecretName(name)).toBe(secret)
  })

  it.each([
    ['postgres://app:hunter2@db:5432/shop', true],
    ['https://user:token@git.example/repo.git', true],
    ['postgres://db:5432/shop', false],
    ['http://user@host/', false]
  ])('redacts a URL value %s when it carries a password: %s', (value, redacted) => {
    expect(redactEnv([`DATABASE_URL=${value}`]).redacted).toEqual(redacted ? ['DATABASE_URL'] : [])
  })

  it('keeps the entries it may write down, in order, and names the others', () => {
    expect(
      redactEnv([
        'PATH=/usr/bin',
        'POSTGRES_PASSWORD=hunter2',
        'EMPTY=',
        'GITHUB_TOKEN=ghp_x=y',
        'UNSET',
        'LANG=C.UTF-8'
      ])
    ).toEqual({
      env: ['PATH=/usr/bin', 'EMPTY=', 'UNSET', 'LANG=C.UTF-8'],
      redacted: ['POSTGRES_PASSWORD', 'GITHUB_TOKEN']
    })
  })

  it('judges the name only, never the value', () => {
    expect(redactEnv(['GREETING=my password is hunter2'])).toEqual({
      env: ['GREETING=my password is hunter2'],
      redacted: []
    })
  })
})

describe('consistencyFor', () => {
  it.each<{ label: string | undefined; fallback: 'none' | 'pause' | 'stop'; expected: string }>([
    { label: 'none', fallback: 'pause', expected: 'none' },
    { label: 'pause', fallback: 'stop', expected: 'pause' },
    { label: 'stop', fallback: 'pause', expected: 'stop' },
    { label: undefined, fallback: 'stop', expected: 'stop' },
    { label: '', fallback: 'pause', expected: 'pause' },
    { label: 'STOP', fallback: 'pause', expected: 'pause' },
    { label: 'freeze', fallback: 'none', expected: 'none' },
    { label: ' stop', fallback: 'pause', expected: 'pause' }
  ])('label $label with fallback $fallback gives $expected', ({ label, fallback, expected }) => {
    const labels: Record<string, string> = { 'com.example.tier': 'db' }
    if (label !== undefined) labels[LABEL.consistency] = label
    expect(consistencyFor(labels, fallback)).toBe(expected)
  })
})

describe('captureContainer', () => {
  it('records the container as it was', () => {
    const record = captureContainer(inspect(), 'pause', new Map())
    expect(record).toMatchObject({
      name: 'web',
      id: WEB_ID,
      sourceImage: 'postgres:13',
      consistency: 'pause',
      running: true,
      dependsOn: []
    })
    expect(record).not.toHaveProperty('image')
    expect(captureContainer(inspect({ running: false }), 'stop', new Map()).running).toBe(false)
  })

  it('records volume, bind and tmpfs mounts, and nothing else', () => {
    const details = inspect()
    details.Mounts.push(
      {
        Type: 'tmpfs',
        Source: '',
        Destination: '/run',
        Mode: '',
        RW: true,
        Propagation: ''
      },
      {
        Type: 'npipe',
        Source: '\\\\.\\pipe\\docker_engine',
        Destination: '\\\\.\\pipe\\docker_engine',
        Mode: '',
        RW: true,
        Propagation: ''
      }
    )
    expect(captureContainer(details, 'pause', new Map()).mounts).toEqual([
      {
        type: 'volume',
        source: 'pgdata',
        destination: '/var/lib/postgresql/data',
        readOnly: false
      },
      { type: 'bind', source: '/srv/conf', destination: '/etc/app', readOnly: true },
      { type: 'volume', source: ANONYMOUS_VOLUME, destination: '/cache', readOnly: false },
      { type: 'tmpfs', source: '', destination: '/run', readOnly: false }
    ])
  })

  it("drops the engine's default hostname", () => {
    const { create } = captureContainer(inspect(), 'pause', new Map())
    expect(create).not.toHaveProperty('Hostname')
  })

  it('keeps a hostname the user chose', () => {
    const { create } = captureContainer(inspect({ hostname: 'pg-primary' }), 'pause', new Map())
    expect(create.Hostname).toBe('pg-primary')
  })

  it('leaves out what a container: network mode takes from the other container', () => {
    const details = inspect({
      hostname: 'db-host',
      hostConfig: { NetworkMode: `container:${DB_ID}` }
    })
    const { create } = captureContainer(details, 'pause', new Map([[DB_ID, 'db']]))
    expect(create).not.toHaveProperty('Hostname')
    expect(create).not.toHaveProperty('Domainname')
    expect(create).not.toHaveProperty('ExposedPorts')
    expect(createConflicts({ name: 'web', Image: 'x', ...create })).toEqual([])
  })

  it('copies the Config fields a create needs, and not the image', () => {
    const { create } = captureContainer(inspect(), 'pause', new Map())
    expect(create).toMatchObject({
      Domainname: '',
      User: '',
      WorkingDir: '',
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['postgres'],
      Labels: { 'com.example.tier': 'db' },
      ExposedPorts: { '5432/tcp': {} },
      Tty: false,
      Volumes: { '/cache': {}, '/var/lib/postgresql/data': {} }
    })
    expect(create).not.toHaveProperty('Image')
    expect(create).not.toHaveProperty('OnBuild')
    expect(create.HostConfig).toMatchObject({
      Binds: ['pgdata:/var/lib/postgresql/data', '/srv/conf:/etc/app:ro'],
      NetworkMode: 'net',
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 }
    })
  })

  it('leaves secrets out of Env and names them in redactedEnv', () => {
    const record = captureContainer(inspect(), 'pause', new Map())
    expect(record.create.Env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'GOSU_VERSION=1.16',
      'LANG=en_US.utf8',
      'PGDATA=/var/lib/postgresql/data'
    ])
    expect(record.redactedEnv).toEqual(['POSTGRES_PASSWORD', 'API_KEY'])
    const written = JSON.stringify(record)
    expect(written).not.toContain('hunter2')
    expect(written).not.toContain('k-123')
  })

  it('keeps every value, in order, when the manifest is encrypted', () => {
    const details = inspect()
    const record = captureContainer(details, 'pause', new Map(), true)
    expect(record.create.Env).toEqual(details.Config.Env)
    expect(record.create.Env?.some(entry => entry.startsWith('POSTGRES_PASSWORD='))).toBe(true)
    expect(record.redactedEnv).toEqual([])
  })

  it('mounts an anonymous volume explicitly, and not the named one from Binds', () => {
    const { create } = captureContainer(inspect(), 'pause', new Map())
    expect(create.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: ANONYMOUS_VOLUME, Target: '/cache', ReadOnly: false }
    ])
  })

  it('keeps mounts given with --mount first and does not repeat them', () => {
    const details = inspect({
      hostConfig: {
        NetworkMode: 'bridge',
        Mounts: [
          { Type: 'volume', Source: 'pgdata', Target: '/var/lib/postgresql/data' },
          { Type: 'bind', Source: '/srv/conf', Target: '/etc/app', ReadOnly: true }
        ]
      }
    })
    const { create } = captureContainer(details, 'pause', new Map())
    expect(create.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'pgdata', Target: '/var/lib/postgresql/data' },
      { Type: 'bind', Source: '/srv/conf', Target: '/etc/app', ReadOnly: true },
      { Type: 'volume', Source: ANONYMOUS_VOLUME, Target: '/cache', ReadOnly: false }
    ])
  })

  it('adds no Mounts when every volume is already named in Binds', () => {
    const details = inspect()
    details.Mounts = details.Mounts.filter(mount => mount.Destination !== '/cache')
    const { create } = captureContainer(details, 'pause', new Map())
    expect(create.HostConfig).not.toHaveProperty('Mounts')
  })

  it('does not change the inspect it was given', () => {
    const details = inspect()
    const before = structuredClone(details)
    captureContainer(details, 'pause', new Map())
    expect(details).toEqual(before)
  })

  it("removes the engine's id aliases and keeps the user's and static addresses", () => {
    const details = inspect({
      networks: {
        net: {
          IPAMConfig: { IPv4Address: '172.28.0.10', IPv6Address: 'fd00::10' },
          Aliases: [WEB_ID.slice(0, 12), 'web', 'database', WEB_ID]
        },
        backend: { IPAMConfig: {}, Aliases: [WEB_ID.slice(0, 12)] },
        bridge: { IPAMConfig: null, Aliases: null }
      }
    })
    expect(captureContainer(details, 'pause', new Map()).endpoints).toEqual([
      {
        network: 'net',
        aliases: ['web', 'database'],
        ipv4Address: '172.28.0.10',
        ipv6Address: 'fd00::10'
      },
      { network: 'backend', aliases: [] },
      { network: 'bridge', aliases: [] }
    ])
  })
})

describe('dependenciesOf', () => {
  const byId = new Map([
    [DB_ID, 'db'],
    [DB_ID.slice(0, 12), 'db'],
    [CACHE_ID, 'cache'],
    [CACHE_ID.slice(0, 12), 'cache']
  ])
  const withHost = (host: ContainerDetails['HostConfig'], labels: Record<string, string> = {}) =>
    inspect({ hostConfig: { NetworkMode: 'default', ...host }, labels })

  it.each<{ case: string; details: ContainerDetails; expected: string[] }>([
    { case: 'none', details: withHost({}), expected: [] },
    { case: 'a legacy link', details: withHost({ Links: ['/db:/web/db'] }), expected: ['db'] },
    {
      case: 'links under aliases',
      details: withHost({ Links: ['/db:/web/database', '/cache:/web/redis'] }),
      expected: ['cache', 'db']
    },
    {
      case: 'volumes-from with a mode',
      details: withHost({ VolumesFrom: ['data:ro', 'config'] }),
      expected: ['config', 'data']
    },
    {
      case: 'volumes-from by id',
      details: withHost({ VolumesFrom: [`${DB_ID}:rw`] }),
      expected: ['db']
    },
    {
      case: "another container's network namespace, by full id",
      details: withHost({ NetworkMode: `container:${DB_ID}` }),
      expected: ['db']
    },
    {
      case: "another container's pid and ipc namespaces",
      details: withHost({ PidMode: `container:${CACHE_ID}`, IpcMode: `container:${DB_ID}` }),
      expected: ['cache', 'db']
    },
    {
      case: 'a host namespace is no dependency',
      details: withHost({ NetworkMode: 'host', PidMode: 'host', IpcMode: 'shareable' }),
      expected: []
    },
    {
      case: 'an unknown id stays as it is',
      details: withHost({ NetworkMode: 'container:0123456789ab' }),
      expected: ['0123456789ab']
    },
    {
      case: 'the depends-on label, trimmed',
      details: withHost({}, { [LABEL.dependsOn]: ' migrate, seed ,, ' }),
      expected: ['migrate', 'seed']
    },
    {
      case: 'all of them, once each, sorted',
      details: withHost(
        {
          Links: ['/db:/web/db'],
          VolumesFrom: ['data', 'data:ro'],
          NetworkMode: `container:${CACHE_ID}`,
          PidMode: `container:${CACHE_ID}`
        },
        { [LABEL.dependsOn]: 'db,migrate' }
      ),
      expected: ['cache', 'data', 'db', 'migrate']
    }
  ])('$case', ({ details, expected }) => {
    expect(dependenciesOf(details, byId)).toEqual(expected)
  })

  it('names a container once when it is reached both by id and by name', () => {
    const details = withHost(
      { Links: ['/db:/web/db'], NetworkMode: `container:${DB_ID}` },
      { [LABEL.dependsOn]: 'db' }
    )
    expect(dependenciesOf(details, byId)).toEqual(['db'])
  })

  it('is what captureContainer records', () => {
    const details = withHost({ Links: ['/db:/web/db'], NetworkMode: `container:${CACHE_ID}` })
    expect(captureContainer(details, 'pause', byId).dependsOn).toEqual(['cache', 'db'])
  })
})

describe('captureNetwork', () => {
  it('maps a user network with IPAM config', () => {
    const details: NetworkDetails = {
      Name: 'net',
      Id: 'e1d2c3b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910',
      Created: '2026-11-22T06:00:00.1Z',
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: true,
      IPAM: {
        Driver: 'default',
        Options: { 'com.example.pool': 'a' },
        Config: [
          { Subnet: '172.28.0.0/16', IPRange: '172.28.5.0/24', Gateway: '172.28.0.1' },
          { Subnet: 'fd00::/64' }
        ]
      },
      Internal: true,
      Attachable: true,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {},
      Options: { 'com.docker.network.bridge.name': 'br-snap' },
      Labels: { 'com.docker.compose.network': 'net' }
    }
    expect(captureNetwork(details)).toEqual({
      name: 'net',
      driver: 'bridge',
      internal: true,
      attachable: true,
      enableIPv6: true,
      labels: { 'com.docker.compose.network': 'net' },
      options: { 'com.docker.network.bridge.name': 'br-snap' },
      ipam: {
        driver: 'default',
        config: [
          { subnet: '172.28.0.0/16', ipRange: '172.28.5.0/24', gateway: '172.28.0.1' },
          { subnet: 'fd00::/64' }
        ],
        options: { 'com.example.pool': 'a' }
      }
    })
  })

  it('fills defaults for what the engine left null or empty', () => {
    // `docker network inspect` of a network created with no options, as Docker 20.10 prints it.
    const details = JSON.parse(`{
      "Name": "plain",
      "Id": "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
      "Created": "2026-11-22T06:00:00.1Z",
      "Scope": "local",
      "Driver": "bridge",
      "EnableIPv6": false,
      "IPAM": { "Driver": "", "Options": null, "Config": null },
      "Internal": false,
      "Attachable": false,
      "Ingress": false,
      "ConfigFrom": { "Network": "" },
      "ConfigOnly": false,
      "Containers": {},
      "Options": null,
      "Labels": null
    }`) as NetworkDetails
    // networkRecord: a plain bridge network, every option off or empty, IPAM 'default'
    expect(captureNetwork(details)).toEqual(networkRecord('plain'))
  })

  it('fills defaults when IPAM is missing', () => {
    const details = JSON.parse(
      '{"Name":"bare","Id":"x","Created":"","Scope":"local","Driver":"overlay"}'
    ) as NetworkDetails
    expect(captureNetwork(details)).toEqual(networkRecord('bare', { driver: 'overlay' }))
  })
})
