import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { action, inputsEnv, stateEnv, stepRunner, type StepRun } from './action-steps.js'
import { REGISTRY, docker, inBusybox, removeByPrefix, sleeper, uniquePrefix } from './support.js'
import { startGitHubServices, type GitHubServices } from '../services/github-services.js'
import type { Endpoint } from '../services/results-service.js'

/**
 * Every store end to end through the bundled action (dist/action.js), as a runner runs it: run A
 * snapshots a container and its volume (more than one 8 MiB upload block of incompressible data)
 * with its image pushed to the registry; the stack, its volume and its images are removed from the
 * engine; run B, a different workflow run, restores it from A's store and the data comes back byte
 * for byte. Each step is followed by its post step, which must find nothing to do.
 */

const run = promisify(execFile)
const skopeo = (args: string[]) => run('skopeo', args)
const MiB = 1024 * 1024
const BIG_BYTES = 10 * MiB + 12_345
const prefix = uniquePrefix('e2e')
const work = await mkdtemp(join(tmpdir(), 'dst-e2e-stores-'))
const runStep = stepRunner(work)
let github: GitHubServices

beforeAll(async () => {
  if (!existsSync(resolve(action.runs.main))) {
    throw new Error(`${action.runs.main} is missing: build it with \`npm run package\``)
  }
  github = await startGitHubServices()
})

afterAll(async () => {
  await removeByPrefix(prefix)
  await github?.stop()
  await rm(work, { recursive: true, force: true })
})

/** A container with a named volume: a big random file, a small one, and a file in its own layer. */
interface Scene {
  /** The prefix of everything the scene names. */
  name: string
  container: string
  volume: string
  /** `sha256sum` of the volume's files, as the original had them. */
  sums: string
}

async function createScene(name: string): Promise<Scene> {
  const container = `${prefix}${name}-app`
  const volume = `${prefix}${name}-data`
  await docker('volume', 'create', volume)
  await inBusybox(
    ['-v', `${volume}:/data`],
    `head -c ${BIG_BYTES} /dev/urandom > /data/big.bin && echo "small of ${name}" > /data/small.txt`
  )
  await sleeper(container, '-v', `${volume}:/data`)
  // Only the committed image carries this file: it proves the image came back too.
  await docker('exec', container, 'sh', '-c', `echo "layer of ${name}" > /layer.txt`)
  return { name: `${prefix}${name}-`, container, volume, sums: await volumeSums(volume) }
}

/**
 * The images on the engine that belong to the scene: tagged with its name (its snapshot images
 * are pushed to a repository carrying it), or untagged commits whose comment names its container.
 */
async function imagesOf(scene: Scene): Promise<string[]> {
  const tagged = (await docker('images', '--format', '{{.Repository}}:{{.Tag}}'))
    .split('\n')
    .filter(reference => reference.includes(scene.name))
  const dangling = (await docker('images', '-q', '--no-trunc', '--filter', 'dangling=true'))
    .split('\n')
    .filter(Boolean)
  const comments = dangling.length
    ? await docker('image', 'inspect', '--format', '{{.Id}} {{.Comment}}', ...dangling).catch(
        () => ''
      )
    : ''
  const commits = comments.split('\n').filter(line => line.includes(scene.container))
  return [...tagged, ...commits]
}

function volumeSums(volume: string): Promise<string> {
  return inBusybox(['-v', `${volume}:/d:ro`], 'cd /d && sha256sum big.bin small.txt')
}

/** Removes the scene's container, its volume and every image of `repository` from the engine. */
async function freshEngine(scene: Scene, repository?: string): Promise<void> {
  await docker('rm', '-f', '-v', scene.container)
  await docker('volume', 'rm', scene.volume)
  if (repository) {
    const images = await docker('images', '-q', '--no-trunc', `${REGISTRY}/${repository}`)
    if (images) await docker('rmi', '-f', ...new Set(images.split('\n')))
    expect(await docker('images', '-q', `${REGISTRY}/${repository}`)).toBe('')
  }
  expect(await docker('ps', '-aq', '--filter', `name=^/${scene.container}$`)).toBe('')
  expect(await docker('volume', 'ls', '-q', '--filter', `name=^${scene.volume}$`)).toBe('')
}

/** The tags of `repository` at the test registry. */
async function registryTags(repository: string): Promise<string[]> {
  const answer = await fetch(`http://${REGISTRY}/v2/${repository}/tags/list`)
  expect(answer.status).toBe(200)
  return ((await answer.json()) as { tags: string[] }).tags
}

