/**
 * Snapshots that must come back, options that must work or be refused early, and a store that
 * is only read: each run through the bundled CLI against the real engine, as a user would.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Manifest } from '../../src/manifest/manifest.js'
import { layoutObjectFile, rewriteLayoutObject } from '../oci-layout.js'
import { serializeManifest } from '../../src/manifest/schema.js'
import {
  BUSYBOX,
  CLI,
  docker,
  inBusybox,
  removeByPrefix,
  runBundle,
  runBundleInterruptedAt,
  uniquePrefix
} from './support.js'

const WEB = 'docker-snapshot-test/web:1'
const prefix = uniquePrefix('restorable')
let work: string

const cli = (...args: string[]) => runBundle(args)

async function readManifestOf(store: string, id: string): Promise<Manifest> {
  return JSON.parse(
    await readFile(await layoutObjectFile(store, id, 'manifest.json'), 'utf8')
  ) as Manifest
}

beforeAll(async () => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build it with \`npm run package\` first`)
  }
  work = await mkdtemp(join(tmpdir(), 'dst-restorable-'))
})

afterAll(async () => {
  await removeByPrefix(prefix)
  if (work) await rm(work, { recursive: true, force: true })
})

describe('a container on another container’s network (--network container:X)', () => {
  const owner = `${prefix}owner`
  const sidecar = `${prefix}sidecar`
  const id = `${prefix}shared-net`
  let store: string

  beforeAll(async () => {
    store = join(work, 'shared-net-store')
    await docker('run', '-d', '--name', owner, '--hostname', 'owner-host', BUSYBOX, 'sleep', '3600')
    // The web image exposes 8080: the sidecar shows the port and owner's hostname as its own.
    await docker('run', '-d', '--name', sidecar, '--network', `container:${owner}`, WEB)
  })

  it('is snapshotted, passes verify, and is restored after its network owner, sharing it', async () => {
    const snapshot = await cli(
      'snapshot',
      '--containers',
      `${sidecar},${owner}`,
      '--no-commit',
      '--store',
      store,
      '--snapshot-id',
      id
    )
    expect(snapshot.code, snapshot.stderr).toBe(0)
    const recorded = (await readManifestOf(store, id)).containers.find(c => c.name === sidecar)!
    expect(recorded.create).not.toHaveProperty('Hostname')
    expect(recorded.create).not.toHaveProperty('ExposedPorts')
    expect(recorded.dependsOn).toEqual([owner])

    const verify = await cli('verify', '--store', store, '--snapshot-id', id)
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(verify.stdout).toMatch(new RegExp(`ok +config +configuration of container ${sidecar}`))

    const copy = `${prefix}c-`
    const restore = await cli('restore', '--store', store, '--snapshot-id', id, '--prefix', copy)
    expect(restore.code, restore.stderr).toBe(0)
    const ownerId = await docker('inspect', '--format', '{{.Id}}', `${copy}${owner}`)
    expect(
      await docker('inspect', '--format', '{{.HostConfig.NetworkMode}}', `${copy}${sidecar}`)
    ).toBe(`container:${ownerId}`)
    // It really shares the restored owner's network stack: its hostname, its loopback.
    expect(await docker('exec', `${copy}${sidecar}`, 'hostname')).toBe('owner-host')
    expect(
      await docker('exec', `${copy}${owner}`, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/')
    ).not.toBe('')
  })

  it('fails verify, naming the option, when a recorded configuration cannot be created', async () => {
    // A manifest that records DNS servers beside a container: network mode (the engine never
    // made one; an old or a foreign tool might have): its checksum is made whole again.
    const doctored = join(work, 'doctored-store')
    await cp(store, doctored, { recursive: true })
    const manifest = await readManifestOf(doctored, id)
    const entry = manifest.containers.find(c => c.name === sidecar)!
    entry.create.HostConfig.Dns = ['192.0.2.53']
    await rewriteLayoutObject(doctored, id, 'manifest.json', serializeManifest(manifest))

    const verify = await cli('verify', '--store', doctored, '--snapshot-id', id)
    expect(verify.code, verify.stdout + verify.stderr).toBe(3)
    expect(verify.stdout).toMatch(
      new RegExp(
        `FAILED +config +configuration of container ${sidecar} +cannot be created again: ` +
          `HostConfig.Dns cannot be set with network mode container:${owner}`
      )
    )
    expect(verify.stdout).toMatch(new RegExp(`ok +config +configuration of container ${owner}`))
  })
})

describe('a read-only store', () => {
  const holder = `${prefix}ro-holder`
  const volume = `${prefix}ro-data`
  const id = `${prefix}ro`
  let mountPoint: string
  let mounted = false

  beforeAll(async () => {
    mountPoint = join(work, 'ro-mount')
    execFileSync('mkdir', ['-p', mountPoint])
    // Root mounts a tmpfs, then remounts it read-only, as a user mounts a backup disk.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mountPoint])
    mounted = true
    await docker('volume', 'create', volume)
    await inBusybox(['-v', `${volume}:/d`], 'echo "kept on a read-only disk" > /d/note')
    await docker('run', '-d', '--name', holder, '-v', `${volume}:/d`, BUSYBOX, 'sleep', '3600')
  })

  afterAll(() => {
    if (mounted) execFileSync('umount', [mountPoint])
  })

  it('is listed, verified and restored from without write access', async () => {
    const store = join(mountPoint, 'store')
    const snapshot = await cli(
      'snapshot',
      '--containers',
      holder,
      '--no-commit',
      '--store',
      store,
      '--snapshot-id',
      id
    )
    expect(snapshot.code, snapshot.stderr).toBe(0)
    execFileSync('mount', ['-o', 'remount,ro', mountPoint])

    const listed = await cli('ls', '--store', store)
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(new RegExp(`^${id} +complete`, 'm'))

    const verify = await cli('verify', '--store', store, '--snapshot-id', id)
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)

    const copy = `${prefix}r-`
    const restore = await cli('restore', '--store', store, '--snapshot-id', id, '--prefix', copy)
    expect(restore.code, restore.stderr).toBe(0)
    expect(await inBusybox(['-v', `${copy}${volume}:/d:ro`], 'cat /d/note')).toBe(
      'kept on a read-only disk'
    )

    // Writing is refused up front, with the reason.
    const again = await cli('snapshot', '--containers', holder, '--store', store)
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`store directory ${store} is on a read-only file system`)
  })

  it('says a store path that is a file is a file, for every command', async () => {
    const file = join(work, 'not-a-store')
    await writeFile(file, 'x')
    for (const args of [['ls'], ['verify'], ['restore'], ['snapshot', '--containers', holder]]) {
      const run = await cli(...args, '--store', file)
      expect(run.code, args[0]).not.toBe(0)
      expect(run.stderr, args[0]).toContain(
        `store path ${file} is a file, not a directory: give the store a directory path`
      )
    }
  })

  it('is not created by a run whose flags are wrong', async () => {
    const store = join(work, 'never-made')
    const run = await cli(
      'snapshot',
      '--containers',
      holder,
      '--compression-level',
      '99',
      '--store',
      store
    )
    expect(run.code).toBe(2)
    expect(run.stderr).toContain("Invalid compression-level '99'")
    expect(existsSync(store)).toBe(false)
  })
})

describe('a source image whose tag moved before the snapshot', () => {
  const repo = `${prefix}rebuilt`
  const runner = `${prefix}old-image`
  const id = `${prefix}moved-tag`
  const images: string[] = []
  let store: string
  let originalId: string

  /** `docker build` of a one-file image on busybox, tagged `repo:1`: its id. */
  async function build(content: string): Promise<string> {
    const base = `${prefix}base-${images.length}`
    await docker('run', '--name', base, BUSYBOX, 'sh', '-c', `echo ${content} > /version`)
    await docker('commit', '--change', 'CMD ["sleep", "3600"]', base, `${repo}:1`)
    await docker('rm', base)
    const imageId = await docker('image', 'inspect', '--format', '{{.Id}}', `${repo}:1`)
    images.push(imageId)
    return imageId
  }

  beforeAll(async () => {
    store = join(work, 'moved-tag-store')
    originalId = await build('original')
    await docker('run', '-d', '--name', runner, `${repo}:1`)
    await build('rebuilt')
  })

  afterAll(async () => {
    await removeByPrefix(prefix)
    await docker('rmi', '-f', ...images).catch(() => '')
  })

  it('is saved by id: verify proves the archive holds it, restore brings it back', async () => {
    const snapshot = await cli(
      'snapshot',
      '--containers',
      runner,
      '--no-commit',
      '--store',
      store,
      '--snapshot-id',
      id
    )
    expect(snapshot.code, snapshot.stderr).toBe(0)
    const verify = await cli('verify', '--store', store, '--snapshot-id', id)
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)
    expect(verify.stdout).toContain(`holds image ${originalId}`)

    // The image is gone from the engine: restore must load it from the archive.
    await docker('rm', '-f', runner)
    await docker('rmi', originalId)
    const copy = `${prefix}m-`
    const restore = await cli('restore', '--store', store, '--snapshot-id', id, '--prefix', copy)
    expect(restore.code, restore.stderr).toBe(0)
    expect(restore.stdout).toMatch(/image +\S+ +loaded/)
    expect(await docker('exec', `${copy}${runner}`, 'cat', '/version')).toBe('original')
  })

  it('fails verify when the archive holds another image than the recorded one', async () => {
    // What a snapshot saved by tag held: the image the tag names now. The digest is made to
    // match, so only the image id can tell.
    const doctored = join(work, 'moved-tag-doctored')
    await cp(store, doctored, { recursive: true })
    const manifest = await readManifestOf(doctored, id)
    const image = manifest.images.find(i => i.location === 'store')!
    const object = 'images/saved-by-tag.tar'
    const path = join(work, 'saved-by-tag.tar')
    execFileSync('docker', ['save', '-o', path, `${repo}:1`])
    const bytes = await readFile(path)
    await rewriteLayoutObject(doctored, id, object, bytes)
    image.archive = {
      object,
      compression: 'none',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      storedBytes: bytes.length,
      tarBytes: bytes.length
    }
    await rewriteLayoutObject(doctored, id, 'manifest.json', serializeManifest(manifest))

    const verify = await cli('verify', '--store', doctored, '--snapshot-id', id)
    expect(verify.code, verify.stdout + verify.stderr).toBe(3)
    expect(verify.stdout).toContain(
      `holds image ${images[1]}, not the recorded ${originalId}: the image was saved under a tag that had moved`
    )
  })
})

