// A directory store is a real OCI image layout: skopeo (an independent OCI client) copies a
// snapshot from it to the registry and back into a second layout, byte for byte, and the tool
// restores from that copy.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { blobFile, layoutSnapshots, sha256 } from '../oci-layout.js'
import {
  CLI,
  REGISTRY,
  docker,
  inBusybox,
  removeByPrefix,
  runBundle,
  uniquePrefix
} from './support.js'

const run = promisify(execFile)
const prefix = uniquePrefix('ocilayout')
const volume = `${prefix}data`
const copy = `${prefix}copy-`
let work: string

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it with \`npm run package\``)
  work = await mkdtemp(join(tmpdir(), 'dst-ocilayout-'))
  await docker('volume', 'create', volume)
  await inBusybox(
    ['-v', `${volume}:/d`],
    'head -c 2000000 /dev/urandom > /d/random && mkdir /d/etc && echo colour=blue > /d/etc/app.conf'
  )
})

afterAll(async () => {
  await removeByPrefix(prefix)
  if (work) await rm(work, { recursive: true, force: true })
})

/** The sha256 of every file of a volume, as `sha256sum` inside a container prints them. */
function volumeDigests(name: string): Promise<string> {
  return inBusybox(['-v', `${name}:/d:ro`], 'cd /d && find . -type f | sort | xargs sha256sum')
}

describe('a snapshot in a directory store', () => {
  it('goes to the registry and back with skopeo byte for byte, and restores from the copy', async () => {
    const first = join(work, 'first')
    const second = join(work, 'second')
    const id = 'nightly-1'
    const taken = await runBundle([
      'snapshot',
      '--volumes',
      volume,
      '--store',
      first,
      '--snapshot-id',
      id
    ])
    expect(taken.code, taken.stderr).toBe(0)

    const reference = `${REGISTRY}/${prefix}snapshot:${id}`
    await run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${first}:${id}`,
      `docker://${reference}`
    ])
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${reference}`,
      `oci:${second}:${id}`
    ])

    // The registry holds our artifact: its manifest, as skopeo reads it there.
    const { stdout } = await run('skopeo', [
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reference}`
    ])
    const remote = JSON.parse(stdout) as {
      artifactType: string
      layers: { annotations: Record<string, string> }[]
    }
    expect(remote.artifactType).toBe('application/vnd.docker-snapshot.snapshot.v1')
    expect(
      remote.layers.map(layer => layer.annotations['org.opencontainers.image.title']).sort()
    ).toEqual(['manifest.json', `volumes/${volume}.tar.zst`])

    // The same manifest, config and objects, byte for byte.
    const [original, copied] = [
      (await layoutSnapshots(first))[id],
      (await layoutSnapshots(second))[id]
    ]
    expect(copied).toEqual(original)
    for (const digest of [original.manifest, original.config, ...Object.values(original.objects)]) {
      const bytes = await readFile(blobFile(second, digest))
      expect(sha256(bytes)).toBe(digest)
      expect(bytes.equals(await readFile(blobFile(first, digest)))).toBe(true)
    }

    // The copy skopeo wrote is a store the tool lists, verifies and restores from.
    const listed = await runBundle(['ls', '--store', second, '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain(`"snapshotId":"${id}"`)
    expect(listed.stdout).toContain('"status":"complete"')
    // A command line, one flag a line as prettier lays it out: alike to others, not a copy.
    const restored = await runBundle([
      'restore',
      '--store',
      second,
      '--snapshot-id',
      id,
      '--prefix',
      copy
    ])
    expect(restored.code, restored.stderr).toBe(0)
    expect(await volumeDigests(`${copy}${volume}`)).toBe(await volumeDigests(volume))
    expect(await volumeDigests(`${copy}${volume}`)).toContain('./etc/app.conf')
  })

  it('of the older layout, written by hand, lists, restores and is pruned beside new ones', async () => {
    const id = 'before-layout'
    const source = join(work, 'source')
    const legacy = join(work, 'legacy')
    const taken = await runBundle([
      'snapshot',
      '--volumes',
      volume,
      '--store',
      source,
      '--snapshot-id',
      id
    ])
    expect(taken.code, taken.stderr).toBe(0)
    // As docker-snapshot wrote snapshots before the image layout: `<root>/<id>/<object>` files.
    for (const [name, digest] of Object.entries((await layoutSnapshots(source))[id].objects)) {
      await mkdir(dirname(join(legacy, id, name)), { recursive: true })
      await copyFile(blobFile(source, digest), join(legacy, id, name))
    }
    const legacyCopy = `${prefix}legacy-`
    const restored = await runBundle([
      'restore',
      '--store',
      legacy,
      '--snapshot-id',
      id,
      '--prefix',
      legacyCopy
    ])
    expect(restored.code, restored.stderr).toBe(0)
    expect(await volumeDigests(`${legacyCopy}${volume}`)).toBe(await volumeDigests(volume))

    // A new snapshot into that store is written as the layout, beside the old one.
    const newer = await runBundle([
      'snapshot',
      '--volumes',
      volume,
      '--store',
      legacy,
      '--snapshot-id',
      'after-layout'
    ])
    expect(newer.code, newer.stderr).toBe(0)
    expect(Object.keys(await layoutSnapshots(legacy))).toEqual(['after-layout'])
    const listed = await runBundle(['ls', '--store', legacy])
    expect(listed.stdout).toMatch(new RegExp(`^${id} +complete `, 'm'))
    expect(listed.stdout).toMatch(/^after-layout +complete /m)

    const pruned = await runBundle(['prune', '--store', legacy, '--keep', '1'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(existsSync(join(legacy, id))).toBe(false)
    const after = await runBundle(['ls', '--store', legacy])
    expect(after.stdout).not.toContain(id)
    expect(after.stdout).toMatch(/^after-layout +complete /m)
  })
})