/** A workflow job of `runId`: its env, with its workspace and temp directories made. */
async function job(runId: number, overrides: Record<string, string> = {}) {
  const env = { ...github.runEnv(runId), ...overrides }
  await mkdir(env.GITHUB_WORKSPACE, { recursive: true })
  await mkdir(env.RUNNER_TEMP, { recursive: true })
  return env
}

/** Files (not directories) left anywhere under `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true })
  const files: string[] = []
  for (const name of names) if (!(await stat(join(dir, name))).isDirectory()) files.push(name)
  return files
}

interface Timed extends StepRun {
  seconds: number
}

/**
 * Runs the main step in the job's workspace, then the post step with its state, and checks that
 * the post step had nothing to do and nothing of either step is left: no carrier or hold
 * container, no file under RUNNER_TEMP, no directory store in the workspace.
 */
async function mainAndPost(
  env: Record<string, string>,
  inputs: Record<string, string>,
  scene: Scene
): Promise<Timed> {
  const started = Date.now()
  const main = await runStep(
    'main',
    { ...env, ...inputsEnv(inputs) },
    undefined,
    env.GITHUB_WORKSPACE
  )
  const seconds = (Date.now() - started) / 1000
  expect(main.code, main.stdout).toBe(0)
  // The token reaches the runner only to be masked: no other line carries it.
  const withToken = main.stdout.split('\n').filter(line => line.includes(github.token))
  expect(withToken.filter(line => line !== `::add-mask::${github.token}`)).toEqual([])
  expect(main.state.isPost).toBe('true')
  const post = await runStep(
    'post',
    { ...env, ...inputsEnv(inputs), ...stateEnv(main.state) },
    undefined,
    env.GITHUB_WORKSPACE
  )
  expect(post.code, post.stdout).toBe(0)
  expect(post.stdout.split('\n').filter(line => line && !line.startsWith('::debug::'))).toEqual([])
  expect(post.outputs).toEqual({})
  for (const pid of [main.pid, post.pid]) {
    const owner = `docker-snapshot.carrier=${hostname()}:${pid}`
    expect(await docker('ps', '-aq', '--filter', `label=${owner}`)).toBe('')
  }
  const id = await docker('ps', '-aq', '--no-trunc', '--filter', `name=^/${scene.container}$`)
  if (id) expect(await docker('ps', '-aq', '--filter', `label=docker-snapshot.hold=${id}`)).toBe('')
  // @actions/cache's save removes its archive but leaves the list it gave tar, in a directory of
  // its own under RUNNER_TEMP (which the runner empties after every job): that alone may stay.
  const clientLists = /^[0-9a-f-]{36}\/manifest\.txt$/
  const left = await filesUnder(env.RUNNER_TEMP)
  expect(inputs.store === 'cache' ? left.filter(file => !clientLists.test(file)) : left).toEqual([])
  expect(existsSync(join(env.GITHUB_WORKSPACE, '.docker-snapshots'))).toBe(false)
  return { ...main, seconds }
}

/**
 * Checks run A's snapshot outputs: the id, the volume's bytes, and the image: pushed to
 * `repository` at the registry, or saved into the store when none is given; never kept.
 */
async function checkSnapshot(taken: Timed, id: string, scene: Scene, repository?: string) {
  expect(taken.outputs['snapshot-id']).toBe(id)
  const volumes = JSON.parse(taken.outputs.volumes) as {
    name: string
    tarBytes: number
    storedBytes: number
    copyMethod: string
  }[]
  // The engine here is local: the volume is copied by a helper container next to the data.
  expect(volumes).toEqual([
    {
      name: scene.volume,
      tarBytes: expect.any(Number),
      storedBytes: expect.any(Number),
      copyMethod: 'helper'
    }
  ])
  // Random bytes do not compress: the archive is bigger than one 8 MiB upload block.
  expect(volumes[0].storedBytes).toBeGreaterThan(BIG_BYTES)
  const images = JSON.parse(taken.outputs.images) as { location: string; reference: string }[]
  expect(images).toEqual([
    repository
      ? expect.objectContaining({
          location: 'registry',
          reference: expect.stringContaining(`${REGISTRY}/${repository}@sha256:`)
        })
      : expect.objectContaining({ location: 'store' })
  ])
  // keep-images is false: the commit is gone from the engine once pushed or saved.
  expect(await imagesOf(scene)).toEqual([])
  return { stored: volumes[0].storedBytes, image: repository ? images[0].reference : undefined }
}

