import { createHash } from 'node:crypto'
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/docker/engine.js'
import {
  ArchiveIntegrityError,
  ConflictError,
  HealthError,
  ManifestError
} from '../../src/shared/errors.js'
import type { Manifest } from '../../src/manifest/manifest.js'
import { serializeManifest } from '../../src/manifest/schema.js'
import { restoreSnapshot } from '../../src/restore/index.js'
import { verifySnapshot } from '../../src/verify/index.js'
import type { RestoreOptions } from '../../src/restore/index.js'
import { takeSnapshot } from '../../src/snapshot/snapshot.js'
import type { SnapshotOptions } from '../../src/snapshot/snapshot.js'
import { DirectoryStore } from '../../src/stores/directory/store.js'
import { buildTar } from '../unit/archive/tar-fixtures.js'
import { layoutObjectFile } from '../oci-layout.js'
import type { Stack } from './support.js'
import {
  REGISTRY,
  askDatabase,
  createStack,
  docker,
  inBusybox,
  recordingLogger,
  removeByPrefix,
  treeListing,
  uniquePrefix
} from './support.js'

const engine = new Engine()
const prefix = uniquePrefix('restore')
const snapshotId = `${prefix}snap`
let stack: Stack
let storeDir: string
let store: DirectoryStore
let manifest: Manifest
/** What a user would compare before and after, taken from the originals. */
let originalTrees: Record<string, string>
let originalConfig: Record<string, CapturedConfig>

function snapshotOptions(id: string, registry: boolean): SnapshotOptions {
  return {
    snapshotId: id,
    selection: { containers: stack.containers, labels: [], all: false },
    volumes: [],
    excludeVolumes: [],
    consistency: 'stop',
    commit: true,
    captureBindMounts: false,
    registry: registry ? { address: REGISTRY, repository: `${prefix}repo`, auth: {} } : undefined,
    compression: 'auto',
    hookTimeoutMs: 30_000,
    replaceExisting: false,
    toolVersion: 'test'
  }
}

function restoreOptions(overrides: Partial<RestoreOptions> = {}): RestoreOptions {
  return {
    snapshotId,
    onConflict: 'fail',
    prefix: '',
    start: true,
    waitTimeoutMs: 60_000,
    ports: 'keep',
    registryAuth: {},
    env: {},
    ...overrides
  }
}

interface InspectedContainer {
  Id: string
  Config: Record<string, unknown> & { Hostname: string }
  HostConfig: Record<string, unknown>
  State: { Status: string; StartedAt: string; Health?: { Status: string } }
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[]
  NetworkSettings: { Networks: Record<string, { Aliases: string[] | null }> }
}

async function inspect(name: string): Promise<InspectedContainer> {
  return (JSON.parse(await docker('inspect', name)) as InspectedContainer[])[0]!
}

type CapturedConfig = Awaited<ReturnType<typeof capturedConfig>>

/** Every field the snapshot captures, as `docker inspect` shows it; `rename` maps restored names. */
async function capturedConfig(name: string, rename: (name: string) => string = n => n) {
  const details = await inspect(name)
  const config = details.Config
  const host = details.HostConfig
  return {
    Cmd: config.Cmd,
    Entrypoint: config.Entrypoint,
    Env: config.Env,
    User: config.User,
    WorkingDir: config.WorkingDir,
    Labels: config.Labels,
    ExposedPorts: config.ExposedPorts,
    Healthcheck: config.Healthcheck,
    Hostname: config.Hostname === details.Id.slice(0, 12) ? '(engine default)' : config.Hostname,
    PortBindings: host.PortBindings,
    RestartPolicy: host.RestartPolicy,
    NetworkMode: rename(host.NetworkMode as string),
    Mounts: details.Mounts.map(m => ({
      type: m.Type,
      name: m.Name === undefined ? m.Source : rename(m.Name),
      destination: m.Destination,
      rw: m.RW
    })).sort((a, b) => a.destination.localeCompare(b.destination)),
    aliases: Object.fromEntries(
      Object.entries(details.NetworkSettings.Networks).map(([network, endpoint]) => [
        rename(network),
        (endpoint.Aliases ?? []).filter(alias => alias !== details.Id.slice(0, 12)).sort()
      ])
    )
  }
}