describe('images a snapshot makes', () => {
  const holder = `${prefix}img-holder`
  const volume = `${prefix}img-data`
  const repository = `${prefix}repo`
  let store: string

  /** Every local `repo:tag` (and `repo@digest`) naming an image, for what a user sees in `docker images`. */
  async function localImages(): Promise<string[]> {
    const listed = await docker(
      'images',
      '--digests',
      '--format',
      '{{.Repository}} {{.Tag}} {{.Digest}}'
    )
    return listed
      .split('\n')
      .filter(row => row.includes(prefix))
      .map(row => row.trim())
  }

  beforeAll(async () => {
    store = join(work, 'images-store')
    await docker('volume', 'create', volume)
    // Enough bytes that an interrupt arrives while they are copied.
    await inBusybox(['-v', `${volume}:/d`], 'head -c 150000000 /dev/urandom > /d/big')
    await docker('run', '-d', '--name', holder, '-v', `${volume}:/d`, BUSYBOX, 'sleep', '3600')
    await docker('exec', holder, 'sh', '-c', 'echo committed > /marker')
  })

  it('are removed once saved into the store, and the snapshot still restores', async () => {
    const id = `${prefix}img-saved`
    const run = await cli('snapshot', '--containers', holder, '--store', store, '--snapshot-id', id)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain('removed 1 image this run made')
    expect(await localImages()).toEqual([])

    const copy = `${prefix}i-`
    const restore = await cli('restore', '--store', store, '--snapshot-id', id, '--prefix', copy)
    expect(restore.code, restore.stderr).toBe(0)
    expect(await docker('exec', `${copy}${holder}`, 'cat', '/marker')).toBe('committed')
    await docker('rm', '-f', `${copy}${holder}`)
    await docker('rmi', `docker-snapshot/commits:${id}-${holder}`)
  })

  it('are removed once pushed: the commit and the tag added to a source image', async () => {
    const owner = `${prefix}img-plain`
    await docker(
      'run',
      '-d',
      '--name',
      owner,
      '-l',
      'docker-snapshot.commit=false',
      BUSYBOX,
      'sleep',
      '3600'
    )
    const run = await cli(
      'snapshot',
      '--containers',
      `${holder},${owner}`,
      '--registry',
      '127.0.0.1:5000',
      '--repository',
      repository,
      '--store',
      store,
      '--snapshot-id',
      `${prefix}img-pushed`
    )
    expect(run.code, run.stderr).toBe(0)
    expect(await localImages()).toEqual([])
    // The source image keeps its own tag.
    expect(await docker('image', 'inspect', '--format', '{{.Id}}', BUSYBOX)).toMatch(/^sha256:/)
  })

  it('are kept when asked (keep-images)', async () => {
    const id = `${prefix}img-kept`
    const run = await cli(
      'snapshot',
      '--containers',
      holder,
      '--keep-images',
      '--store',
      store,
      '--snapshot-id',
      id
    )
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).toContain(
      `kept images on the engine (keep-images): docker-snapshot/commits:${id}-${holder}`
    )
    expect(await localImages()).toEqual([`docker-snapshot/commits ${id}-${holder} <none>`])
    await docker('rmi', `docker-snapshot/commits:${id}-${holder}`)
  })

  it('are removed when the run is interrupted after committing', async () => {
    const id = `${prefix}img-interrupted`
    const run = await runBundleInterruptedAt(
      ['snapshot', '--containers', holder, '--store', store, '--snapshot-id', id],
      `volume ${volume}: started`
    )
    expect(run.interrupted).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    expect(run.stderr).toContain(`committed ${holder}`)
    expect(await localImages()).toEqual([])
  })
})

