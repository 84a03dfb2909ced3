import { createHash } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { ManifestError } from '../../../src/shared/errors.js'
import {
  MANIFEST_VERSION,
  type ArchiveRecord,
  type Manifest
} from '../../../src/manifest/manifest.js'
import {
  canonicalJson,
  computeChecksum,
  isValidObjectName,
  isValidSnapshotId,
  parseManifest,
  serializeManifest
} from '../../../src/manifest/schema.js'

const SOURCE = '/srv/snapshots/nightly-1/manifest.json'

function hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex')
}

function archive(object: string, compression: ArchiveRecord['compression']): ArchiveRecord {
  return { object, compression, sha256: hex(object), storedBytes: 1_048_576, tarBytes: 4_194_304 }
}

/** A realistic snapshot: postgres and a web app on one network, each with a volume, committed. */
function validManifest(): Omit<Manifest, 'checksum'> {
  return {
    schemaVersion: MANIFEST_VERSION,
    snapshotId: 'nightly-1',
    createdAt: '2025-11-22T06:30:00.000Z',
    completedAt: '2025-11-22T06:31:12.345Z',
    tool: { name: 'docker-snapshot', version: '0.1.0' },
    engine: { version: '28.3.0', apiVersion: '1.51', os: 'linux', arch: 'amd64' },
    selection: { containers: [], composeProject: 'shop', labels: [], all: false },
    consistency: 'pause',
    containers: [
      {
        name: 'shop-db-1',
        id: hex('container db'),
        sourceImage: 'postgres:17',
        image: 'commit:shop-db-1',
        consistency: 'pause',
        running: true,
        dependsOn: [],
        mounts: [
          {
            type: 'volume',
            source: 'shop_pgdata',
            destination: '/var/lib/postgresql/data',
            readOnly: false
          }
        ],
        endpoints: [{ network: 'shop_default', aliases: ['db'], ipv4Address: '172.28.0.10' }],
        redactedEnv: ['POSTGRES_PASSWORD'],
        create: {
          User: 'postgres',
          Env: ['PGDATA=/var/lib/postgresql/data', 'POSTGRES_DB=shop'],
          Cmd: ['postgres'],
          Entrypoint: null,
          Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'db' },
          ExposedPorts: { '5432/tcp': {} },
          Healthcheck: { Test: ['CMD', 'pg_isready'], Interval: 1_000_000_000, Retries: 30 },
          StopSignal: 'SIGINT',
          StopTimeout: 30,
          Volumes: { '/var/lib/postgresql/data': {} },
          HostConfig: { RestartPolicy: { Name: 'unless-stopped' }, ShmSize: 134_217_728 }
        }
      },
      {
        name: 'shop-web-1',
        id: hex('container web'),
        sourceImage: 'shop/web:1.4',
        image: 'commit:shop-web-1',
        consistency: 'pause',
        running: true,
        dependsOn: ['shop-db-1'],
        mounts: [
          { type: 'volume', source: 'shop_uploads', destination: '/srv/uploads', readOnly: false },
          {
            type: 'bind',
            source: '/etc/shop/config',
            destination: '/etc/web',
            readOnly: true,
            archive: archive('binds/shop-web-1/etc-web.tar.zst', 'zstd')
          },
          { type: 'tmpfs', source: '', destination: '/tmp', readOnly: false }
        ],
        endpoints: [
          { network: 'shop_default', aliases: ['web'] },
          { network: 'bridge', aliases: [] }
        ],
        redactedEnv: [],
        create: {
          WorkingDir: '/srv',
          Env: ['PORT=8080', 'DATABASE_HOST=db'],
          Cmd: ['node', 'server.js'],
          ExposedPorts: { '8080/tcp': {} },
          Tty: false,
          HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: '8080' }] } }
        }
      }
    ],
    images: [
      {
        key: 'commit:shop-db-1',
        role: 'commit',
        container: 'shop-db-1',
        id: `sha256:${hex('image db')}`,
        location: 'store',
        reference: 'docker-snapshot/shop-db-1:nightly-1',
        archive: archive('images/shop-db-1.tar', 'none')
      },
      {
        key: 'commit:shop-web-1',
        role: 'commit',
        container: 'shop-web-1',
        id: `sha256:${hex('image web')}`,
        location: 'registry',
        reference: 'ghcr.io/acme/shop-snapshots:shop-web-1-nightly-1',
        digest: `sha256:${hex('digest web')}`
      }
    ],
    volumes: [
      {
        name: 'shop_pgdata',
        driver: 'local',
        driverOptions: {},
        labels: { 'com.docker.compose.volume': 'pgdata' },
        anonymous: false,
        usedBy: ['shop-db-1'],
        root: { uid: 999, gid: 999, mode: 0o700, mtime: 1_763_792_400 },
        entries: 1288,
        archive: archive('volumes/shop_pgdata.tar.zst', 'zstd')
      },
      {
        name: 'shop_uploads',
        driver: 'local',
        driverOptions: {},
        labels: {},
        anonymous: false,
        usedBy: ['shop-web-1'],
        root: { uid: 1000, gid: 1000, mode: 0o755, mtime: 1_763_792_000 },
        entries: 3,
        archive: archive('volumes/shop_uploads.tar.gz', 'gzip')
      }
    ],
    networks: [
      {
        name: 'shop_default',
        driver: 'bridge',
        internal: false,
        attachable: false,
        enableIPv6: false,
        labels: { 'com.docker.compose.network': 'default' },
        options: {},
        ipam: {
          driver: 'default',
          config: [{ subnet: '172.28.0.0/16', gateway: '172.28.0.1' }],
          options: {}
        }
      }
    ]
  }
}