async function trees(volumes: string[]): Promise<Record<string, string>> {
  const listed: Record<string, string> = {}
  for (const volume of volumes) listed[volume] = await treeListing(volume)
  return listed
}

/** Ids and start times: a container that was recreated or restarted shows it here. */
async function identities(names: string[]): Promise<string[]> {
  return Promise.all(
    names.map(name =>
      docker('inspect', '--format', '{{.Id}} {{.State.Status}} {{.State.StartedAt}}', name)
    )
  )
}

async function removeStack(): Promise<void> {
  await docker('rm', '-f', ...stack.containers)
  await docker('volume', 'rm', ...stack.volumes)
  await docker('network', 'rm', stack.network)
}

/** Images this file's snapshots committed or pulled (their names carry the prefix). */
async function removeOurImages(): Promise<void> {
  const rows = (await docker('images', '--format', '{{.Repository}} {{.Tag}} {{.ID}}'))
    .split('\n')
    .filter(row => row.includes(prefix))
    .map(row => row.split(' '))
  const references = rows.map(([repo, tag, id]) => (tag === '<none>' ? id! : `${repo}:${tag}`))
  if (references.length > 0) await docker('rmi', '-f', ...new Set(references))
}

/** Throwaway copies verify made, in case its own cleanup failed. */
const throwaways: string[] = []

beforeAll(async () => {
  stack = await createStack(prefix)
  storeDir = await mkdtemp(join(tmpdir(), 'dst-restore-store-'))
  store = new DirectoryStore(storeDir)
  // The app answers the database by its alias before the snapshot, as it must after.
  await askDatabase(`${prefix}app`)
  originalTrees = await trees(stack.volumes)
  originalConfig = {}
  for (const name of stack.containers) originalConfig[name] = await capturedConfig(name)
  const report = await takeSnapshot(
    engine,
    store,
    snapshotOptions(snapshotId, false),
    recordingLogger()
  )
  manifest = report.manifest
})

afterAll(async () => {
  for (const copy of throwaways) await removeByPrefix(copy)
  await removeByPrefix(prefix)
  await removeOurImages()
  await rm(storeDir, { recursive: true, force: true })
})

describe('round trip', () => {
  it('brings back removed containers, volumes and network identical to the originals', async () => {
    expect(manifest.images.every(image => image.location === 'store')).toBe(true)
    await removeStack()
    // The committed images too, so that they come back from the store's archives.
    await removeOurImages()

    const log = recordingLogger()
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ snapshotId: 'latest' }),
      log
    )

    expect(report.snapshotId).toBe(snapshotId)
    expect(report.steps.map(s => s.step)).toEqual([
      'manifest',
      'plan',
      'verify',
      'images',
      'volumes',
      'networks',
      'containers',
      'start'
    ])
    expect(report.images.map(i => i.action)).toEqual(['loaded', 'loaded'])
    expect(report.volumes.map(v => [v.target, v.action]).sort()).toEqual(
      stack.volumes.map(v => [v, 'created']).sort()
    )
    expect(report.networks).toEqual([
      { name: stack.network, target: stack.network, action: 'created' }
    ])
    expect(report.containers.map(c => [c.target, c.state])).toEqual([
      [`${prefix}db`, 'healthy'],
      [`${prefix}app`, 'running']
    ])

    // File trees: content, owner, mode, size, mtime, link targets, hardlink counts.
    expect(await trees(stack.volumes)).toEqual(originalTrees)
    // Every captured field of `docker inspect`, the secret included (from the committed image).
    for (const name of stack.containers) {
      expect(await capturedConfig(name)).toEqual(originalConfig[name])
    }
    expect((await inspect(`${prefix}db`)).Config.Env).toContain('DB_PASSWORD=s3cret-value')
    // The services answer each other by alias.
    expect(await askDatabase(`${prefix}app`)).toBe('hello from the database')
    expect(log.lines.join('\n')).toMatch(/DB_PASSWORD come from image/)
  })

  it('fails on the default conflict policy, listing every conflict, and changes nothing', async () => {
    const before = await identities(stack.containers)
    const attempt = restoreSnapshot(engine, store, restoreOptions(), recordingLogger())
    await expect(attempt).rejects.toBeInstanceOf(ConflictError)
    await expect(attempt).rejects.toThrow(
      `container ${prefix}db, container ${prefix}app, volume ${prefix}conf, volume ${prefix}data`
    )
    await expect(attempt).rejects.toThrow(/replace.*skip/)
    expect(await identities(stack.containers)).toEqual(before)
    expect(await trees(stack.volumes)).toEqual(originalTrees)
  })

  it('skips what exists under skip', async () => {
    const before = await identities(stack.containers)
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ onConflict: 'skip' }),
      recordingLogger()
    )
    expect(report.containers.map(c => c.action)).toEqual(['skipped', 'skipped'])
    expect(report.volumes.map(v => v.action)).toEqual(['skipped', 'skipped'])
    expect(report.networks.map(n => n.action)).toEqual(['reused'])
    expect(await identities(stack.containers)).toEqual(before)
  })
})

