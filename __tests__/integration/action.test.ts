import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  BUSYBOX,
  REGISTRY,
  docker,
  inBusybox,
  removeByPrefix,
  sleeper,
  uniquePrefix,
  moveOnAfterSnapshot
} from './support.js'
import { blobFile, layoutObjects } from '../oci-layout.js'
import { action, inputsEnv, stateEnv, stepRunner } from './action-steps.js'

// The action as a runner runs it (see action-steps.ts).
const prefix = uniquePrefix('action')
const work = await mkdtemp(join(tmpdir(), 'dst-action-'))
const runStep = stepRunner(work)

afterAll(async () => {
  // The copies first: they use the images the originals' prefix names.
  await removeByPrefix(`copy-${prefix}`)
  await removeByPrefix(prefix)
  await rm(work, { recursive: true, force: true })
})

describe('the action', () => {
  it('snapshots, verifies, restores beside the original and prunes, reporting outputs', async () => {
    const store = join(work, 'store')
    const volume = `${prefix}data`
    const container = `${prefix}app`
    await docker('volume', 'create', volume)
    await inBusybox(['-v', `${volume}:/data`], 'echo kept > /data/file && chown 1000 /data/file')
    await sleeper(container, '-v', `${volume}:/data`)

    const inputs = inputsEnv({
      containers: container,
      store,
      registry: REGISTRY,
      repository: `${prefix}repo`
    })
    const snapshot = await runStep('main', inputs)
    expect(snapshot.code, snapshot.stdout).toBe(0)
    const id = snapshot.outputs['snapshot-id']
    expect(id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/)
    expect(snapshot.outputs.manifest).toContain(`${id}/manifest.json`)
    const images = JSON.parse(snapshot.outputs.images) as { location: string; reference: string }[]
    expect(images).toEqual([
      expect.objectContaining({
        location: 'registry',
        reference: expect.stringContaining(`${REGISTRY}/${prefix}repo@sha256:`)
      })
    ])
    expect(snapshot.summary).toContain(`## Snapshot ${id}`)
    expect(snapshot.summary).toMatch(/\| volume \| data \| stored \| time \| throughput \|/)
    expect(snapshot.stdout).toContain('::group::Copying volumes')
    // Nothing is left for the post step once the main step finished: no hold on the container.
    expect(
      await docker('ps', '-aq', '--filter', `label=docker-snapshot.hold.container=${container}`)
    ).toBe('')
    // The post step runs the same file with the same inputs: the state tells it to take no second
    // snapshot, and after a finished main step it has nothing to clean up.
    expect(action.runs.post).toBe(action.runs.main)
    expect(snapshot.state.isPost).toBe('true')
    const stored = (await readdir(store, { recursive: true })).sort()
    const post = await runStep('post', { ...inputs, ...stateEnv(snapshot.state) })
    expect(post.code, post.stdout).toBe(0)
    // Only the engine calls of the (empty) repair, as debug lines.
    expect(post.stdout.split('\n').filter(line => line && !line.startsWith('::debug::'))).toEqual(
      []
    )
    expect(post.outputs).toEqual({})
    expect((await readdir(store, { recursive: true })).sort()).toEqual(stored)

    const verify = await runStep('main', inputsEnv({ mode: 'verify', store, 'snapshot-id': id }))
    expect(verify.code, verify.stdout).toBe(0)
    expect(verify.outputs.verified).toBe('true')

    const restore = await runStep(
      'main',
      inputsEnv({ mode: 'restore', store, 'snapshot-id': 'latest', prefix: 'copy-' })
    )
    expect(restore.code, restore.stdout).toBe(0)
    const restored = JSON.parse(restore.outputs.containers) as { target: string; state: string }[]
    expect(restored).toEqual([
      expect.objectContaining({ target: `copy-${container}`, state: 'running' })
    ])
    expect(
      await inBusybox(['-v', `copy-${volume}:/data`], 'stat -c "%u $(cat /data/file)" /data/file')
    ).toBe('1000 kept')
    expect(await docker('inspect', '--format', '{{.State.Status}}', container)).toBe('running')

    const prune = await runStep('main', inputsEnv({ mode: 'prune', store, keep: '1' }))
    expect(prune.code, prune.stdout).toBe(0)
    expect(JSON.parse(prune.outputs.pruned)).toEqual([])
  })

  it('fails the step with a specific message on a bad input, touching nothing', async () => {
    const run = await runStep(
      'main',
      inputsEnv({ mode: 'snapshot', consistency: 'freeze', all: 'true' })
    )
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(
      "::error::Invalid consistency 'freeze'. Expected one of: none, pause, stop."
    )
  })

  it('brings back a paused container in the post step when the main step was killed', async () => {
    const volume = `${prefix}big`
    const container = `${prefix}held`
    const store = join(work, 'killed')
    // A snapshot of the same id that the killed run was to replace: it must come through whole.
    const small = `${prefix}small`
    await docker('volume', 'create', small)
    await inBusybox(['-v', `${small}:/data`], 'echo before > /data/file')
    const earlier = await runStep(
      'main',
      inputsEnv({ volumes: small, store, 'snapshot-id': 'keep', commit: 'false' })
    )
    expect(earlier.code, earlier.stdout).toBe(0)
    const snapshotFiles = async () => {
      const objects = await layoutObjects(store, 'keep')
      return Promise.all(
        Object.entries(objects).map(async ([name, digest]) => [
          name,
          await readFile(blobFile(store, digest)).catch(() => '')
        ])
      )
    }
    const before = await snapshotFiles()
    await docker('volume', 'create', volume)
    // Enough incompressible data that gzip keeps the copy (and the pause) going for a while.
    await inBusybox(['-v', `${volume}:/data`], 'head -c 400000000 /dev/urandom > /data/blob')
    await sleeper(container, '-v', `${volume}:/data`)

    let killedPid = 0
    const inputs = inputsEnv({
      containers: container,
      store,
      'snapshot-id': 'keep',
      'replace-snapshot': 'true',
      compression: 'gzip',
      commit: 'false'
    })
    const main = await runStep('main', inputs, async pid => {
      // Kill it mid-copy: the container paused and the carrier container streaming.
      const carrier = `label=docker-snapshot.carrier=${hostname()}:${pid}`
      for (let waited = 0; waited < 60_000; waited += 100) {
        const paused = await docker('inspect', '--format', '{{.State.Paused}}', container)
        if (paused === 'true' && (await docker('ps', '-aq', '--filter', carrier)) !== '') break
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      killedPid = pid
      process.kill(pid, 'SIGKILL')
    })
    expect(main.code).toBeNull()
    expect(await docker('inspect', '--format', '{{.State.Paused}}', container)).toBe('true')

    // The runner runs the same file again, with the same inputs and the state the main step saved.
    const post = await runStep('post', { ...inputs, ...stateEnv(main.state) })
    expect(post.code, post.stdout).toBe(0)
    expect(post.stdout).toContain(`resuming ${container}`)
    expect(
      await docker('inspect', '--format', '{{.State.Paused}} {{.State.Status}}', container)
    ).toBe('false running')
    // The carrier container the killed step was copying through, and its unfinished snapshot,
    // are gone too.
    const owner = `docker-snapshot.carrier=${hostname()}:${killedPid}`
    expect(await docker('ps', '-aq', '--filter', `label=${owner}`)).toBe('')
    // The copy it was killed in: a helper container next to the data, or the archive API's carrier.
    expect(post.stdout).toMatch(/removed 1 carrier container docker-snapshot-(copy|carrier)-/)
    expect(await snapshotFiles()).toEqual(before)
    expect(post.stdout).toContain(`removed the unfinished snapshot keep from directory ${store}`)
    expect(await readdir(join(store, '.staging'))).toEqual([])
  })

  it('puts the originals back when a cancelled workflow interrupts a replace (SIGINT, then SIGTERM)', async () => {
    const original = `${prefix}replaced`
    const data = `${prefix}replaced-data`
    const store = join(work, 'cancelled')
    await docker('volume', 'create', data)
    await inBusybox(
      ['-v', `${data}:/d`],
      'head -c 200000000 /dev/urandom > /d/big && echo from the snapshot > /d/marker'
    )
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      original,
      '-v',
      `${data}:/d`,
      BUSYBOX,
      'sleep',
      '3600'
    )
    const taken = await runStep(
      'main',
      inputsEnv({ containers: original, store, 'snapshot-id': 'replace-me', commit: 'false' })
    )
    expect(taken.code, taken.stdout).toBe(0)
    const expectAsBefore = await moveOnAfterSnapshot(original)

    let sent = false
    const restore = await runStep(
      'main',
      inputsEnv({ mode: 'restore', store, 'snapshot-id': 'replace-me', 'on-conflict': 'replace' }),
      async (pid, output) => {
        for (let waited = 0; waited < 120_000; waited += 50) {
          if (output().includes(`volume ${data}: writing`)) break
          await new Promise(resolve => setTimeout(resolve, 50))
        }
        // As a runner cancels a job: SIGINT, and SIGTERM while the run is still undoing.
        await new Promise(resolve => setTimeout(resolve, 500))
        sent = true
        process.kill(pid, 'SIGINT')
        await new Promise(resolve => setTimeout(resolve, 200))
        process.kill(pid, 'SIGTERM')
      }
    )
    expect(sent).toBe(true)
    expect(restore.code, restore.stdout).toBe(1)
    expect(restore.stdout).toContain('received SIGINT: stopping at the next safe point')
    expect(restore.stdout).toContain('received SIGTERM again: still undoing what the run did')
    expect(restore.stdout).toContain(
      `The originals were put back as they were: volume ${data} (contents copied back), ` +
        `container ${original} (running).`
    )
    await expectAsBefore()
    // Nothing of the interrupted restore is left: no replacement, no aside copy.
    expect(await docker('ps', '-aq', '--filter', `name=${original}-aside-`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=${data}-aside-`)).toBe('')
  })

  it('waits in the post step for a stop the killed main step began, then starts the container', async () => {
    const container = `${prefix}stopping`
    // sleep as PID 1 ignores SIGTERM: a stop takes the whole stop timeout, then SIGKILL.
    await docker('run', '-d', '--name', container, '--stop-timeout', '6', BUSYBOX, 'sleep', '3600')
    const startedBefore = await docker('inspect', '--format', '{{.State.StartedAt}}', container)

    let killedAt = 0
    const inputs = inputsEnv({
      containers: container,
      store: join(work, 'stopping'),
      consistency: 'stop',
      commit: 'false'
    })
    const main = await runStep('main', inputs, async (pid, output) => {
      for (let waited = 0; waited < 60_000; waited += 50) {
        if (output().includes(`stopping ${container}`)) break
        await new Promise(resolve => setTimeout(resolve, 50))
      }
      // Let the stop reach the engine, then kill the step while the container still runs.
      await new Promise(resolve => setTimeout(resolve, 1000))
      killedAt = Date.now()
      process.kill(pid, 'SIGKILL')
    })
    expect(main.code).toBeNull()
    expect(await docker('inspect', '--format', '{{.State.Status}}', container)).toBe('running')

    const post = await runStep('post', { ...inputs, ...stateEnv(main.state) })
    expect(post.code, post.stdout).toBe(0)
    // The stop landed after the main step was gone, and the post step started it again after.
    const stopTimeoutEnds = killedAt + 6000
    await new Promise(resolve =>
      setTimeout(resolve, Math.max(0, stopTimeoutEnds + 1000 - Date.now()))
    )
    expect(await docker('inspect', '--format', '{{.State.Status}}', container)).toBe('running')
    expect(await docker('inspect', '--format', '{{.State.StartedAt}}', container)).not.toBe(
      startedBefore
    )
    expect(post.stdout).toContain(`waiting up to 16 s for the stop of ${container}`)
    expect(post.stdout).toContain(`starting ${container}`)
  })
})
