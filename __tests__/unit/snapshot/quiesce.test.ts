import { describe, expect, it } from 'vitest'
import { EngineError } from '../../../src/shared/errors.js'
import type { QuiesceAction } from '../../../src/snapshot/quiesce.js'
import { Quiescer, undo } from '../../../src/snapshot/quiesce.js'
import { FakeEngine } from '../fakes/engine.js'
import { recordingLogger } from '../fakes/logger.js'

interface ContainerState {
  Running: boolean
  Paused: boolean
}

/** The shared fake, its containers named and identified by `ids`, `persist` logged with its calls. */
function fakeWith(states: Record<string, ContainerState>) {
  const fake = new FakeEngine()
  for (const [id, state] of Object.entries(states)) {
    fake.addContainer({
      name: id,
      id,
      state: state.Paused ? 'paused' : state.Running ? 'running' : 'exited'
    })
  }
  const persist = (actions: QuiesceAction[]): void => {
    fake.events.push(`persist [${actions.map(action => action.id).join(',')}]`)
  }
  return { fake, persist }
}

function stateOf(fake: FakeEngine, id: string): ContainerState {
  const { Running, Paused } = fake.container(id).State
  return { Running, Paused }
}

const running = (): ContainerState => ({ Running: true, Paused: false })
const pause = (id: string): QuiesceAction => ({ id, name: `${id}-name`, action: 'pause' })
const stop = (id: string): QuiesceAction => ({ id, name: `${id}-name`, action: 'stop' })

function setup(ids: string[]) {
  const { fake, persist } = fakeWith(Object.fromEntries(ids.map(id => [id, running()])))
  const { log, lines } = recordingLogger()
  const quiescer = new Quiescer(fake.engine, log, persist)
  return { fake, quiescer, lines }
}

describe('Quiescer', () => {
  it('persists every action before taking it', async () => {
    const { fake, quiescer, lines } = setup(['a', 'b', 'c'])
    await quiescer.quiesce([pause('a'), stop('b'), pause('c')])
    expect(fake.events).toEqual([
      'persist [a]',
      'pauseContainer a',
      'persist [a,b]',
      'stopContainer b',
      'persist [a,b,c]',
      'pauseContainer c'
    ])
    expect(quiescer.actions).toEqual([pause('a'), stop('b'), pause('c')])
    expect(lines).toEqual(['info: pausing a-name', 'info: stopping b-name', 'info: pausing c-name'])
    expect(stateOf(fake, 'b')).toEqual({ Running: false, Paused: false })
  })

  it('has persisted an action whose call failed, and stops there', async () => {
    const { fake, quiescer } = setup(['a', 'b', 'c'])
    fake.failOn('stopContainer', 'b', new EngineError('stop container b: timeout'))
    await expect(quiescer.quiesce([pause('a'), stop('b'), pause('c')])).rejects.toThrow(
      'stop container b: timeout'
    )
    expect(fake.events).toEqual([
      'persist [a]',
      'pauseContainer a',
      'persist [a,b]',
      'stopContainer b'
    ])
    expect(quiescer.actions.map(action => action.id)).toEqual(['a', 'b'])
  })

  it('resumes last first, persisting after each', async () => {
    const { fake, quiescer, lines } = setup(['a', 'b', 'c'])
    await quiescer.quiesce([pause('a'), stop('b'), pause('c')])
    fake.events.length = 0
    lines.length = 0
    await quiescer.resume()
    expect(fake.events).toEqual([
      'findContainer c',
      'unpauseContainer c',
      'persist [a,b]',
      'findContainer b',
      'startContainer b',
      'persist [a]',
      'findContainer a',
      'unpauseContainer a',
      'persist []'
    ])
    expect(lines).toEqual([
      'info: resuming c-name',
      'info: starting b-name',
      'info: resuming a-name'
    ])
    expect(quiescer.actions).toEqual([])
    for (const id of ['a', 'b', 'c']) expect(stateOf(fake, id)).toEqual(running())
  })

  it('has nothing to do when nothing was taken', async () => {
    const { fake, quiescer } = setup([])
    await quiescer.resume()
    expect(fake.events).toEqual([])
  })

  it('tries every container when some fail, and names each failure with the way out', async () => {
    const { fake, quiescer } = setup(['a', 'b', 'c', 'd'])
    await quiescer.quiesce([pause('a'), stop('b'), pause('c'), stop('d')])
    fake.events.length = 0
    fake.failOn(
      'startContainer',
      'd',
      new EngineError('start container d: port is already allocated')
    )
    fake.failOn('findContainer', 'b', new Error('connect ECONNREFUSED /var/run/docker.sock'))
    const error = await quiescer.resume().then(
      () => undefined,
      (failure: unknown) => failure as Error
    )
    expect(error?.message).toBe(
      'could not bring back d-name (start container d: port is already allocated); ' +
        'b-name (connect ECONNREFUSED /var/run/docker.sock); ' +
        'start them by hand with `docker unpause` or `docker start`'
    )
    expect(fake.events.filter(event => !event.startsWith('persist'))).toEqual([
      'findContainer d',
      'startContainer d',
      'findContainer c',
      'unpauseContainer c',
      'findContainer b',
      'findContainer a',
      'unpauseContainer a'
    ])
    expect(stateOf(fake, 'a').Paused).toBe(false)
    expect(stateOf(fake, 'c').Paused).toBe(false)
    expect(quiescer.actions).toEqual([])
  })

  it('leaves a container it could not bring back in the persisted state for the post step', async () => {
    const { fake, quiescer } = setup(['a', 'b'])
    await quiescer.quiesce([pause('a'), pause('b')])
    fake.events.length = 0
    fake.failOn('unpauseContainer', 'b', new EngineError('unpause container b: boom'))
    await expect(quiescer.resume()).rejects.toThrow('could not bring back b-name')
    // The post step retries b, whatever came after it.
    expect(fake.events.filter(e => e.startsWith('persist')).at(-1)).toBe('persist [b]')
  })
})

