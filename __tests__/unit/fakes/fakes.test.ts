import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { EngineError, HealthError, NotFoundError, StoreError } from '../../../src/shared/errors.js'
import { FakeEngine, filesOf, tarOf } from './engine.js'
import { FakeStore } from './store.js'

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error as Error
  )
}

describe('FakeEngine refuses what the engine refuses', () => {
  it.each<{ case: string; act: (fake: FakeEngine) => Promise<unknown>; error: RegExp }>([
    {
      case: 'pausing a paused container',
      act: fake => fake.pauseContainer('web'),
      error: /^pause container web failed: Container \w+ is already paused$/
    },
    {
      case: 'unpausing a running container',
      act: fake => fake.unpauseContainer('db'),
      error: /^unpause container db failed: Container \w+ is not paused$/
    },
    {
      case: 'pausing a stopped container',
      act: fake => fake.pauseContainer('old'),
      error: /^pause container old failed: Container \w+ is not running$/
    },
    {
      case: 'exec in a paused container',
      act: fake => fake.exec('web', ['true'], 1000),
      error: /is paused, unpause the container before exec$/
    },
    {
      case: 'creating a container under a taken name',
      act: fake => fake.createContainer({ name: 'db', Image: 'docker-snapshot-test/busybox:1' }),
      error: /^create container db failed: Conflict\. The container name "\/db" is already in use/
    },
    {
      case: 'removing a volume in use, even by a stopped container',
      act: fake => fake.removeVolume('olddata'),
      error: /^remove volume olddata failed: remove olddata: volume is in use - \[\w+\]$/
    },
    {
      case: 'removing a running container without force',
      act: fake => fake.removeContainer('db'),
      error: /You cannot remove a running container/
    },
    {
      case: 'creating a network under a taken name',
      act: fake => fake.createNetwork({ Name: 'backend' }),
      error: /^create network backend failed: network with name backend already exists$/
    },
    {
      case: 'removing a network a running container uses',
      act: fake => fake.removeNetwork('backend'),
      error: /has active endpoints$/
    }
  ])('$case: EngineError', async ({ act, error }) => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'web', state: 'paused' })
    fake.addContainer({ name: 'db', networks: ['backend'] })
    fake.addContainer({
      name: 'old',
      state: 'exited',
      volumes: [{ name: 'olddata', destination: '/data' }]
    })
    const before = fake.states()
    const failure = await rejection(act(fake))
    expect(failure).toBeInstanceOf(EngineError)
    expect(failure.message).toMatch(error)
    expect(fake.states()).toEqual(before)
    expect(fake.names.volumes).toEqual(['olddata'])
    expect(fake.names.networks).toEqual(['backend'])
  })

  it.each<{ case: string; act: (fake: FakeEngine) => Promise<unknown>; error: string }>([
    {
      case: 'inspect',
      act: fake => fake.inspectContainer('nope'),
      error: 'inspect container nope: No such container: nope'
    },
    {
      case: 'read volume',
      act: fake => fake.readVolume('nope', () => Promise.resolve()),
      error: 'inspect volume nope: get nope: no such volume'
    },
    {
      case: 'create from a missing image',
      act: fake => fake.createContainer({ name: 'x', Image: 'missing:1' }),
      error: 'create container x: No such image: missing:1'
    },
    {
      case: 'pull of what the registry lacks',
      act: fake => fake.pullImage('127.0.0.1:5000/x:1', {}),
      error: 'pull 127.0.0.1:5000/x:1: manifest for 127.0.0.1:5000/x:1 not found: manifest unknown'
    }
  ])('$case of what is not there: NotFoundError', async ({ act, error }) => {
    const failure = await rejection(act(new FakeEngine()))
    expect(failure).toBeInstanceOf(NotFoundError)
    expect(failure.message).toBe(error)
  })

  it('finds nothing rather than failing', async () => {
    const fake = new FakeEngine()
    expect(await fake.findContainer('nope')).toBeUndefined()
    expect(await fake.findVolume('nope')).toBeUndefined()
    expect(await fake.findImage('nope:1')).toBeUndefined()
    expect(await fake.findNetwork('nope')).toBeUndefined()
  })
})