/** A mutable copy to break; `withChecksum` then makes it pass the checksum so later checks run. */
type Draft = Record<string, unknown> & Omit<Manifest, 'checksum'>

function withChecksum(draft: Omit<Manifest, 'checksum'>): string {
  return JSON.stringify({ ...draft, checksum: computeChecksum(draft) })
}

function parseError(text: string): ManifestError {
  try {
    parseManifest(text, SOURCE)
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError)
    return error as ManifestError
  }
  throw new Error('parseManifest accepted the manifest')
}

describe('serializeManifest and parseManifest', () => {
  test('a valid manifest survives the round trip unchanged', () => {
    const manifest = validManifest()
    const text = serializeManifest(manifest)
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).toContain('\n  "snapshotId": "nightly-1",\n')
    const parsed = parseManifest(text, SOURCE)
    expect(parsed).toEqual({ ...manifest, checksum: computeChecksum(manifest) })
    expect(parsed.checksum).toMatch(/^[a-f0-9]{64}$/)
    expect(serializeManifest(parsed)).toBe(text)
  })

  test('a manifest with no containers, images, volumes or networks is valid', () => {
    const manifest = { ...validManifest(), containers: [], images: [], volumes: [], networks: [] }
    expect(parseManifest(serializeManifest(manifest), SOURCE).containers).toEqual([])
  })

  test('free maps (HostConfig, Healthcheck, labels, options) accept any keys', () => {
    const manifest = validManifest()
    manifest.containers[0]!.create.HostConfig = {
      Anything: { nested: [1, 'two'] },
      Privileged: true
    }
    manifest.containers[0]!.create.Healthcheck = { FutureField: 'x' }
    manifest.networks[0]!.options = { 'com.docker.network.bridge.name': 'br-shop' }
    manifest.volumes[0]!.driverOptions = { type: 'none', o: 'bind', device: '/data' }
    expect(() => parseManifest(serializeManifest(manifest), SOURCE)).not.toThrow()
  })

  test('serializeManifest refuses to write a manifest that could not be read back', () => {
    const manifest = validManifest()
    manifest.containers[1]!.image = 'commit:gone'
    expect(() => serializeManifest(manifest)).toThrow(ManifestError)
    expect(() => serializeManifest(manifest)).toThrow(
      "containers[1] 'shop-web-1': image 'commit:gone' is not in images"
    )
  })

  test('serializeManifest ignores a stale checksum it is given', () => {
    const manifest = { ...validManifest(), checksum: '0'.repeat(64) }
    const parsed = parseManifest(serializeManifest(manifest), SOURCE)
    expect(parsed.checksum).toBe(computeChecksum(manifest))
  })
})