/** Checks run B's restore: outputs, the container running its restored image, the same bytes. */
async function checkRestore(restored: Timed, id: string, scene: Scene, image?: string) {
  expect(restored.outputs['snapshot-id']).toBe(id)
  expect(JSON.parse(restored.outputs.containers)).toEqual([
    expect.objectContaining({ target: scene.container, state: 'running' })
  ])
  expect(restored.outputs.volumes).toContain(scene.volume)
  expect(await docker('inspect', '--format', '{{.State.Status}}', scene.container)).toBe('running')
  expect(await volumeSums(scene.volume)).toBe(scene.sums)
  expect(await docker('exec', scene.container, 'cat', '/data/small.txt')).toMatch(/^small of /)
  expect(await docker('exec', scene.container, 'cat', '/layer.txt')).toMatch(/^layer of /)
  // The image was pulled back from the registry, by the digest run A pushed.
  if (image) {
    const digests = await docker('image', 'inspect', '--format', '{{json .RepoDigests}}', image)
    expect(digests).toContain(image)
  }
}

/** Calls the stand-in services answered for each of `endpoints` while `body` ran. */
async function counting<T>(endpoints: Endpoint[], body: () => Promise<T>) {
  const before = endpoints.map(endpoint => github.service.calls(endpoint))
  const result = await body()
  const calls = Object.fromEntries(
    endpoints.map((endpoint, i) => [endpoint, github.service.calls(endpoint) - before[i]])
  )
  return { result, calls }
}

function report(name: string, facts: Record<string, unknown>) {
  console.info(`[action-stores] ${name}: ${JSON.stringify(facts)}`)
}