describe('FakeEngine models', () => {
  it('volume contents as tars, read and written', async () => {
    const fake = new FakeEngine()
    fake.addVolume('data', [
      { name: 'dir', type: 'directory' },
      { name: 'dir/a.txt', content: 'alpha' }
    ])
    const archive = await fake.readVolume('data', tar => buffer(tar))
    expect(await filesOf(archive)).toEqual(new Map([['dir/a.txt', 'alpha']]))
    fake.addVolume('copy')
    await fake.writeVolume('copy', Readable.from([archive]), Buffer.alloc(0))
    expect(await fake.volumeFiles('copy')).toEqual(new Map([['dir/a.txt', 'alpha']]))
  })

  it('bind mounts as the host path they name', async () => {
    const fake = new FakeEngine()
    await fake.setHostPath('/srv/conf', [{ name: 'app.conf', content: 'port=80' }])
    fake.addContainer({ name: 'web', binds: [{ source: '/srv/conf', destination: '/etc/app' }] })
    const archive = await fake.readContainerPath('web', '/etc/app', tar => buffer(tar))
    expect(await filesOf(archive)).toEqual(new Map([['app.conf', 'port=80']]))
    expect(fake.container('web').Mounts[0]).toMatchObject({ Type: 'bind', RW: true })
  })

  it('commit, push and pull through a registry', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'web', env: ['A=1'] })
    const id = await fake.commitContainer('web', {
      repo: 'reg/snap',
      tag: 't1',
      pause: false,
      comment: ''
    })
    const digest = await fake.pushImage('reg/snap', 't1', {})
    expect(fake.registryReferences).toEqual(['reg/snap:t1', `reg/snap@${digest}`])
    await fake.removeImage('reg/snap:t1')
    expect(await fake.findImage(id)).toBeUndefined()
    await fake.pullImage(`reg/snap@${digest}`, {})
    expect((await fake.findImage(`reg/snap@${digest}`))?.Config.Env).toEqual(['A=1'])
  })

  it('save and load', async () => {
    const fake = new FakeEngine()
    const image = fake.addImage('app:1', { env: ['X=y'] })
    const saved = await buffer(await fake.saveImages(['app:1']))
    const other = new FakeEngine()
    expect(await other.loadImages(Readable.from([saved]))).toEqual(['app:1'])
    expect((await other.findImage('app:1'))?.Id).toBe(image.Id)
    const garbage = await rejection(other.loadImages(Readable.from([await tarOf([])])))
    expect(garbage).toBeInstanceOf(EngineError)
  })

  it('health: running, healthy, or a HealthError without waiting', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'plain' })
    fake.addContainer({ name: 'good', health: 'healthy' })
    fake.addContainer({ name: 'slow', health: 'starting' })
    fake.addContainer({ name: 'down', state: 'exited' })
    expect(await fake.waitHealthy('plain', 1000)).toBe('running')
    expect(await fake.waitHealthy('good', 1000)).toBe('healthy')
    await expect(fake.waitHealthy('slow', 3000)).rejects.toThrow(
      new HealthError(
        'container slow is still starting after 3 s; last health check said: fake health check'
      )
    )
    await expect(fake.waitHealthy('down', 1000)).rejects.toBeInstanceOf(HealthError)
  })

  it('scripted exec answers, newest first, by container and command', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'db' })
    fake.addContainer({ name: 'web' })
    fake.answerExec('db', 'psql -c select', { exitCode: 0, output: '3 rows' })
    fake.answerExec(/./, /^hostname$/, container => ({ exitCode: 0, output: container.Name }))
    expect(await fake.exec('db', ['psql', '-c', 'select'], 1000)).toEqual({
      exitCode: 0,
      output: '3 rows'
    })
    expect((await fake.exec('web', ['hostname'], 1000)).output).toBe('/web')
    expect(await fake.exec('web', ['true'], 1000)).toEqual({ exitCode: 0, output: '' })
  })
})