describe('checksum', () => {
  test('does not depend on key order or whitespace', () => {
    const manifest = validManifest()
    const reversed = JSON.parse(
      JSON.stringify(manifest, (_key, value: unknown) =>
        value !== null && typeof value === 'object' && !Array.isArray(value)
          ? Object.fromEntries(Object.entries(value).reverse())
          : value
      )
    ) as Manifest
    expect(Object.keys(reversed)[0]).toBe('networks')
    expect(computeChecksum(reversed)).toBe(computeChecksum(manifest))
  })

  test('canonical JSON sorts keys at every depth and has no whitespace', () => {
    expect(canonicalJson({ b: [{ z: 1, a: null }], a: 'x', c: undefined })).toBe(
      '{"a":"x","b":[{"a":null,"z":1}]}'
    )
  })

  test('catches a one-character edit anywhere in the manifest', () => {
    const text = serializeManifest(validManifest())
    let edits = 0
    let caughtByChecksum = 0
    for (let index = 0; index < text.length; index++) {
      const replacement = differentCharacter(text[index]!)
      if (replacement === undefined) continue
      const edited = text.slice(0, index) + replacement + text.slice(index + 1)
      const error = parseError(edited)
      edits++
      if (error.message.includes('the manifest was modified after it was written')) {
        caughtByChecksum++
      }
    }
    expect(edits).toBeGreaterThan(2000)
    // Most edits leave valid JSON and a valid schema: only the checksum can catch those.
    expect(caughtByChecksum).toBeGreaterThan(edits / 2)
  })

  test('reports the recorded and computed checksums and what to do', () => {
    const text = serializeManifest(validManifest()).replace(
      '"POSTGRES_DB=shop"',
      '"POSTGRES_DB=shoq"'
    )
    const { checksum } = JSON.parse(text) as Manifest
    const computed = computeChecksum(JSON.parse(text) as Manifest)
    expect(parseError(text).message).toBe(
      `${SOURCE}: checksum mismatch: the manifest was modified after it was written: ` +
        `expected ${checksum}, computed ${computed}; restore from an unmodified copy`
    )
  })
})

/** Changes a letter or digit into another of the same kind (hex stays hex). */
function differentCharacter(character: string): string | undefined {
  if (/[0-8]/.test(character)) return String(Number(character) + 1)
  if (character === '9') return '0'
  if (/[a-e]/.test(character)) return String.fromCharCode(character.charCodeAt(0) + 1)
  if (character === 'f') return 'a'
  if (/[g-y]/.test(character)) return String.fromCharCode(character.charCodeAt(0) + 1)
  if (character === 'z') return 'g'
  if (/[A-Z]/.test(character))
    return character === 'Z' ? 'A' : String.fromCharCode(character.charCodeAt(0) + 1)
  return undefined
}

