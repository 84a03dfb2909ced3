import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/docker/engine.js'
import { HookError, InvalidSettingsError, RegistryError } from '../../src/shared/errors.js'
import { silentLogger } from '../../src/shared/log.js'
import type { Consistency } from '../../src/manifest/manifest.js'
import { parseManifest } from '../../src/manifest/schema.js'
import { takeSnapshot } from '../../src/snapshot/snapshot.js'
import type { SnapshotOptions } from '../../src/snapshot/snapshot.js'
import { DirectoryStore } from '../../src/stores/directory/store.js'
import type { Stack } from './support.js'
import {
  BUSYBOX,
  REGISTRY,
  createStack,
  detached,
  docker,
  removeByPrefix,
  sleeper,
  uniquePrefix
} from './support.js'
import { layoutBlobs, layoutObjectFile, layoutObjects, layoutSnapshots } from '../oci-layout.js'

const run = promisify(execFile)
const engine = new Engine()
const prefix = uniquePrefix('snap')
let stack: Stack
let storeDir: string

beforeAll(async () => {
  stack = await createStack(prefix)
  storeDir = await mkdtemp(join(tmpdir(), 'dst-store-'))
})

afterAll(async () => {
  await removeByPrefix(prefix)
  await rm(storeDir, { recursive: true, force: true })
})

