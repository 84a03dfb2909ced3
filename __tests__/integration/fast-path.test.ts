/**
 * The helper container copies every attribute a volume holds (user and security xattrs, POSIX
 * ACLs, holes) through snapshot and restore; the archive API's copy says what it did not keep,
 * and that claim is checked by restoring what it stored.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Engine } from '../../src/docker/engine.js'
import { COPY_TOOLS, chooseCopyMethod, ensureToolImage } from '../../src/docker/helper-image.js'
import type { CopyMethodChoice } from '../../src/docker/helper-image.js'
import { restoreSnapshot } from '../../src/restore/index.js'
import { InvalidSettingsError } from '../../src/shared/errors.js'
import { takeSnapshot } from '../../src/snapshot/snapshot.js'
import { copiedBy } from '../../src/snapshot/volume-copy.js'
import { DirectoryStore } from '../../src/stores/directory/store.js'
import { docker, recordingLogger, removeByPrefix, uniquePrefix } from './support.js'

const engine = new Engine()
const prefix = uniquePrefix('fastpath')
const source = `${prefix}attrs`
let toolImage: string
let storeDir: string
let store: DirectoryStore

/** The host tools the test image adds to the copier's, to set and read every attribute. */
const TEST_TOOLS = [
  ...COPY_TOOLS,
  ...['setfattr', 'getfattr', 'setfacl', 'getfacl', 'setcap', 'truncate', 'stat'],
  ...['find', 'sort', 'sha256sum', 'mkdir', 'chown', 'chmod', 'head']
]

function inTools(volume: string, script: string): Promise<string> {
  return docker('run', '--rm', '-v', `${volume}:/data`, toolImage, '/bin/sh', '-c', script)
}

/**
 * What a user would compare, entry by entry in name order: owner and mode, every xattr (user,
 * security, and the ACLs' system ones) by value, the ACLs as getfacl reads them, the content's
 * sha256 and the blocks a file really takes (holes stay holes).
 */
function attributes(volume: string): Promise<string> {
  return inTools(
    volume,
    'cd /data && find . | sort | while read -r f; do stat -c "%n %F %u:%g %a %s" "$f"; ' +
      'getfattr -h -d -m - -e hex "$f" 2>/dev/null | sort; getfacl -p -n -c "$f"; ' +
      'if [ -f "$f" ]; then sha256sum "$f"; stat -c "blocks %b" "$f"; fi; done'
  )
}

function blocksOf(listing: string, file: string): number {
  const at = listing.indexOf(`./${file} regular`)
  const match = /blocks (\d+)/.exec(listing.slice(at))
  if (at < 0 || !match) throw new Error(`no ${file} in the listing`)
  return Number(match[1])
}

async function snapshot(id: string, copyMethod: CopyMethodChoice) {
  const log = recordingLogger()
  const report = await takeSnapshot(
    engine,
    store,
    {
      snapshotId: id,
      selection: { containers: [], labels: [], all: false },
      volumes: [source],
      excludeVolumes: [],
      consistency: 'none',
      commit: false,
      captureBindMounts: false,
      compression: 'zstd',
      copyMethod,
      hookTimeoutMs: 30_000,
      replaceExisting: false,
      toolVersion: 'test'
    },
    log
  )
  return { report, log }
}

async function restore(id: string, as: string, copyMethod: CopyMethodChoice) {
  const log = recordingLogger()
  await restoreSnapshot(
    engine,
    store,
    {
      snapshotId: id,
      onConflict: 'fail',
      prefix: as,
      start: false,
      waitTimeoutMs: 60_000,
      ports: 'keep',
      registryAuth: {},
      env: {},
      copyMethod
    },
    log
  )
  return log
}

let original: string

beforeAll(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'dst-fastpath-store-'))
  store = new DirectoryStore(storeDir)
  toolImage = await ensureToolImage(engine, TEST_TOOLS, `${prefix}tools`)
  await docker('volume', 'create', source)
  await inTools(
    source,
    'set -e; cd /data; printf plain > plain; ' +
      'printf tagged > tagged; setfattr -n user.note -v "kept by tar" tagged; ' +
      'printf capable > capable; setcap cap_net_bind_service+ep capable; ' +
      'printf shared > shared; setfacl -m u:1234:rw-,g:2345:r--,m::rw- shared; ' +
      'mkdir inherit; setfacl -d -m u:1234:r-x inherit; printf child > inherit/child; ' +
      'truncate -s 100M sparse; printf tail >> sparse; ' +
      'chown 1234:2345 /data; chmod 1750 /data'
  )
  original = await attributes(source)
})

afterAll(async () => {
  await removeByPrefix(prefix)
  await rm(storeDir, { recursive: true, force: true })
})