describe('a damaged snapshot', () => {
  /** The file that holds an object of the snapshot in a copy of the store. */
  type ObjectFile = (name: string) => Promise<string>

  /** A copy of the store, to damage the snapshot's files in place as a hostile hand would. */
  async function damagedCopy(damage: (file: ObjectFile) => Promise<void>): Promise<DirectoryStore> {
    const root = await mkdtemp(join(tmpdir(), 'dst-restore-damaged-'))
    await cp(storeDir, root, { recursive: true })
    await damage(name => layoutObjectFile(root, snapshotId, name))
    return new DirectoryStore(root)
  }
  const dataArchive = () => manifest.volumes.find(v => v.name === `${prefix}data`)!.archive

  /**
   * Replaces the data volume's archive with a crafted one whose manifest entry is rewritten to
   * match it: the digests agree, only the tar's entries are hostile. Unpacked, `b` is a hard link
   * to the symlink `a -> /`, so `b/x` lands outside the volume.
   */
  async function craftEscapingArchive(file: ObjectFile) {
    const record = manifest.volumes.find(v => v.name === `${prefix}data`)!
    const { uid, gid, mode, mtime } = record.root
    const tar = await buildTar([
      { name: './', type: 'directory', uid, gid, mode, mtime: new Date(mtime * 1000) },
      { name: 'a', type: 'symlink', linkname: '/' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'b/x', content: 'written outside the volume\n' }
    ])
    const stored = gzipSync(tar)
    await writeFile(await file(record.archive.object), stored)
    // serializeManifest seals it again with a checksum of its own.
    const crafted = {
      ...manifest,
      volumes: manifest.volumes.map(volume =>
        volume !== record
          ? volume
          : {
              ...volume,
              entries: 3,
              archive: {
                ...volume.archive,
                compression: 'gzip' as const,
                sha256: createHash('sha256').update(stored).digest('hex'),
                storedBytes: stored.length,
                tarBytes: tar.length
              }
            }
      )
    }
    await writeFile(await file('manifest.json'), serializeManifest(crafted))
  }

  it.each([
    {
      case: 'a corrupted archive',
      damage: async (file: ObjectFile) => {
        const path = await file(dataArchive().object)
        const bytes = await readFile(path)
        bytes[Math.floor(bytes.length / 2)] ^= 0xff
        await writeFile(path, bytes)
      },
      kind: ArchiveIntegrityError,
      message: () => new RegExp(`Archive ${dataArchive().object} does not match its manifest`)
    },
    {
      case: 'a truncated archive',
      damage: async (file: ObjectFile) => {
        const path = await file(dataArchive().object)
        await truncate(path, Math.floor(dataArchive().storedBytes / 2))
      },
      kind: ArchiveIntegrityError,
      message: () => new RegExp(`Archive ${dataArchive().object} is truncated`)
    },
    {
      case: 'a crafted archive escaping through a hard-linked symlink',
      damage: craftEscapingArchive,
      kind: ArchiveIntegrityError,
      message: () =>
        new RegExp(
          `Archive ${dataArchive().object} has an unsafe entry 'b/x': its path goes through 'b', a symlink`
        )
    },
    {
      case: 'a tampered manifest',
      damage: async (file: ObjectFile) => {
        const path = await file('manifest.json')
        const text = await readFile(path, 'utf8')
        expect(text).toContain('DB_MODE=primary')
        await writeFile(path, text.replace('DB_MODE=primary', 'DB_MODE=replica'))
      },
      kind: ManifestError,
      message: () => /checksum mismatch: the manifest was modified after it was written/
    }
  ])('refuses $case naming it, even under replace, and leaves everything as it was', async t => {
    const damaged = await damagedCopy(t.damage)
    const before = await identities(stack.containers)
    const attempt = restoreSnapshot(
      engine,
      damaged,
      restoreOptions({ onConflict: 'replace' }),
      recordingLogger()
    )
    await expect(attempt).rejects.toBeInstanceOf(t.kind)
    await expect(attempt).rejects.toThrow(t.message())
    await expect(attempt).rejects.toThrow(/no container, volume or network was changed/)
    expect(await identities(stack.containers)).toEqual(before)
    expect(await trees(stack.volumes)).toEqual(originalTrees)
    await rm(damaged.root, { recursive: true, force: true })
  })

  it('reports a crafted archive in verify, naming the entry', async () => {
    const crafted = await damagedCopy(craftEscapingArchive)
    const report = await verifySnapshot(
      engine,
      crafted,
      { snapshotId, registryAuth: {}, restoreCheck: false, waitTimeoutMs: 60_000 },
      recordingLogger()
    )
    expect(report.ok).toBe(false)
    const failed = report.checks.filter(c => !c.ok)
    expect(failed.map(c => c.subject)).toEqual([`volume ${prefix}data (${dataArchive().object})`])
    expect(failed[0]!.detail).toMatch(/unsafe entry 'b\/x'/)
    await rm(crafted.root, { recursive: true, force: true })
  })

  it('reports the damage in verify', async () => {
    const damaged = await damagedCopy(async file => {
      await truncate(await file(dataArchive().object), 10)
    })
    const report = await verifySnapshot(
      engine,
      damaged,
      { snapshotId, registryAuth: {}, restoreCheck: false, waitTimeoutMs: 60_000 },
      recordingLogger()
    )
    expect(report.ok).toBe(false)
    const failed = report.checks.filter(c => !c.ok)
    expect(failed.map(c => c.subject)).toEqual([`volume ${prefix}data (${dataArchive().object})`])
    expect(failed[0]!.detail).toMatch(/truncated/)
    await rm(damaged.root, { recursive: true, force: true })
  })
})

