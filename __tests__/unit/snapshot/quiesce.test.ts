import { describe, expect, it } from 'vitest'
import type { Engine } from '../../../src/docker/engine.js'
import { EngineError } from '../../../src/errors.js'
import type { Logger } from '../../../src/log.js'
import type { QuiesceAction } from '../../../src/snapshot/quiesce.js'
import { Quiescer, undo } from '../../../src/snapshot/quiesce.js'

interface ContainerState {
  Running: boolean
  Paused: boolean
}

/**
 * The few Engine calls Quiescer uses, over containers held in memory. Every call and every
 * `persist` goes into one `events` list, so their order can be checked.
 */
class FakeEngine {
  readonly events: string[] = []
  /** `unpause web` → the error that call throws. */
  readonly failures = new Map<string, Error>()

  constructor(readonly containers: Map<string, ContainerState>) {}

  private act(call: string, id: string, change: (state: ContainerState) => void): Promise<void> {
    this.events.push(`${call} ${id}`)
    const failure = this.failures.get(`${call} ${id}`)
    if (failure) return Promise.reject(failure)
    const state = this.containers.get(id)
    if (!state) return Promise.reject(new EngineError(`${call} container ${id}: no such container`))
    change(state)
    return Promise.resolve()
  }

  pauseContainer(id: string) {
    return this.act('pause', id, state => (state.Paused = true))
  }
  unpauseContainer(id: string) {
    return this.act('unpause', id, state => (state.Paused = false))
  }
  stopContainer(id: string) {
    return this.act('stop', id, state => (state.Running = false))
  }
  startContainer(id: string) {
    return this.act('start', id, state => (state.Running = true))
  }
  findContainer(id: string): Promise<{ Id: string; State: ContainerState } | undefined> {
    this.events.push(`find ${id}`)
    const failure = this.failures.get(`find ${id}`)
    if (failure) return Promise.reject(failure)
    const state = this.containers.get(id)
    return Promise.resolve(state && { Id: id, State: { ...state } })
  }

  get engine(): Engine {
    return this as unknown as Engine
  }

  persist = (actions: QuiesceAction[]): void => {
    this.events.push(`persist [${actions.map(action => action.id).join(',')}]`)
  }
}

function recordingLogger() {
  const lines: string[] = []
  const log: Logger = {
    debug: () => undefined,
    info: message => lines.push(`info: ${message}`),
    warn: message => lines.push(`warn: ${message}`),
    group: (_title, fn) => fn()
  }
  return { log, lines }
}

const running = (): ContainerState => ({ Running: true, Paused: false })
const pause = (id: string): QuiesceAction => ({ id, name: `${id}-name`, action: 'pause' })
const stop = (id: string): QuiesceAction => ({ id, name: `${id}-name`, action: 'stop' })

function setup(ids: string[]) {
  const fake = new FakeEngine(new Map(ids.map(id => [id, running()])))
  const { log, lines } = recordingLogger()
  const quiescer = new Quiescer(fake.engine, log, fake.persist)
  return { fake, quiescer, lines }
}

