import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  REGISTRY,
  docker,
  inBusybox,
  removeByPrefix,
  runBundle,
  sleeper,
  uniquePrefix
} from './support.js'

const run = promisify(execFile)
const prefix = uniquePrefix('drill')
let store: string
/** The demo drill's snapshot, whose images its restore pulled from the registry. */
let demoSnapshot: string | undefined

/** The bundled CLI, as the quick start runs it; resolves with its exit code and output. */
const cli = (...args: string[]) => runBundle(args)

beforeAll(async () => {
  store = await mkdtemp(join(tmpdir(), 'dst-drill-'))
})

afterAll(async () => {
  await run('docker-compose', [
    '-p',
    'docker-snapshot-demo',
    '-f',
    'demo/docker-compose.yml',
    'down',
    '-v'
  ])
  if (demoSnapshot) await removePulledImages(demoSnapshot)
  await removeByPrefix(prefix)
  await rm(store, { recursive: true, force: true })
})

/** The images a restore pulled for `snapshotId` (their commit comment names it), untagged now. */
async function removePulledImages(snapshotId: string): Promise<void> {
  const ids = (await docker('images', '-q', '--filter', `reference=${REGISTRY}/docker-snapshot`))
    .split('\n')
    .filter(Boolean)
  for (const id of new Set(ids)) {
    const comment = await docker('image', 'inspect', '--format', '{{.Comment}}', id)
    if (comment.startsWith(`docker-snapshot ${snapshotId} of `)) await docker('rmi', '-f', id)
  }
}

describe('drill', () => {
  it('destroys and restores the demo stack, and the database and page answer the same', async () => {
    const result = await cli('drill', '--demo', '--store', store, '--registry', REGISTRY)
    demoSnapshot = /^drill of docker-snapshot-demo, snapshot (\S+):$/m.exec(result.stdout)?.[1]
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(
      /same +orders table \(row count and checksum\): 300 rows, md5 [0-9a-f]{32}/
    )
    expect(result.stdout).toMatch(/same +web page served by the web container/)
    expect(result.stdout).toMatch(
      /^PASS: docker-snapshot-demo was snapshotted, destroyed and restored/m
    )
    // The restored stack is the demo, running under its own names.
    const running = await docker(
      'ps',
      '--filter',
      'label=com.docker.compose.project=docker-snapshot-demo',
      '--format',
      '{{.Names}} {{.Status}}'
    )
    expect(running).toMatch(/docker-snapshot-demo_db_1 Up .*\(healthy\)/)
    expect(running).toMatch(/docker-snapshot-demo_web_1 Up .*\(healthy\)/)
  })

  it('restores a project beside itself, asks the same question, and removes the copy', async () => {
    // A compose project made by hand: the labels are all a project is to the engine.
    const project = `${prefix}shop`
    await docker('volume', 'create', `${prefix}orders`)
    await inBusybox(['-v', `${prefix}orders:/data`], 'seq 1 500 > /data/orders')
    await sleeper(
      `${prefix}db`,
      '-v',
      `${prefix}orders:/data`,
      '-l',
      `com.docker.compose.project=${project}`,
      '-l',
      'com.docker.compose.service=db'
    )
    // A command line, one flag a line as prettier lays it out: alike to others, not a copy.
    const result = await cli(
      'drill',
      '--compose-project',
      project,
      '--store',
      store,
      '--drill-container',
      'db',
      '--drill-command',
      'wc -l < /data/orders; md5sum /data/orders'
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/restore beside the original \(prefix dsv-[0-9a-f]{6}-\)/)
    expect(result.stdout).toMatch(/same +drill command: 500/)
    expect(result.stdout).toMatch(/^PASS: .* restored beside itself/m)
    // The original is untouched and the copy is gone.
    expect(await docker('inspect', '--format', '{{.State.Status}}', `${prefix}db`)).toBe('running')
    expect(await docker('ps', '-aq', '--filter', `name=dsv-.*${prefix}`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=dsv-.*${prefix}`)).toBe('')
  })

  it('refuses a drill with nothing to drill, with exit code 2', async () => {
    const result = await cli('drill', '--store', store)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      'drill needs --compose-project NAME, or --demo for the demo stack.'
    )
  })
})