function options(snapshotId: string, consistency: Consistency): SnapshotOptions {
  return {
    snapshotId,
    selection: { containers: [], labels: [], all: false, composeProject: undefined },
    volumes: [],
    excludeVolumes: [],
    consistency,
    commit: true,
    captureBindMounts: false,
    registry: { address: REGISTRY, repository: `${prefix}repo`, auth: {} },
    compression: 'auto',
    hookTimeoutMs: 30_000,
    replaceExisting: false,
    toolVersion: 'test'
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The snapshot ids of the store, as its index and its directories name them. */
async function storedIds(): Promise<string[]> {
  return [...(await readdir(storeDir)), ...Object.keys(await layoutSnapshots(storeDir))]
}

async function states(): Promise<string[]> {
  return Promise.all(
    stack.containers.map(name => docker('inspect', '--format', '{{.State.Status}}', name))
  )
}

describe.each(['pause', 'stop', 'none'] as const)('snapshot with consistency %s', consistency => {
  it('captures the stack, stores verifiable archives and pushes pullable images', async () => {
    const id = `${prefix}${consistency}`.toLowerCase()
    const run = options(id, consistency)
    // Selected by name here, and by label in the next test.
    run.selection = { containers: stack.containers, labels: [], all: false }
    const report = await takeSnapshot(engine, new DirectoryStore(storeDir), run, silentLogger)

    // Every container is running again.
    expect(await states()).toEqual(['running', 'running'])

    // The manifest on disk validates (schema, checksum, cross-references).
    const text = await readFile(await layoutObjectFile(storeDir, id, 'manifest.json'), 'utf8')
    const manifest = parseManifest(text, 'test')
    expect(manifest.containers.map(c => c.name).sort()).toEqual([...stack.containers].sort())
    expect(manifest.volumes.map(v => v.name)).toEqual(stack.volumes)
    expect(manifest.networks.map(n => n.name)).toEqual([stack.network])
    expect(manifest.networks[0].labels).toEqual({ purpose: 'test' })
    expect(report.quiescedSeconds).toBeGreaterThanOrEqual(0)

    // Every archive's digest and size match its bytes.
    for (const volume of manifest.volumes) {
      const path = await layoutObjectFile(storeDir, id, volume.archive.object)
      expect(await sha256File(path)).toBe(volume.archive.sha256)
      expect((await readFile(path)).length).toBe(volume.archive.storedBytes)
    }
    const data = manifest.volumes.find(v => v.name === `${prefix}data`)!
    expect(data.labels).toEqual({ tier: 'data' })
    expect(data.usedBy).toEqual([`${prefix}db`])
    const conf = manifest.volumes.find(v => v.name === `${prefix}conf`)!
    expect(conf.root).toMatchObject({ uid: 1000, gid: 1000, mode: 0o2775 })

    // Configuration: what restore needs, without the secret.
    const db = manifest.containers.find(c => c.name === `${prefix}db`)!
    expect(db.running).toBe(true)
    expect(db.consistency).toBe(consistency)
    expect(db.endpoints).toEqual([{ network: stack.network, aliases: ['database'] }])
    expect(db.create.Env).toContain('DB_MODE=primary')
    expect(db.redactedEnv).toEqual(['DB_PASSWORD'])
    expect(text).not.toContain('s3cret-value')
    const app = manifest.containers.find(c => c.name === `${prefix}app`)!
    expect(app.dependsOn).toEqual([`${prefix}db`])
    expect(app.create.User).toBe('1000:1000')
    expect(app.create.Hostname).toBe('app-host')
    expect(manifest.containers.map(c => c.name)).toEqual([`${prefix}db`, `${prefix}app`])

    // Committed images are gone from the engine once pushed, can be pulled back from the
    // registry, and hold the container's changes.
    for (const image of manifest.images) {
      expect(image.location).toBe('registry')
      expect(image.reference).toContain(`${REGISTRY}/${prefix}repo@sha256:`)
      const pushedTag = image.reference.replace(/@.*/, '') + ':' + id + '-' + image.container
      await expect(docker('image', 'inspect', pushedTag)).rejects.toThrow(/No such image/)
      await docker('pull', image.reference)
      expect(await docker('image', 'inspect', '--format', '{{.Id}}', image.reference)).toBe(
        image.id
      )
    }
  })
})

describe('selection', () => {
  it('finds the containers by label, and fails naming an unknown container', async () => {
    const store = new DirectoryStore(storeDir)
    const byLabel = await takeSnapshot(
      engine,
      store,
      {
        ...options(`${prefix}label`, 'none'),
        // Every label must match: role=app alone could match containers of other runs.
        selection: { containers: [], labels: ['role=app', `dst-stack=${prefix}`], all: false },
        registry: undefined
      },
      silentLogger
    )
    expect(byLabel.manifest.containers.map(c => c.name)).toEqual([`${prefix}app`])
    expect(byLabel.manifest.selection.labels).toEqual(['role=app', `dst-stack=${prefix}`])
    // Without a registry, the commit is saved into the store, and its archive holds it.
    const [image] = byLabel.manifest.images
    expect(image).toMatchObject({ role: 'commit', container: `${prefix}app`, location: 'store' })
    const imageFile = await layoutObjectFile(storeDir, `${prefix}label`, image.archive!.object)
    expect(await sha256File(imageFile)).toBe(image.archive!.sha256)

    const ghost = takeSnapshot(
      engine,
      store,
      {
        ...options(`${prefix}ghost`, 'pause'),
        selection: { containers: [`${prefix}ghost`], labels: [], all: false }
      },
      silentLogger
    )
    // A settings error (exit 2) naming near matches, not every container on the engine.
    await expect(ghost).rejects.toBeInstanceOf(InvalidSettingsError)
    await expect(ghost).rejects.toThrow(
      new RegExp(`^No container named ${prefix}ghost\\. Did you mean [^?]*'${prefix}db'`)
    )
    expect(await storedIds()).not.toContain(`${prefix}ghost`)
  })
})

describe('a snapshot that fails midway', () => {
  it('brings every container back and leaves no manifest when the registry refuses the push', async () => {
    // A registry that answers the reachability check but refuses every upload.
    // (403 denied: the engine does not retry it, unlike a 5xx.)
    const server = createServer((request, response) => {
      const reachable = request.url === '/v2/'
      response.statusCode = reachable ? 200 : 403
      response.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
      response.setHeader('Content-Type', 'application/json')
      response.end(
        reachable ? '{}' : '{"errors":[{"code":"DENIED","message":"refused by the test registry"}]}'
      )
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const id = `${prefix}refused`
    try {
      for (const consistency of ['pause', 'stop'] as const) {
        const attempt = takeSnapshot(
          engine,
          new DirectoryStore(storeDir),
          {
            ...options(id, consistency),
            selection: { containers: stack.containers, labels: [], all: false },
            registry: { address: `127.0.0.1:${port}`, repository: 'refused', auth: {} }
          },
          silentLogger
        )
        await expect(attempt).rejects.toBeInstanceOf(RegistryError)
        await expect(attempt).rejects.toThrow(
          new RegExp(`127\\.0\\.0\\.1:${port}.*refused by the test`)
        )
        expect(await states()).toEqual(['running', 'running'])
        expect(await storedIds()).not.toContain(id)
      }
    } finally {
      server.close()
    }
  })

  it('fails before pausing anything when the registry is unreachable', async () => {
    const attempt = takeSnapshot(
      engine,
      new DirectoryStore(storeDir),
      {
        ...options(`${prefix}unreachable`, 'stop'),
        selection: { containers: stack.containers, labels: [], all: false },
        registry: { address: '127.0.0.1:9', repository: 'nowhere', auth: {} }
      },
      silentLogger
    )
    await expect(attempt).rejects.toThrow(
      /Registry 127\.0\.0\.1:9 is unreachable.*nothing was paused/
    )
    expect(await states()).toEqual(['running', 'running'])
    expect(await storedIds()).not.toContain(`${prefix}unreachable`)
  })
})

describe('hooks, labels and bind mounts', () => {
  it('runs pre- and post-exec hooks, honours a per-container consistency, captures a bind mount', async () => {
    const name = `${prefix}hooked`
    const volume = `${prefix}hooked-data`
    const bindDir = await mkdtemp(join(tmpdir(), 'dst-bind-'))
    await writeFile(join(bindDir, 'settings.ini'), 'colour=blue\n')
    await docker('volume', 'create', volume)
    await sleeper(
      name,
      '-v',
      `${volume}:/data`,
      '-v',
      `${bindDir}:/config`,
      '-l',
      'docker-snapshot.pre-exec=echo checkpoint-$(cat /config/settings.ini) > /data/marker',
      '-l',
      'docker-snapshot.post-exec=touch /tmp/resumed',
      '-l',
      'docker-snapshot.consistency=stop'
    )
    try {
      const report = await takeSnapshot(
        engine,
        new DirectoryStore(storeDir),
        {
          ...options(`${prefix}hooked`, 'pause'),
          selection: { containers: [name], labels: [], all: false },
          registry: undefined,
          captureBindMounts: true
        },
        silentLogger
      )
      const record = report.manifest.containers[0]
      expect(record.consistency).toBe('stop')
      // The pre-exec hook ran before the copy: its file is in the archive.
      const archive = await layoutObjectFile(
        storeDir,
        `${prefix}hooked`,
        report.manifest.volumes[0].archive.object
      )
      const listing = (await run('sh', ['-c', `zstd -dc '${archive}' | tar -xO ./marker`])).stdout
      expect(listing.trim()).toBe('checkpoint-colour=blue')
      // The post-exec hook ran after the container came back.
      await docker('exec', name, 'test', '-f', '/tmp/resumed')
      expect(await docker('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
      // The bind mount is recorded with its host path, and its contents were captured.
      const bind = record.mounts.find(m => m.type === 'bind')!
      expect(bind).toMatchObject({ source: bindDir, destination: '/config', readOnly: false })
      const bindArchive = await layoutObjectFile(storeDir, `${prefix}hooked`, bind.archive!.object)
      expect(await sha256File(bindArchive)).toBe(bind.archive!.sha256)
      const config = (await run('sh', ['-c', `zstd -dc '${bindArchive}' | tar -xO ./settings.ini`]))
        .stdout
      expect(config).toBe('colour=blue\n')
    } finally {
      await rm(bindDir, { recursive: true, force: true })
    }
  })

  it.each([
    ['fails', 'exit 3', 'exited with code 3'],
    ['times out', 'sleep 30', 'timed out after 1 s']
  ])('stops before pausing anything when a pre-exec hook %s', async (_case, command, problem) => {
    const name = `${prefix}badhook-${_case.replace(' ', '')}`
    await sleeper(
      name,
      '-l',
      `docker-snapshot.pre-exec=echo about to fail; ${command}`,
      '-l',
      'docker-snapshot.hook-timeout=1'
    )
    const id = `${prefix}badhook`
    const attempt = takeSnapshot(
      engine,
      new DirectoryStore(storeDir),
      { ...options(id, 'stop'), selection: { containers: [name], labels: [], all: false } },
      silentLogger
    )
    await expect(attempt).rejects.toBeInstanceOf(HookError)
    await expect(attempt).rejects.toThrow(
      new RegExp(`${name}: the docker-snapshot.pre-exec hook ${problem}`)
    )
    expect(await docker('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
    expect(await storedIds()).not.toContain(id)
  })

  it('records an image that came from a registry by digest instead of copying it', async () => {
    // An image of its own (a commit with a unique label), so that no shared image gets a
    // registry digest that would outlive this test.
    const repo = `${REGISTRY}/${prefix}base`
    const source = await docker('create', BUSYBOX, 'true')
    await docker('commit', '--change', `LABEL dst-test=${prefix}`, source, `${repo}:1`)
    await docker('rm', source)
    await docker('push', `${repo}:1`)
    await docker('rmi', `${repo}:1`)
    await docker('pull', `${repo}:1`)
    const digest = await docker(
      'image',
      'inspect',
      '--format',
      '{{index .RepoDigests 0}}',
      `${repo}:1`
    )
    const name = `${prefix}fromregistry`
    await detached(name, '-l', 'docker-snapshot.commit=false', `${repo}:1`, 'sleep', '3600')
    const report = await takeSnapshot(
      engine,
      new DirectoryStore(storeDir),
      {
        ...options(`${prefix}fromregistry`, 'none'),
        selection: { containers: [name], labels: [], all: false }
      },
      silentLogger
    )
    expect(report.manifest.images).toHaveLength(1)
    expect(report.manifest.images[0]).toMatchObject({
      role: 'source',
      location: 'registry',
      reference: digest
    })
    expect(report.manifest.containers[0].image).toBe(report.manifest.images[0].key)
  })
})

describe('an unchanged volume snapshotted twice', () => {
  it('is stored once: the second snapshot adds only its manifests', async () => {
    const dedupStore = await mkdtemp(join(tmpdir(), 'dst-dedup-'))
    const volume = `${prefix}unchanged`
    try {
      await docker('volume', 'create', volume)
      await docker(
        'run',
        '--rm',
        '-v',
        `${volume}:/data`,
        BUSYBOX,
        'sh',
        '-c',
        'head -c 3000000 /dev/urandom > /data/blob && mkdir /data/sub && echo x > /data/sub/f'
      )
      const store = new DirectoryStore(dedupStore)
      const volumeOnly = (id: string): SnapshotOptions => ({
        ...options(id, 'none'),
        volumes: [volume],
        registry: undefined
      })
      const first = await takeSnapshot(engine, store, volumeOnly('first'), silentLogger)
      const afterFirst = await layoutBlobs(dedupStore)
      const second = await takeSnapshot(engine, store, volumeOnly('second'), silentLogger)
      const afterSecond = await layoutBlobs(dedupStore)

      const object = `volumes/${volume}.tar.zst`
      expect(second.manifest.volumes[0].archive.sha256).toBe(
        first.manifest.volumes[0].archive.sha256
      )
      const [firstObjects, secondObjects] = [
        await layoutObjects(dedupStore, 'first'),
        await layoutObjects(dedupStore, 'second')
      ]
      expect(secondObjects[object]).toBe(firstObjects[object])
      expect(secondObjects[object]).toBe(`sha256:${first.manifest.volumes[0].archive.sha256}`)
      // Archive, manifest.json, artifact manifest, empty config; then two new manifests only.
      expect(afterFirst).toHaveLength(4)
      expect(afterSecond).toHaveLength(6)
      expect(afterSecond.filter(digest => !afterFirst.includes(digest)).sort()).toEqual(
        [secondObjects['manifest.json'], (await layoutSnapshots(dedupStore)).second.manifest].sort()
      )
    } finally {
      await rm(dedupStore, { recursive: true, force: true })
    }
  })
})