describe('Quiescer', () => {
  it('persists every action before taking it', async () => {
    const { fake, quiescer, lines } = setup(['a', 'b', 'c'])
    await quiescer.quiesce([pause('a'), stop('b'), pause('c')])
    expect(fake.events).toEqual([
      'persist [a]',
      'pause a',
      'persist [a,b]',
      'stop b',
      'persist [a,b,c]',
      'pause c'
    ])
    expect(quiescer.actions).toEqual([pause('a'), stop('b'), pause('c')])
    expect(lines).toEqual(['info: pausing a-name', 'info: stopping b-name', 'info: pausing c-name'])
    expect(fake.containers.get('b')).toEqual({ Running: false, Paused: false })
  })

  it('has persisted an action whose call failed, and stops there', async () => {
    const { fake, quiescer } = setup(['a', 'b', 'c'])
    fake.failures.set('stop b', new EngineError('stop container b: timeout'))
    await expect(quiescer.quiesce([pause('a'), stop('b'), pause('c')])).rejects.toThrow(
      'stop container b: timeout'
    )
    expect(fake.events).toEqual(['persist [a]', 'pause a', 'persist [a,b]', 'stop b'])
    expect(quiescer.actions.map(action => action.id)).toEqual(['a', 'b'])
  })

  it('resumes last first, persisting after each', async () => {
    const { fake, quiescer, lines } = setup(['a', 'b', 'c'])
    await quiescer.quiesce([pause('a'), stop('b'), pause('c')])
    fake.events.length = 0
    lines.length = 0
    await quiescer.resume()
    expect(fake.events).toEqual([
      'find c',
      'unpause c',
      'persist [a,b]',
      'find b',
      'start b',
      'persist [a]',
      'find a',
      'unpause a',
      'persist []'
    ])
    expect(lines).toEqual([
      'info: resuming c-name',
      'info: starting b-name',
      'info: resuming a-name'
    ])
    expect(quiescer.actions).toEqual([])
    for (const state of fake.containers.values()) expect(state).toEqual(running())
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
    fake.failures.set('start d', new EngineError('start container d: port is already allocated'))
    fake.failures.set('find b', new Error('connect ECONNREFUSED /var/run/docker.sock'))
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
      'find d',
      'start d',
      'find c',
      'unpause c',
      'find b',
      'find a',
      'unpause a'
    ])
    expect(fake.containers.get('a')?.Paused).toBe(false)
    expect(fake.containers.get('c')?.Paused).toBe(false)
    expect(quiescer.actions).toEqual([])
  })

  it('leaves a container it could not bring back in the persisted state for the post step', async () => {
    const { fake, quiescer } = setup(['a', 'b'])
    await quiescer.quiesce([pause('a'), pause('b')])
    fake.events.length = 0
    fake.failures.set('unpause b', new EngineError('unpause container b: boom'))
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
      calls: ['find web', 'unpause web'],
      log: ['info: resuming web-name']
    },
    {
      case: 'starts a stopped container',
      action: stop('web'),
      state: { Running: false, Paused: false },
      calls: ['find web', 'start web'],
      log: ['info: starting web-name']
    },
    {
      case: 'leaves a container someone already unpaused',
      action: pause('web'),
      state: { Running: true, Paused: false },
      calls: ['find web'],
      log: []
    },
    {
      case: 'leaves a paused container that has since been stopped',
      action: pause('web'),
      state: { Running: false, Paused: false },
      calls: ['find web'],
      log: []
    },
    {
      case: 'leaves a container someone already started',
      action: stop('web'),
      state: { Running: true, Paused: false },
      calls: ['find web'],
      log: []
    },
    {
      case: 'warns about a pause target that no longer exists',
      action: pause('web'),
      state: undefined,
      calls: ['find web'],
      log: ['warn: web-name no longer exists; nothing to bring back']
    },
    {
      case: 'warns about a stop target that no longer exists',
      action: stop('web'),
      state: undefined,
      calls: ['find web'],
      log: ['warn: web-name no longer exists; nothing to bring back']
    }
  ])('$case', async ({ action, state, calls, log }) => {
    const fake = new FakeEngine(new Map(state ? [['web', state]] : []))
    const logger = recordingLogger()
    await undo(fake.engine, action, logger.log)
    expect(fake.events).toEqual(calls)
    expect(logger.lines).toEqual(log)
  })

  it('passes on an engine failure', async () => {
    const fake = new FakeEngine(new Map([['web', { Running: true, Paused: true }]]))
    fake.failures.set('unpause web', new EngineError('unpause container web: boom'))
    await expect(undo(fake.engine, pause('web'), recordingLogger().log)).rejects.toThrow(
      new EngineError('unpause container web: boom')
    )
  })
})
