import { spawn } from 'node:child_process'
import { hostname } from 'node:os'
import { beforeAll, describe, expect, it } from 'vitest'
import { ContainerHeldError, EngineError } from '../../../src/shared/errors.js'
import { hostProcesses, thisRun } from '../../../src/shared/owner.js'
import { Holds, holdName, repairAbandoned } from '../../../src/snapshot/holds.js'
import { FakeEngine } from '../fakes/engine.js'
import { recordingLogger } from '../fakes/logger.js'

/** A pid that no process has any more. */
let deadPid = 0
beforeAll(async () => {
  const child = spawn(process.execPath, ['-e', ''])
  await new Promise(resolve => child.on('exit', resolve))
  await new Promise(resolve => setTimeout(resolve, 50))
  deadPid = child.pid!
})

const HOOKS = {
  'docker-snapshot.pre-exec': 'lock tables',
  'docker-snapshot.post-exec': 'unlock tables'
}

/** `web` (with hooks) and `db` on the fake engine, as `state` says. */
function scene(state: 'running' | 'paused' | 'exited' = 'running') {
  const fake = new FakeEngine()
  fake.addContainer({ name: 'web', state, labels: HOOKS })
  fake.addContainer({ name: 'db' })
  const { log, lines } = recordingLogger()
  return { fake, log, lines, id: (name: string) => fake.container(name).Id }
}

type Owner = 'dead' | 'alive' | 'elsewhere'

/** A hold on `container` as another run left it, with the marks of the steps it took. */
async function otherRunsHold(
  fake: FakeEngine,
  container: string,
  owner: Owner,
  marks: string[] = []
): Promise<string> {
  const id = fake.container(container).Id
  const pid = owner === 'dead' ? deadPid : process.ppid
  const hold = fake.addContainer({
    name: holdName(id),
    state: 'created',
    labels: {
      'docker-snapshot.hold': id,
      'docker-snapshot.hold.container': container,
      'docker-snapshot.hold.owner': `${owner === 'elsewhere' ? 'elsewhere' : hostname()}:${pid}`,
      'docker-snapshot.hold.process-start':
        owner === 'alive' ? (hostProcesses.startTime(pid) ?? '') : '',
      'docker-snapshot.hold.snapshot': 'theirs',
      'docker-snapshot.hold.since': '2026-11-30T10:00:00.000Z'
    }
  })
  for (const mark of marks) await fake.engine.markLock(hold.Id, `docker-snapshot-${mark}`)
  return hold.Id
}

const holdOptions = { snapshotId: 'ours', hookTimeoutMs: 1000, waitMs: 300, pollMs: 20 }