describe('schema version', () => {
  test('a version-2 manifest asks for an upgrade, even though version 1 would reject it', () => {
    const draft = { ...validManifest(), schemaVersion: 2, newTopLevelField: { x: 1 } }
    const message = parseError(JSON.stringify(draft)).message
    expect(message).toBe(
      `${SOURCE}: schemaVersion 2 was written by a newer docker-snapshot ` +
        '(this one reads schemaVersion 1); upgrade docker-snapshot to restore it'
    )
  })

  test.each([
    ['missing', undefined, 'no schemaVersion: this is not a docker-snapshot manifest'],
    ['older', 0, 'schemaVersion 0 is older than any version this docker-snapshot reads'],
    ['a string', '1', 'schemaVersion "1" is not a version this docker-snapshot reads'],
    ['fractional', 1.5, 'schemaVersion 1.5 is not a version this docker-snapshot reads']
  ])('%s schemaVersion is refused', (_case, version, expected) => {
    const draft: Record<string, unknown> = { ...validManifest(), schemaVersion: version }
    expect(parseError(JSON.stringify(draft)).message).toContain(`${SOURCE}: ${expected}`)
  })
})

describe('not a manifest', () => {
  test.each([
    ['truncated JSON', '{"schemaVersion": 1, ', 'not valid JSON'],
    ['empty file', '', 'not valid JSON'],
    ['an array', '[]', 'expected a JSON object, found an array'],
    ['null', 'null', 'expected a JSON object, found null'],
    ['a string', '"manifest"', 'expected a JSON object, found a string']
  ])('%s', (_case, text, expected) => {
    const message = parseError(text).message
    expect(message.startsWith(`${SOURCE}: `)).toBe(true)
    expect(message).toContain(expected)
  })

  test('says the damaged file should be restored or replaced', () => {
    expect(parseError('{').message).toContain(
      'restore it from an unmodified copy or take a new snapshot'
    )
  })
})

describe('schema violations', () => {
  test.each<[string, (draft: Draft) => void, string]>([
    [
      'archive sha256 not hex',
      d => (d.volumes[0]!.archive.sha256 = 'XYZ'),
      '/volumes/0/archive/sha256: must match pattern "^[a-f0-9]{64}$"'
    ],
    [
      'archive sha256 uppercase',
      d => (d.volumes[1]!.archive.sha256 = hex('x').toUpperCase()),
      '/volumes/1/archive/sha256: must match pattern'
    ],
    ['bad snapshot id', d => (d.snapshotId = 'Nightly/1'), '/snapshotId: must match pattern'],
    [
      'snapshot id too long',
      d => (d.snapshotId = 'a'.repeat(129)),
      '/snapshotId: must match pattern'
    ],
    [
      'object name with ..',
      d => (d.volumes[0]!.archive.object = 'volumes/../../etc/passwd'),
      '/volumes/0/archive/object: must match pattern'
    ],
    [
      'absolute object name',
      d => (d.images[0]!.archive!.object = '/images/db.tar'),
      '/images/0/archive/object: must match pattern'
    ],
    [
      'negative size',
      d => (d.volumes[1]!.archive.storedBytes = -1),
      '/volumes/1/archive/storedBytes: must be >= 0'
    ],
    [
      'fractional size',
      d => (d.volumes[0]!.archive.tarBytes = 10.5),
      '/volumes/0/archive/tarBytes: must be integer'
    ],
    [
      'size as a string',
      d => (d.volumes[0]!.entries = '12' as unknown as number),
      '/volumes/0/entries: must be integer'
    ],
    [
      'unknown consistency',
      d => (d.consistency = 'freeze' as Manifest['consistency']),
      '/consistency: must be equal to one of the allowed values: "none", "pause", "stop"'
    ],
    [
      'unknown compression',
      d => (d.volumes[0]!.archive.compression = 'xz' as ArchiveRecord['compression']),
      '/volumes/0/archive/compression: must be equal to one of the allowed values: "zstd", "gzip", "none"'
    ],
    [
      'unknown top-level field',
      d => (d.comment = 'hand edited'),
      '(root): must NOT have additional properties (comment)'
    ],
    [
      'unknown container field',
      d => ((d.containers[0] as unknown as Record<string, unknown>).privileged = true),
      '/containers/0: must NOT have additional properties (privileged)'
    ],
    [
      'unknown create field',
      d => ((d.containers[1]!.create as unknown as Record<string, unknown>).Image = 'busybox'),
      '/containers/1/create: must NOT have additional properties (Image)'
    ],
    [
      'missing required field',
      d => delete (d.containers[0] as Partial<Manifest['containers'][0]>).create,
      "/containers/0: must have required property 'create'"
    ],
    [
      'null where absent is meant',
      d => (d.images[1]!.digest = null as unknown as string),
      '/images/1/digest: must be string'
    ],
    [
      'wrong tool name',
      d => (d.tool = { name: 'other-tool' as 'docker-snapshot', version: '1' }),
      '/tool/name: must be equal to constant "docker-snapshot"'
    ],
    [
      'image id without sha256: prefix',
      d => (d.images[0]!.id = hex('x')),
      '/images/0/id: must match pattern'
    ],
    ['createdAt not ISO 8601', d => (d.createdAt = 'yesterday'), '/createdAt: must match pattern'],
    [
      'label value not a string',
      d => (d.volumes[0]!.labels = { tier: 1 as unknown as string }),
      '/volumes/0/labels/tier: must be string'
    ],
    [
      'exposed port value not empty',
      d => (d.containers[0]!.create.ExposedPorts = { '5432/tcp': { x: 1 } as never }),
      '/containers/0/create/ExposedPorts/5432~1tcp: must NOT have more than 0 properties'
    ],
    [
      'mode beyond permission bits',
      d => (d.volumes[0]!.root.mode = 0o170000),
      '/volumes/0/root/mode: must be <= 4095'
    ]
  ])('%s', (_case, mutate, expected) => {
    const draft = validManifest() as Draft
    mutate(draft)
    const message = parseError(withChecksum(draft)).message
    expect(message).toContain(`${SOURCE}: does not match manifest schema version 1: `)
    expect(message).toContain(expected)
  })

  test('lists five errors and counts the rest', () => {
    const draft = validManifest() as Draft
    for (const field of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) draft[field] = true
    const message = parseError(withChecksum(draft)).message
    expect(message).toContain('(root): must NOT have additional properties (e); and 2 more')
    expect(message).not.toContain('(f)')
  })
})