describe('undo', () => {
  it.each<{
    case: string
    action: QuiesceAction
    state: ContainerState | undefined
    calls: string[]
    log: string[]
  }>([
    {
      case: 'unpauses a paused container',
      action: pause('web'),
      state: { Running: true, Paused: true },
      calls: ['findContainer web', 'unpauseContainer web'],
      log: ['info: resuming web-name']
    },
    {
      case: 'starts a stopped container',
      action: stop('web'),
      state: { Running: false, Paused: false },
      calls: ['findContainer web', 'startContainer web'],
      log: ['info: starting web-name']
    },
    {
      case: 'leaves a container someone already unpaused',
      action: pause('web'),
      state: { Running: true, Paused: false },
      calls: ['findContainer web'],
      log: []
    },
    {
      case: 'leaves a paused container that has since been stopped',
      action: pause('web'),
      state: { Running: false, Paused: false },
      calls: ['findContainer web'],
      log: []
    },
    {
      case: 'leaves a container someone already started',
      action: stop('web'),
      state: { Running: true, Paused: false },
      calls: ['findContainer web'],
      log: []
    },
    {
      case: 'warns about a pause target that no longer exists',
      action: pause('web'),
      state: undefined,
      calls: ['findContainer web'],
      log: ['warn: web-name no longer exists; nothing to bring back']
    },
    {
      case: 'warns about a stop target that no longer exists',
      action: stop('web'),
      state: undefined,
      calls: ['findContainer web'],
      log: ['warn: web-name no longer exists; nothing to bring back']
    }
  ])('$case', async ({ action, state, calls, log }) => {
    const { fake } = fakeWith(state ? { web: state } : {})
    const logger = recordingLogger()
    await undo(fake.engine, action, logger.log)
    expect(fake.events).toEqual(calls)
    expect(logger.lines).toEqual(log)
  })

  it('passes on an engine failure', async () => {
    const { fake } = fakeWith({ web: { Running: true, Paused: true } })
    fake.failOn('unpauseContainer', 'web', new EngineError('unpause container web: boom'))
    await expect(undo(fake.engine, pause('web'), recordingLogger().log)).rejects.toThrow(
      new EngineError('unpause container web: boom')
    )
  })
})