describe('the helper container copies every attribute', () => {
  it('has a scene that holds them all (else the comparison proves nothing)', () => {
    expect(original).toMatch(/user\.note=0x6b65707420627920746172/)
    expect(original).toMatch(/security\.capability=0x/)
    expect(original).toMatch(/user:1234:rw-/)
    expect(original).toMatch(/default:user:1234:r-x/)
    expect(blocksOf(original, 'sparse')).toBeLessThan(100)
  })

  it('snapshots with a helper and restores into a new volume identically', async () => {
    const { report, log } = await snapshot(`${prefix}helper`, 'helper')
    expect(report.volumes.map(v => [v.name, v.method, v.notKept])).toEqual([[source, 'helper', []]])
    expect(log.lines.join('\n')).toMatch(/volumes are copied by a helper container/)
    expect(report.manifest.volumes[0].root).toMatchObject({ uid: 1234, gid: 2345, mode: 0o1750 })
    expect(report.manifest.volumes[0].entries).toBe(7)

    const restoredLog = await restore(`${prefix}helper`, `${prefix}h-`, 'helper')
    expect(restoredLog.lines.join('\n')).toMatch(/written in \d+ ms by a helper container/)
    expect(await attributes(`${prefix}h-${source}`)).toBe(original)
    const root = await inTools(`${prefix}h-${source}`, 'stat -c "%u:%g %a" /data')
    expect(root).toBe('1234:2345 1750')
  })

  it("restores the helper's archive through the archive API too, content intact", async () => {
    await restore(`${prefix}helper`, `${prefix}ha-`, 'archive')
    const sums = (listing: string) => listing.split('\n').filter(l => /^[0-9a-f]{64} /.test(l))
    const restored = await attributes(`${prefix}ha-${source}`)
    expect(sums(restored)).toEqual(sums(original))
    expect(sums(restored)).toHaveLength(6)
  })

  it('says per volume what the archive API did not keep, and that is so', async () => {
    const { report } = await snapshot(`${prefix}archive`, 'archive')
    const [volume] = report.volumes
    expect(volume.method).toBe('archive')
    expect(copiedBy(volume)).toBe(
      'archive API; not kept: extended attributes (but security.capability), POSIX ACLs, ' +
        'sparseness'
    )
    await restore(`${prefix}archive`, `${prefix}a-`, 'helper')
    const restored = await attributes(`${prefix}a-${source}`)
    expect(restored).toMatch(/security\.capability=0x/)
    expect(restored).not.toMatch(/user\.note/)
    expect(restored).not.toMatch(/user:1234:rw-/)
    expect(blocksOf(restored, 'sparse')).toBeGreaterThan(200_000)
  })
})

describe('choosing the copy method', () => {
  it('refuses a forced helper where the engine is not local, and falls back under auto', async () => {
    const remote = new Engine({ host: 'tcp://127.0.0.1:9' })
    await expect(chooseCopyMethod(remote, 'helper', recordingLogger())).rejects.toThrow(
      InvalidSettingsError
    )
    const log = recordingLogger()
    expect(await chooseCopyMethod(remote, 'auto', log)).toMatchObject({ method: 'archive' })
    expect(log.lines.join('\n')).toMatch(/not a local unix socket/)
  })

  it('falls back when the helper cannot share the folder it would write to', async () => {
    const log = recordingLogger()
    const missing = join(tmpdir(), `${prefix}missing`)
    expect(await chooseCopyMethod(engine, 'auto', log, missing)).toMatchObject({
      method: 'archive'
    })
    await expect(chooseCopyMethod(engine, 'helper', log, missing)).rejects.toThrow(/copy-method/)
  })

  it("fails with the helper's words when it is killed midway, leaving no helper behind", async () => {
    const big = `${prefix}big`
    await docker('volume', 'create', big)
    await inTools(big, 'head -c 48M /dev/urandom > /data/random')
    const helperName = `docker-snapshot-copy-${process.pid}-`
    const running = async () =>
      docker('ps', '-q', '--filter', `name=${helperName}`, '--filter', 'status=running')
    let killed = false
    const killer = (async () => {
      for (let i = 0; i < 600 && !killed; i++) {
        const id = await running()
        if (id) {
          await docker('kill', id)
          killed = true
        } else await new Promise(resolve => setTimeout(resolve, 100))
      }
    })()
    const taking = takeSnapshot(
      engine,
      store,
      {
        snapshotId: `${prefix}killed`,
        selection: { containers: [], labels: [], all: false },
        volumes: [big],
        excludeVolumes: [],
        consistency: 'none',
        commit: false,
        captureBindMounts: false,
        compression: 'zstd',
        compressionLevel: 19,
        copyMethod: 'helper',
        hookTimeoutMs: 30_000,
        replaceExisting: false,
        toolVersion: 'test'
      },
      recordingLogger()
    )
    await expect(taking).rejects.toThrow(/failed in the helper container \(exit 137\)/)
    await killer
    expect(killed).toBe(true)
    expect(await docker('ps', '-aq', '--filter', `name=${helperName}`)).toBe('')
    const complete = (await store.list()).filter(stored => stored.hasManifest)
    expect(complete.map(stored => stored.snapshotId)).not.toContain(`${prefix}killed`)
  })
})