describe('inconsistencies the schema cannot express', () => {
  test.each<[string, (draft: Draft) => void, string]>([
    [
      'container image not in images',
      d => (d.containers[1]!.image = 'commit:shop-web-2'),
      "containers[1] 'shop-web-1': image 'commit:shop-web-2' is not in images"
    ],
    [
      'duplicate container name',
      d => (d.containers[1]!.name = 'shop-db-1'),
      "duplicate container name 'shop-db-1'"
    ],
    [
      'duplicate volume name',
      d => (d.volumes[1]!.name = 'shop_pgdata'),
      "duplicate volume name 'shop_pgdata'"
    ],
    [
      'duplicate network name',
      d => d.networks.push({ ...d.networks[0]!, driver: 'overlay' }),
      "duplicate network name 'shop_default'"
    ],
    [
      'duplicate image key',
      d => (d.images[1]!.key = 'commit:shop-db-1'),
      "duplicate image key 'commit:shop-db-1'"
    ],
    [
      'duplicate archive object',
      d => (d.volumes[1]!.archive.object = 'images/shop-db-1.tar'),
      "archive object 'images/shop-db-1.tar' is used by both volumes[1] 'shop_uploads' and images[0] 'commit:shop-db-1'"
    ],
    [
      'archive object named like the manifest',
      d => (d.volumes[0]!.archive.object = 'manifest.json'),
      "volumes[0] 'shop_pgdata': archive object 'manifest.json' is reserved for the manifest"
    ],
    [
      'volume mount of an unknown volume',
      d => (d.containers[1]!.mounts[0]!.source = 'shop_media'),
      "containers[1] 'shop-web-1' mounts[0] (/srv/uploads): volume 'shop_media' is not in volumes"
    ],
    [
      'endpoint on an unknown network',
      d => (d.containers[0]!.endpoints[0]!.network = 'shop_backend'),
      "containers[0] 'shop-db-1' endpoints[0]: network 'shop_backend' is not in networks"
    ],
    [
      'one destination mounted twice',
      d => (d.containers[1]!.mounts[2]!.destination = '/etc/web'),
      "containers[1] 'shop-web-1' mounts[2] (/etc/web): destination is mounted twice"
    ],
    [
      'relative bind source',
      d => (d.containers[1]!.mounts[1]!.source = 'config'),
      "bind source 'config' is not an absolute path"
    ],
    [
      'commit image of an unknown container',
      d => (d.images[0]!.container = 'shop-cache-1'),
      "images[0] 'commit:shop-db-1': container 'shop-cache-1' is not in containers"
    ],
    [
      'commit image without its container',
      d => delete d.images[0]!.container,
      "images[0] 'commit:shop-db-1': a commit image must name its container"
    ],
    [
      'store image without an archive',
      d => delete d.images[0]!.archive,
      "images[0] 'commit:shop-db-1': location 'store' but no archive"
    ],
    [
      'registry image without a digest',
      d => delete d.images[1]!.digest,
      "images[1] 'commit:shop-web-1': location 'registry' but no digest"
    ],
    [
      'a volume both taken and excluded',
      d => {
        const { name, driver, driverOptions, labels, usedBy } = d.volumes[0]!
        d.excludedVolumes = [{ name, driver, driverOptions, labels, usedBy }]
      },
      "duplicate volume name 'shop_pgdata'"
    ],
    [
      'impossible date',
      d => (d.completedAt = '2025-13-45T25:61:00Z'),
      "completedAt '2025-13-45T25:61:00Z' is not a valid time"
    ]
  ])('%s', (_case, mutate, expected) => {
    const draft = validManifest() as Draft
    mutate(draft)
    const message = parseError(withChecksum(draft)).message
    expect(message).toContain(`${SOURCE}: inconsistent manifest: `)
    expect(message).toContain(expected)
  })

  test('a volume mount may name a volume the snapshot excluded', () => {
    const manifest = validManifest()
    manifest.containers[1]!.mounts[0]!.source = 'shop_cache'
    manifest.excludedVolumes = [
      { name: 'shop_cache', driver: 'local', driverOptions: {}, labels: {}, usedBy: ['shop-web-1'] }
    ]
    expect(parseManifest(serializeManifest(manifest), SOURCE).excludedVolumes).toEqual(
      manifest.excludedVolumes
    )
  })

  test.each(['bridge', 'host', 'none'])('endpoint on built-in network %s needs no entry', name => {
    const manifest = validManifest()
    manifest.containers[0]!.endpoints = [{ network: name, aliases: [] }]
    expect(() => parseManifest(serializeManifest(manifest), SOURCE)).not.toThrow()
  })
})

describe('names', () => {
  test.each([
    ['volumes/pgdata.tar.zst', true],
    ['images/commit:web.tar', true],
    ['..hidden', true],
    ['a', true],
    ['', false],
    ['/etc/passwd', false],
    ['..', false],
    ['../x', false],
    ['a/../../x', false],
    ['a/..', false],
    ['./a', false],
    ['a/./b', false],
    ['a//b', false],
    ['a/', false],
    ['a\\b', false],
    ['a\nb', false],
    ['a\u0000b', false]
  ])('object name %j valid: %s', (name, valid) => {
    expect(isValidObjectName(name)).toBe(valid)
  })

  test.each([
    ['nightly-1', true],
    ['2025-11-22t06.30.00z', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['', false],
    ['.hidden', false],
    ['-x', false],
    ['Nightly', false],
    ['a/b', false],
    ['..', false]
  ])('snapshot id %j valid: %s', (id, valid) => {
    expect(isValidSnapshotId(id)).toBe(valid)
  })
})