describe('a volume left out with exclude-volumes that a container mounts', () => {
  const app = `${prefix}ex-app`
  const data = `${prefix}ex-data`
  const cache = `${prefix}ex-cache`
  const id = `${prefix}excluded`
  let store: string

  beforeAll(async () => {
    store = join(work, 'excluded-store')
    await docker('volume', 'create', '--label', 'kind=cache', cache)
    await inBusybox(
      ['-v', `${data}:/data`, '-v', `${cache}:/cache`],
      'echo keep > /data/file && head -c 100000 /dev/urandom > /cache/blob'
    )
    await docker(
      'run',
      '-d',
      '--name',
      app,
      '-v',
      `${data}:/data`,
      '-v',
      `${cache}:/cache`,
      BUSYBOX,
      'sleep',
      '3600'
    )
  })

  it('is recorded, not copied, and restored as a new empty volume of that name', async () => {
    const snapshot = await cli(
      'snapshot',
      '--containers',
      app,
      '--no-commit',
      '--exclude-volumes',
      cache,
      '--store',
      store,
      '--snapshot-id',
      id
    )
    expect(snapshot.code, snapshot.stderr).toBe(0)
    expect(snapshot.stderr).toContain(
      `volume ${cache} is excluded: its contents are not taken; a restore gives ${app} a new empty volume ${cache}`
    )
    expect(snapshot.stdout).toMatch(new RegExp(`volume +${cache} +excluded +not taken`))
    const manifest = await readManifestOf(store, id)
    expect(manifest.volumes.map(v => v.name)).toEqual([data])
    expect(manifest.excludedVolumes).toEqual([
      { name: cache, driver: 'local', driverOptions: {}, labels: { kind: 'cache' }, usedBy: [app] }
    ])

    const verify = await cli('verify', '--store', store, '--snapshot-id', id, '--restore-check')
    expect(verify.code, verify.stdout + verify.stderr).toBe(0)

    const copy = `${prefix}x-`
    const restore = await cli('restore', '--store', store, '--snapshot-id', id, '--prefix', copy)
    expect(restore.code, restore.stderr).toBe(0)
    expect(restore.stdout).toMatch(
      new RegExp(`volume +${copy}${cache} +created +empty \\(excluded from the snapshot\\)`)
    )
    const mounts = await docker(
      'inspect',
      '--format',
      '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}',
      `${copy}${app}`
    )
    expect(mounts.split(' ').filter(Boolean).sort()).toEqual(
      [`${copy}${cache}:/cache`, `${copy}${data}:/data`].sort()
    )
    expect(await docker('exec', `${copy}${app}`, 'ls', '-A', '/cache')).toBe('')
    expect(await docker('exec', `${copy}${app}`, 'cat', '/data/file')).toBe('keep')
    expect(
      await docker('volume', 'inspect', '--format', '{{json .Labels}}', `${copy}${cache}`)
    ).toBe('{"kind":"cache"}')
    // The original cache is untouched.
    expect(await inBusybox(['-v', `${cache}:/cache:ro`], 'wc -c < /cache/blob')).toBe('100000')
  })
})