describe('the bundled action, across two workflow runs', () => {
  it('store artifact (the default in Actions): run B restores run A’s snapshot by run-id', async () => {
    const [RUN_A, RUN_B] = [8101, 8102]
    const scene = await createScene('artifact')
    const repository = `${prefix}artifact-images`
    const id = 'nightly-1'
    const jobA = await job(RUN_A)
    const upload = await counting(['blob PUT block', 'CreateArtifact'], () =>
      mainAndPost(
        jobA,
        { containers: scene.container, 'snapshot-id': id, registry: REGISTRY, repository },
        scene
      )
    )
    const taken = upload.result
    const { stored, image } = await checkSnapshot(taken, id, scene, repository)
    expect(taken.outputs.manifest).toMatch(/artifact/i)
    const artifacts = github.service.artifacts().filter(a => a.runId === RUN_A && a.finalized)
    expect(artifacts.map(a => a.name)).toEqual(
      expect.arrayContaining([`${id}.volumes.${scene.volume}.tar.zst`, `${id}.manifest.json`])
    )
    // Each artifact goes up in blocks of 8 MiB: the volume's archive took more than one.
    expect(upload.calls['blob PUT block']).toBeGreaterThan(artifacts.length)
    const volumeArtifact = artifacts.find(a => a.name.startsWith(`${id}.volumes.`))!
    expect(volumeArtifact.size).toBe(stored)

    await freshEngine(scene, repository)
    const jobB = await job(RUN_B)
    const download = await counting(
      ['GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip', 'blob GET'],
      () =>
        mainAndPost(
          jobB,
          {
            mode: 'restore',
            'run-id': String(RUN_A),
            'github-token': github.token,
            'snapshot-id': id
          },
          scene
        )
    )
    await checkRestore(download.result, id, scene, image)
    // It came from run A's artifacts, through the REST download: run B stored nothing of its own.
    expect(
      download.calls['GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip']
    ).toBeGreaterThanOrEqual(2)
    expect(github.service.artifacts().filter(a => a.runId === RUN_B)).toEqual([])
    report('artifact', {
      storedBytes: stored,
      uploadBlocks: upload.calls['blob PUT block'],
      artifacts: artifacts.length,
      snapshotSeconds: taken.seconds,
      restoreSeconds: download.result.seconds,
      downloads: download.calls
    })
  })

  it('store cache: run B restores the newest snapshot under the cache-key (latest)', async () => {
    const [RUN_A, RUN_B] = [8201, 8202]
    const scene = await createScene('cache')
    const repository = `${prefix}cache-images`
    const cacheKey = `${prefix}cache`
    const id = 'cached-1'
    // The client's entry version hashes the path under RUNNER_TEMP: a hosted runner's is the same
    // in every run.
    const runnerTemp = join(work, 'runner-temp')
    const jobA = await job(RUN_A, { RUNNER_TEMP: runnerTemp })
    const upload = await counting(['CreateCacheEntry', 'blob PUT'], () =>
      mainAndPost(
        jobA,
        {
          store: 'cache',
          'cache-key': cacheKey,
          containers: scene.container,
          'snapshot-id': id,
          registry: REGISTRY,
          repository
        },
        scene
      )
    )
    const { stored, image } = await checkSnapshot(upload.result, id, scene, repository)
    const entries = github.service.cacheEntries().filter(e => e.finalized)
    // The snapshot's entry is saved last, after its objects under their digests.
    expect(entries.at(-1)!.key).toBe(`${cacheKey}-${id}`)
    // The client saves each object as a compressed tar of its file: the archive's entry is as big.
    expect(Math.max(...entries.map(e => e.size))).toBeGreaterThan(BIG_BYTES)

    await freshEngine(scene, repository)
    const jobB = await job(RUN_B, { RUNNER_TEMP: runnerTemp })
    const download = await counting(['GetCacheEntryDownloadURL', 'blob GET'], () =>
      mainAndPost(
        jobB,
        { mode: 'restore', store: 'cache', 'cache-key': cacheKey, 'snapshot-id': 'latest' },
        scene
      )
    )
    await checkRestore(download.result, id, scene, image)
    // Read from the cache service: the manifest and the volume's archive at least.
    expect(download.calls.GetCacheEntryDownloadURL).toBeGreaterThanOrEqual(2)
    expect(download.calls['blob GET']).toBeGreaterThanOrEqual(2)
    expect(github.service.cacheEntries().filter(e => e.finalized)).toHaveLength(entries.length)
    report('cache', {
      storedBytes: stored,
      entries: entries.length,
      snapshotSeconds: upload.result.seconds,
      restoreSeconds: download.result.seconds,
      uploads: upload.calls,
      downloads: download.calls
    })
  })

  it('store oci://: run B restores run A’s snapshot from the registry repository', async () => {
    const [RUN_A, RUN_B] = [8301, 8302]
    const scene = await createScene('oci')
    const repository = `${prefix}oci-images`
    const snapshots = `${prefix}oci-snapshots`
    const store = `oci://${REGISTRY}/${snapshots}`
    const id = 'registry-1'
    const services = ['CreateArtifact', 'CreateCacheEntry', 'blob PUT block', 'blob PUT'] as const
    const upload = await counting([...services], async () =>
      mainAndPost(
        await job(RUN_A),
        { store, containers: scene.container, 'snapshot-id': id, registry: REGISTRY, repository },
        scene
      )
    )
    const { stored, image } = await checkSnapshot(upload.result, id, scene, repository)
    // It went to the registry, not to GitHub's services.
    expect(Object.values(upload.calls)).toEqual([0, 0, 0, 0])
    expect(await registryTags(snapshots)).toEqual([id])

    await freshEngine(scene, repository)
    const download = await counting(['blob GET', 'GetCacheEntryDownloadURL'], async () =>
      mainAndPost(await job(RUN_B), { mode: 'restore', store, 'snapshot-id': 'latest' }, scene)
    )
    await checkRestore(download.result, id, scene, image)
    expect(Object.values(download.calls)).toEqual([0, 0])
    report('oci', {
      storedBytes: stored,
      snapshotSeconds: upload.result.seconds,
      restoreSeconds: download.result.seconds
    })
  })

  it('a directory store copied to a registry by skopeo restores from oci://', async () => {
    const scene = await createScene('skopeo')
    const directory = join(work, 'directory-store')
    const snapshots = `${prefix}skopeo-snapshots`
    const id = 'moved-1'
    // Images saved into the store (no registry input): skopeo carries them too.
    const taken = await mainAndPost(
      await job(8401),
      { store: directory, containers: scene.container, 'snapshot-id': id },
      scene
    )
    const { stored } = await checkSnapshot(taken, id, scene)
    expect(taken.outputs.manifest).toContain(directory)

    await skopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${directory}:${id}`,
      `docker://${REGISTRY}/${snapshots}:${id}`
    ])
    expect(await registryTags(snapshots)).toEqual([id])
    // Only the registry holds it now.
    await rm(directory, { recursive: true })
    await freshEngine(scene)

    const restored = await mainAndPost(
      await job(8402),
      { mode: 'restore', store: `oci://${REGISTRY}/${snapshots}`, 'snapshot-id': id },
      scene
    )
    await checkRestore(restored, id, scene)
    expect(existsSync(directory)).toBe(false)
    report('skopeo', {
      storedBytes: stored,
      snapshotSeconds: taken.seconds,
      restoreSeconds: restored.seconds
    })
  })
})