describe('beside the original', () => {
  it('restores a prefixed copy that runs on its own while the original runs unchanged', async () => {
    const copy = `${prefix}copy-`
    const before = await identities(stack.containers)
    const configBefore: Record<string, CapturedConfig> = {}
    for (const name of stack.containers) configBefore[name] = await capturedConfig(name)
    const log = recordingLogger()

    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ prefix: copy, ports: 'ephemeral' }),
      log
    )

    expect(report.containers.map(c => [c.target, c.state])).toEqual([
      [`${copy}${prefix}db`, 'healthy'],
      [`${copy}${prefix}app`, 'running']
    ])
    // The original: same containers, never restarted, same configuration and data.
    expect(await identities(stack.containers)).toEqual(before)
    for (const name of stack.containers)
      expect(await capturedConfig(name)).toEqual(configBefore[name])
    expect(await trees(stack.volumes)).toEqual(originalTrees)

    // The copy: the same configuration under its own names, the same data, its own network.
    const rename = (name: string) => name.replace(copy, '')
    for (const name of stack.containers) {
      expect(await capturedConfig(`${copy}${name}`, rename)).toEqual(configBefore[name])
    }
    expect(await trees(stack.volumes.map(v => `${copy}${v}`))).toEqual(
      Object.fromEntries(Object.entries(originalTrees).map(([v, tree]) => [`${copy}${v}`, tree]))
    )
    const answer = await askDatabase(`${copy}${prefix}app`)
    expect(answer).toBe('hello from the database')
    // The copy's database is its own: a change there does not reach the original.
    await docker('exec', `${copy}${prefix}db`, 'sh', '-c', 'echo changed > /data/www/index.html')
    expect(await askDatabase(`${prefix}app`)).toBe('hello from the database')
    // The recorded subnet belongs to the original network: the copy got one of its own.
    expect(log.lines.join('\n')).toMatch(/subnet .* is taken on this engine/)
  })

  it('removes what it created when it fails midway, and says what that was', async () => {
    const failing = `${prefix}fail-`
    const before = await identities(stack.containers)
    // No container can be healthy within a millisecond: the restore fails at its last step.
    const attempt = restoreSnapshot(
      engine,
      store,
      restoreOptions({ prefix: failing, ports: 'none', waitTimeoutMs: 1 }),
      recordingLogger()
    )
    await expect(attempt).rejects.toBeInstanceOf(HealthError)
    await expect(attempt).rejects.toThrow(
      `stopped at step 'start'. Created so far and removed again: ` +
        `container ${failing}${prefix}db, container ${failing}${prefix}app, ` +
        `volume ${failing}${prefix}conf, volume ${failing}${prefix}data, ` +
        `network ${failing}${prefix}net. Existing containers, volumes and networks were not changed.`
    )
    expect(await docker('ps', '-aq', '--filter', `name=^/${failing}`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=^${failing}`)).toBe('')
    expect(await docker('network', 'ls', '-q', '--filter', `name=^${failing}`)).toBe('')
    expect(await identities(stack.containers)).toEqual(before)
  })

  it('restores one container with its volumes and network when asked for it alone', async () => {
    const one = `${prefix}one-`
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ prefix: one, ports: 'none', containers: [`${prefix}db`] }),
      recordingLogger()
    )
    expect(report.containers.map(c => [c.target, c.state])).toEqual([
      [`${one}${prefix}db`, 'healthy']
    ])
    expect(report.volumes.map(v => v.target)).toEqual([`${one}${prefix}data`])
    expect(report.networks.map(n => n.target)).toEqual([`${one}${prefix}net`])
    const copy = await inspect(`${one}${prefix}db`)
    expect(copy.HostConfig.PortBindings ?? {}).toEqual({})
    expect(Object.keys(copy.NetworkSettings.Networks)).toEqual([`${one}${prefix}net`])
    expect(copy.NetworkSettings.Networks[`${one}${prefix}net`]!.Aliases).toContain('database')
  })

  it('restores only volumes when only volumes are asked for', async () => {
    const only = `${prefix}vol-`
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ prefix: only, volumes: [`${prefix}conf`] }),
      recordingLogger()
    )
    expect(report.containers).toEqual([])
    expect(report.networks).toEqual([])
    expect(report.volumes.map(v => v.target)).toEqual([`${only}${prefix}conf`])
    expect(await treeListing(`${only}${prefix}conf`)).toBe(originalTrees[`${prefix}conf`])
  })
})

/** Containers and volumes of this file that a replace set aside and left. */
async function asideLeft(): Promise<string> {
  const containers = await docker(
    'ps',
    '-a',
    '--format',
    '{{.Names}}',
    '--filter',
    `name=^/${prefix}.*-aside-`
  )
  const volumes = await docker('volume', 'ls', '-q', '--filter', `name=^${prefix}.*-aside-`)
  return [containers, volumes].filter(Boolean).join('\n')
}

describe('replace', () => {
  it('puts the originals back as they were when a replacement does not become healthy', async () => {
    // The originals drift from the snapshot: their data, not the snapshot's, must come back.
    await docker(
      'exec',
      `${prefix}db`,
      'sh',
      '-c',
      'echo drifted before the replace > /data/www/index.html'
    )
    const ids = await docker(
      'inspect',
      '--format',
      '{{.Id}} {{.Name}} {{.State.Status}}',
      ...stack.containers
    )
    const treesBefore = await trees(stack.volumes)
    const configBefore: Record<string, CapturedConfig> = {}
    for (const name of stack.containers) configBefore[name] = await capturedConfig(name)

    // No container is healthy within a millisecond: the replacement fails at its last step.
    const attempt = restoreSnapshot(
      engine,
      store,
      restoreOptions({ onConflict: 'replace', waitTimeoutMs: 1 }),
      recordingLogger()
    )
    await expect(attempt).rejects.toBeInstanceOf(HealthError)
    const message = await attempt.then(
      () => '',
      (error: Error) => error.message
    )
    expect(message).toMatch(
      /stopped at step 'start'\. Created so far and removed again: container /
    )
    expect(message).toContain('The originals were put back as they were: ')
    for (const volume of stack.volumes) {
      expect(message).toContain(`volume ${volume} (contents copied back)`)
    }
    for (const container of stack.containers) {
      expect(message).toContain(`container ${container} (running)`)
    }

    // The same containers (ids) under their names, running, configured and connected as before.
    expect(
      await docker(
        'inspect',
        '--format',
        '{{.Id}} {{.Name}} {{.State.Status}}',
        ...stack.containers
      )
    ).toBe(ids)
    for (const name of stack.containers) {
      expect(await capturedConfig(name)).toEqual(configBefore[name])
    }
    expect(await trees(stack.volumes)).toEqual(treesBefore)
    expect(await askDatabase(`${prefix}app`)).toBe('drifted before the replace')
    // Neither the replacement nor the aside copies are left.
    expect(await asideLeft()).toBe('')
  })

  it('recreates existing containers and volumes from the snapshot', async () => {
    const before = await identities(stack.containers)
    // Change the data: replace must bring back the snapshot's.
    await docker('exec', `${prefix}db`, 'sh', '-c', 'echo drifted > /data/www/index.html')
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ onConflict: 'replace' }),
      recordingLogger()
    )
    expect(report.replaced.sort()).toEqual(
      [
        `container ${prefix}app`,
        `container ${prefix}db`,
        `volume ${prefix}conf`,
        `volume ${prefix}data`
      ].sort()
    )
    const after = await identities(stack.containers)
    after.forEach((identity, index) =>
      expect(identity.split(' ')[0]).not.toBe(before[index]!.split(' ')[0])
    )
    expect(await trees(stack.volumes)).toEqual(originalTrees)
    for (const name of stack.containers) {
      expect(await capturedConfig(name)).toEqual(originalConfig[name])
    }
    expect(after.map(identity => identity.split(' ')[1])).toEqual(['running', 'running'])
    // The originals, kept aside until the replacements were healthy, are gone now.
    for (const identity of before) {
      await expect(docker('inspect', identity.split(' ')[0]!)).rejects.toThrow(/No such object/)
    }
    expect(await asideLeft()).toBe('')
  })

  it('replaces a volume no container mounts, and removes its aside copy', async () => {
    const only = `${prefix}vol-`
    const target = `${only}${prefix}conf`
    await inBusybox(
      ['-v', `${target}:/conf`],
      'echo drifted > /conf/app.d/app.conf && touch /conf/extra'
    )
    const report = await restoreSnapshot(
      engine,
      store,
      restoreOptions({ prefix: only, volumes: [`${prefix}conf`], onConflict: 'replace' }),
      recordingLogger()
    )
    expect(report.replaced).toEqual([`volume ${target}`])
    expect(await treeListing(target)).toBe(originalTrees[`${prefix}conf`])
    expect(await asideLeft()).toBe('')
  })
})

describe('verify', () => {
  it('checks a registry snapshot and drills a throwaway copy, then removes the copy', async () => {
    const id = `${prefix}reg`
    const taken = await takeSnapshot(engine, store, snapshotOptions(id, true), recordingLogger())
    expect(taken.manifest.images.every(i => i.location === 'registry')).toBe(true)
    // Drop the pushed tags: the drill's restore must pull by digest.
    await removeOurImages()

    const report = await verifySnapshot(
      engine,
      store,
      {
        snapshotId: id,
        registryAuth: {},
        restoreCheck: true,
        drill: { container: `${prefix}db`, command: ['cat', '/data/www/index.html'] },
        waitTimeoutMs: 60_000
      },
      recordingLogger()
    )
    if (report.prefix) throwaways.push(report.prefix)
    expect(report.checks.filter(c => !c.ok)).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.checks.map(c => c.kind)).toEqual([
      'manifest',
      'config',
      'config',
      'archive',
      'archive',
      'image',
      'image',
      'restore',
      'drill',
      'cleanup'
    ])
    expect(report.checks.find(c => c.kind === 'image')!.detail).toMatch(
      new RegExp(`${REGISTRY.replace(/\./g, '\\.')} has ${prefix}repo@sha256:`)
    )
    expect(report.drill).toMatchObject({ exitCode: 0, output: 'hello from the database\n' })
    expect(report.prefix).toMatch(/^dsv-[0-9a-f]{6}-$/)
    // Nothing of the throwaway copy is left.
    const copy = report.prefix!
    expect(await docker('ps', '-aq', '--filter', `name=^/${copy}`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=^${copy}`)).toBe('')
    expect(await docker('network', 'ls', '-q', '--filter', `name=^${copy}`)).toBe('')
  })
})