describe('Holds', () => {
  it('holds each container in id order with who holds it, and releases it', async () => {
    const { fake, log, id } = scene()
    const holds = new Holds(fake.engine, log, holdOptions)
    await holds.acquire([
      { id: id('web'), name: 'web' },
      { id: id('db'), name: 'db' }
    ])
    const inOrder = [id('web'), id('db')].sort().map(holdName)
    expect(fake.events.filter(e => e.startsWith('createLock'))).toEqual(
      inOrder.map(name => `createLock ${name}`)
    )
    const labels = fake.container(holdName(id('web'))).Config.Labels
    expect(labels).toMatchObject({
      'docker-snapshot.hold': id('web'),
      'docker-snapshot.hold.container': 'web',
      'docker-snapshot.hold.owner': `${thisRun.host}:${thisRun.pid}`,
      'docker-snapshot.hold.process-start': thisRun.processStart ?? '',
      'docker-snapshot.hold.snapshot': 'ours',
      'docker-snapshot.hold.run': holds.run
    })
    expect(fake.states()[holdName(id('web'))]).toBe('created')

    await holds.mark(id('web'), 'pause')
    expect(await fake.engine.lockHasMark(holdName(id('web')), 'docker-snapshot-pause')).toBe(true)
    for (const held of holds.containers) await holds.release(held)
    expect(fake.names.containers).toEqual(['db', 'web'])
  })

  it.each<{ owner: Owner; advice: string }>([
    { owner: 'alive', advice: `If that process is stuck, end it (kill ${process.ppid})` },
    {
      owner: 'elsewhere',
      advice:
        'That run is on another host, so this one cannot tell whether it still runs. If it ' +
        'does not, bring web back as it left it'
    }
  ])(
    'waits for a hold of a run that may be alive ($owner), then fails naming it, touching nothing',
    async ({ owner, advice }) => {
      const { fake, log, lines, id } = scene()
      await otherRunsHold(fake, 'web', owner, ['pause'])
      const holds = new Holds(fake.engine, log, holdOptions)
      const failure = await holds.acquire([{ id: id('web'), name: 'web' }]).then(
        () => undefined,
        (error: unknown) => error as Error
      )
      expect(failure).toBeInstanceOf(ContainerHeldError)
      expect(failure?.message).toContain(
        `web is held by the docker-snapshot run of snapshot theirs (pid ` +
          `${owner === 'dead' ? deadPid : process.ppid} on host ` +
          `${owner === 'elsewhere' ? 'elsewhere' : hostname()}, since 2026-11-30T10:00:00.000Z), ` +
          'which did not release it within 0 s; this run paused and stopped nothing.'
      )
      expect(failure?.message).toContain(advice)
      expect(lines[0]).toMatch(/^info: web is held by .*; waiting up to 0 s for it to finish$/)
      // It looked again while waiting, and touched neither the container nor the other's hold.
      expect(fake.events.filter(e => e.startsWith('createLock')).length).toBeGreaterThan(2)
      expect(fake.events.filter(e => /^(pause|unpause|stop|start|remove|exec)/.test(e))).toEqual([])
      expect(fake.states().web).toBe('running')
    }
  )

  it('takes the container once the other run releases it', async () => {
    const { fake, log, id } = scene()
    const theirs = await otherRunsHold(fake, 'web', 'alive')
    // It is released while this run waits: on this run's third attempt.
    let attempts = 0
    fake.before('createLock', async () => {
      if (++attempts === 3) await fake.engine.removeContainer(theirs, { force: true })
    })
    const holds = new Holds(fake.engine, log, { ...holdOptions, waitMs: 5000 })
    await holds.acquire([{ id: id('web'), name: 'web' }])
    expect(holds.containers).toEqual([id('web')])
    expect(fake.container(holdName(id('web'))).Config.Labels['docker-snapshot.hold.run']).toBe(
      holds.run
    )
  })

  it('repairs the hold of a dead run first: resumes, runs the owed post-exec hook, takes it', async () => {
    const { fake, log, lines, id } = scene('paused')
    fake.addContainer({
      name: 'docker-snapshot-carrier-x',
      state: 'created',
      labels: { 'docker-snapshot.carrier': `${hostname()}:${deadPid}` }
    })
    await otherRunsHold(fake, 'web', 'dead', ['pre-exec', 'pause'])
    const holds = new Holds(fake.engine, log, holdOptions)
    await holds.acquire([{ id: id('web'), name: 'web' }])
    const hold = holdName(id('web'))
    expect(fake.events.filter(e => /^(unpause|exec|remove)/.test(e))).toEqual([
      'unpauseContainer web',
      'exec web sh -c unlock tables',
      `removeCarriers ${hostname()}:${deadPid}`,
      `removeContainer ${hold}`,
      `removeContainer ${hold}-repair`
    ])
    expect(fake.states().web).toBe('running')
    expect(fake.names.containers).toEqual(['db', holdName(id('web')), 'web'])
    expect(holds.containers).toEqual([id('web')])
    expect(lines).toContain(
      `warn: the docker-snapshot run of snapshot theirs (pid ${deadPid} on host ${hostname()}, ` +
        'since 2026-11-30T10:00:00.000Z) ended without bringing web back; repaired: resumed ' +
        'web; ran the post-exec hook of web; removed 1 carrier container docker-snapshot-carrier-x'
    )
  })
})