describe('FakeEngine fault injection', () => {
  it('fails the matching call with a default EngineError, logging every call', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'a' })
    fake.addContainer({ name: 'b' })
    fake.failOn('pauseContainer', 'b')
    await fake.pauseContainer('a')
    await expect(fake.pauseContainer('b')).rejects.toThrow(
      new EngineError('pause container b failed: injected fault')
    )
    expect(fake.events).toEqual(['pauseContainer a', 'pauseContainer b'])
    expect(fake.states()).toEqual({ a: 'paused', b: 'running' })
  })

  it('fails only the nth call, or only so many times', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'a' })
    const boom = new Error('boom')
    fake.failOn('exec', /true/, boom, { nth: 2 })
    fake.failOn('stopContainer', undefined, boom, { times: 1 })
    await fake.exec('a', ['true'], 1)
    await expect(fake.exec('a', ['true'], 1)).rejects.toBe(boom)
    await fake.exec('a', ['true'], 1)
    await expect(fake.stopContainer('a')).rejects.toBe(boom)
    await fake.stopContainer('a')
    expect(fake.states()).toEqual({ a: 'exited' })
  })

  it('breaks a volume stream after some bytes', async () => {
    const fake = new FakeEngine()
    fake.addVolume('data', [{ name: 'big', content: 'x'.repeat(10_000) }])
    fake.failOn('readVolume', 'data', new Error('unexpected EOF'), { afterBytes: 3000 })
    let read = 0
    const failure = await rejection(
      fake.readVolume('data', async tar => {
        for await (const chunk of tar as AsyncIterable<Buffer>) read += chunk.length
      })
    )
    expect(failure.message).toBe('unexpected EOF')
    expect(read).toBe(3000)
  })

  it('runs a before hook as the call begins', async () => {
    const fake = new FakeEngine()
    fake.addContainer({ name: 'a' })
    const abort = new AbortController()
    fake.before('commitContainer', () => abort.abort(), 'a')
    await fake.commitContainer('a', { repo: 'r', tag: 't', pause: false, comment: '' })
    expect(abort.signal.aborted).toBe(true)
  })
})

describe('FakeStore', () => {
  it('keeps objects whole, shows a snapshot only once published, lists it', async () => {
    const store = new FakeStore()
    const s1 = await store.begin('s1')
    expect(await s1.put('volumes/a', Readable.from([Buffer.from('abc')]))).toBe(3)
    await s1.put('manifest.json', Readable.from(['{}']))
    const s2 = await store.begin('s2')
    await s2.put('volumes/a', Readable.from(['x']))
    expect(await store.list()).toEqual([])
    expect(store.stagedIds).toEqual(['s1', 's2'])
    await s1.publish({ replace: false })
    await s2.publish({ replace: false })
    const listed = await store.list()
    expect(listed.map(s => [s.snapshotId, s.hasManifest])).toEqual([
      ['s1', true],
      ['s2', false]
    ])
    expect((await buffer(await store.get('s1', 'volumes/a'))).toString()).toBe('abc')
    await expect(store.get('s2', 'nope')).rejects.toThrow(
      new StoreError(
        'object nope of snapshot s2 is not in fake store; the snapshot is incomplete or damaged'
      )
    )
  })

  it('publishes over an existing snapshot only with replace, and not while it is held', async () => {
    const store = new FakeStore().seed('s1', 'manifest.json', 'old')
    const writer = await store.begin('s1')
    await writer.put('manifest.json', Readable.from(['new']))
    await expect(writer.publish({ replace: false })).rejects.toBeInstanceOf(StoreError)
    const hold = await store.hold('s1')
    expect(await store.delete('s1')).toBe('held')
    await expect(writer.publish({ replace: true })).rejects.toThrow(/is being read by/)
    expect(store.object('s1', 'manifest.json')?.toString()).toBe('old')
    await hold.release()
    await writer.publish({ replace: true })
    expect(store.object('s1', 'manifest.json')?.toString()).toBe('new')
    expect(store.stagedIds).toEqual([])
  })

  it('fails a put midway and keeps nothing of the object', async () => {
    const store = new FakeStore()
    store.failOn('put', 's1/volumes/a', undefined, { afterBytes: 4 })
    const source = Readable.from([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')])
    const writer = await store.begin('s1')
    await expect(writer.put('volumes/a', source)).rejects.toBeInstanceOf(StoreError)
    expect(source.destroyed).toBe(true)
    await writer.publish({ replace: false })
    expect(store.objects('s1')).toEqual([])
    expect(store.events).toEqual(['begin s1', 'put s1/volumes/a', 'publish s1'])
  })

  it.each<{ call: 'get' | 'has' | 'list' | 'delete'; act: (store: FakeStore) => Promise<unknown> }>(
    [
      { call: 'get', act: store => store.get('s1', 'x') },
      { call: 'has', act: store => store.has('s1', 'x') },
      { call: 'list', act: store => store.list() },
      { call: 'delete', act: store => store.delete('s1') }
    ]
  )('fails $call with a StoreError and changes nothing', async ({ call, act }) => {
    const store = new FakeStore().seed('s1', 'x', 'kept')
    store.failOn(call)
    await expect(act(store)).rejects.toBeInstanceOf(StoreError)
    expect(store.object('s1', 'x')?.toString()).toBe('kept')
  })
})