describe('repairAbandoned', () => {
  it('starts what a dead run stopped, leaves live runs and other hosts alone', async () => {
    const { fake, log, id } = scene('exited')
    fake.addContainer({ name: 'cache', state: 'paused' })
    fake.addContainer({ name: 'queue', state: 'paused' })
    await otherRunsHold(fake, 'web', 'dead', ['stop'])
    await otherRunsHold(fake, 'cache', 'alive', ['pause'])
    await otherRunsHold(fake, 'queue', 'elsewhere', ['pause'])
    await repairAbandoned(fake.engine, log)
    expect(fake.states()).toMatchObject({ web: 'running', cache: 'paused', queue: 'paused' })
    expect(fake.names.containers).not.toContain(holdName(id('web')))
    expect(fake.names.containers).toContain(holdName(id('cache')))
    expect(fake.names.containers).toContain(holdName(id('queue')))
    // web's hook ran before the kill only if marked: no pre-exec mark, no post-exec hook.
    expect(fake.events.filter(e => e.startsWith('exec'))).toEqual([])
  })

  it('touches nothing a dead run did not mark, and runs a post-exec hook only once', async () => {
    const { fake, log, id } = scene('paused')
    // Paused by someone else; the dead run reached web's post-exec hook already.
    await otherRunsHold(fake, 'web', 'dead', ['pre-exec', 'post-exec'])
    await repairAbandoned(fake.engine, log)
    expect(fake.states().web).toBe('paused')
    expect(fake.events.filter(e => /^(unpause|exec)/.test(e))).toEqual([])
    expect(fake.names.containers).not.toContain(holdName(id('web')))
  })

  it('keeps the hold when the container cannot be brought back, and says so', async () => {
    const { fake, log, lines, id } = scene('exited')
    await otherRunsHold(fake, 'web', 'dead', ['pre-exec', 'stop'])
    fake.failOn('startContainer', 'web', new EngineError('start container web: port is taken'))
    await repairAbandoned(fake.engine, log)
    expect(fake.names.containers).toContain(holdName(id('web')))
    // The claim of the repair is gone, so the next run can try again.
    expect(fake.names.containers).not.toContain(`${holdName(id('web'))}-repair`)
    expect(lines.at(-1)).toBe(
      `warn: could not bring back web, left by the docker-snapshot run of snapshot theirs (pid ` +
        `${deadPid} on host ${hostname()}, since 2026-11-30T10:00:00.000Z): start container ` +
        'web: port is taken; the next docker-snapshot command tries again'
    )
  })

  it('leaves a hold another live run is repairing', async () => {
    const { fake, log, id } = scene('paused')
    await otherRunsHold(fake, 'web', 'dead', ['pause'])
    fake.addContainer({
      name: `${holdName(id('web'))}-repair`,
      state: 'created',
      labels: {
        'docker-snapshot.hold-repair': 'x',
        'docker-snapshot.hold.owner': `${hostname()}:${process.ppid}`,
        'docker-snapshot.hold.process-start': hostProcesses.startTime(process.ppid) ?? ''
      }
    })
    await repairAbandoned(fake.engine, log)
    expect(fake.states().web).toBe('paused')
    expect(fake.names.containers).toContain(holdName(id('web')))
  })

  it('removes carriers and repair claims of dead runs only', async () => {
    const { fake, log, lines } = scene()
    const carrier = (name: string, pid: number) =>
      fake.addContainer({
        name,
        state: 'created',
        labels: { 'docker-snapshot.carrier': `${hostname()}:${pid}` }
      })
    carrier('dead-carrier', deadPid)
    carrier('live-carrier', process.ppid)
    fake.addContainer({
      name: 'dead-claim',
      state: 'created',
      labels: {
        'docker-snapshot.hold-repair': 'x',
        'docker-snapshot.hold.owner': `${hostname()}:${deadPid}`
      }
    })
    await repairAbandoned(fake.engine, log)
    expect(fake.names.containers).toEqual(['db', 'live-carrier', 'web'])
    expect(lines).toEqual([
      `warn: removed the carrier containers a killed docker-snapshot run (pid ${deadPid}) ` +
        'left: dead-carrier'
    ])
  })
})
