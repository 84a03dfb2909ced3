import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer as createTcpServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RegistryError } from '../../../src/shared/errors.js'
import { checkRegistryReachable, imageTag, registryAuth } from '../../../src/docker/registry.js'

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

describe('registryAuth', () => {
  const saved = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, HOME: process.env.HOME }
  const restore = (name: 'DOCKER_CONFIG' | 'HOME') => {
    const value = saved[name]
    if (value === undefined) Reflect.deleteProperty(process.env, name)
    else process.env[name] = value
  }
  let dir: string

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'docker-snapshot-registry-'))
    process.env.DOCKER_CONFIG = dir
  })

  afterEach(async () => {
    restore('DOCKER_CONFIG')
    restore('HOME')
    await rm(dir, { recursive: true, force: true })
  })

  const writeConfig = (config: unknown, at = dir) =>
    writeFile(join(at, 'config.json'), JSON.stringify(config))

  it('uses the credentials given, without reading the config', async () => {
    await writeConfig({ auths: { 'ghcr.io': { auth: base64('other:pw') } } })
    expect(await registryAuth('ghcr.io', 'ci', 'token')).toEqual({
      username: 'ci',
      password: 'token',
      serveraddress: 'ghcr.io'
    })
  })

  it('uses a password given alone', async () => {
    expect(await registryAuth('127.0.0.1:5000', undefined, 'token')).toEqual({
      username: undefined,
      password: 'token',
      serveraddress: '127.0.0.1:5000'
    })
  })

  // One row a config.json shape: rows alike but for their values are the table, not copies.
  it.each<{ case: string; auths: Record<string, object>; address: string; expected: object }>([
    {
      case: 'base64 auth under the bare address',
      auths: { '127.0.0.1:5000': { auth: base64('ci:s3cret') } },
      address: '127.0.0.1:5000',
      expected: { username: 'ci', password: 's3cret', serveraddress: '127.0.0.1:5000' }
    },
    {
      case: 'a password holding colons',
      auths: { 'ghcr.io': { auth: base64('ci:a:b:c') } },
      address: 'ghcr.io',
      expected: { username: 'ci', password: 'a:b:c', serveraddress: 'ghcr.io' }
    },
    {
      case: 'an entry keyed by https://',
      auths: { 'https://registry.example.com': { auth: base64('u:p') } },
      address: 'registry.example.com',
      expected: { username: 'u', password: 'p', serveraddress: 'registry.example.com' }
    },
    {
      case: 'an entry keyed by http://',
      auths: { 'http://127.0.0.1:5000': { auth: base64('u:p') } },
      address: '127.0.0.1:5000',
      expected: { username: 'u', password: 'p', serveraddress: '127.0.0.1:5000' }
    },
    {
      case: 'the bare address before the https:// one',
      auths: {
        'https://ghcr.io': { auth: base64('https-user:x') },
        'ghcr.io': { auth: base64('bare-user:y') }
      },
      address: 'ghcr.io',
      expected: { username: 'bare-user', password: 'y', serveraddress: 'ghcr.io' }
    },
    {
      case: 'username and password fields',
      auths: { 'ghcr.io': { username: 'ci', password: 'pw' } },
      address: 'ghcr.io',
      expected: { username: 'ci', password: 'pw', serveraddress: 'ghcr.io' }
    },
    {
      case: 'fields when auth decodes without a colon',
      auths: { 'ghcr.io': { auth: base64('nocolon'), username: 'ci', password: 'pw' } },
      address: 'ghcr.io',
      expected: { username: 'ci', password: 'pw', serveraddress: 'ghcr.io' }
    },
    {
      case: 'an entry with no credentials (a credential helper login)',
      auths: { 'ghcr.io': {} },
      address: 'ghcr.io',
      expected: {}
    },
    {
      case: 'an unknown registry',
      auths: { 'ghcr.io': { auth: base64('ci:pw') } },
      address: 'quay.io',
      expected: {}
    }
  ])('reads $case from the Docker config', async ({ auths, address, expected }) => {
    await writeConfig({ auths })
    expect(await registryAuth(address)).toEqual(expected)
  })

  it('is anonymous when the config has no auths', async () => {
    await writeConfig({ credsStore: 'desktop' })
    expect(await registryAuth('ghcr.io')).toEqual({})
  })

  it('is anonymous when there is no config file', async () => {
    expect(await registryAuth('ghcr.io')).toEqual({})
  })

  it('is anonymous when the config is not JSON', async () => {
    await writeFile(join(dir, 'config.json'), '{ not json')
    expect(await registryAuth('ghcr.io')).toEqual({})
  })

  it('reads ~/.docker/config.json when DOCKER_CONFIG is unset', async () => {
    delete process.env.DOCKER_CONFIG
    process.env.HOME = dir
    await mkdir(join(dir, '.docker'))
    await writeConfig({ auths: { 'ghcr.io': { auth: base64('home:pw') } } }, join(dir, '.docker'))
    expect(await registryAuth('ghcr.io')).toEqual({
      username: 'home',
      password: 'pw',
      serveraddress: 'ghcr.io'
    })
  })
})

describe('imageTag', () => {
  it.each<{ parts: string[]; tag: string }>([
    { parts: ['20261122-063012-a1b2', 'web'], tag: '20261122-063012-a1b2-web' },
    { parts: ['snap-1', 'my/app:v1'], tag: 'snap-1-my_app_v1' },
    { parts: ['snap-1', 'image', '8f5a2ba7c4e1'], tag: 'snap-1-image-8f5a2ba7c4e1' },
    { parts: ['commit-web'], tag: 'commit-web' },
    { parts: ['source-sha256:abc'], tag: 'source-sha256_abc' },
    { parts: ['Web_1.2'], tag: 'Web_1.2' },
    { parts: ['a b', 'c@d'], tag: 'a_b-c_d' },
    { parts: ['café'], tag: 'caf_' },
    { parts: ['.hidden'], tag: 'hidden' },
    { parts: ['-x'], tag: 'x' },
    { parts: ['..-.x'], tag: 'x' },
    { parts: ['_x'], tag: '_x' }
  ])('$parts gives $tag', ({ parts, tag }) => {
    expect(imageTag(...parts)).toBe(tag)
  })

  it('caps the tag at 128 characters, ending a cut one with a digest of the whole', () => {
    const tag = imageTag('s'.repeat(100), 'c'.repeat(100))
    expect(tag).toHaveLength(128)
    expect(tag).toMatch(new RegExp(`^${'s'.repeat(100)}-${'c'.repeat(14)}-[0-9a-f]{12}$`))
    expect(imageTag('x'.repeat(128))).toBe('x'.repeat(128))
    // Two long names that share their first 128 characters still get different tags.
    expect(imageTag('x'.repeat(128), 'a')).not.toBe(imageTag('x'.repeat(128), 'b'))
  })

  it('only ever gives characters a registry accepts in a tag', () => {
    for (const parts of [['a/b:c', 'ü€'], ['.', '-', 'é'], ['x'.repeat(300)]]) {
      expect(imageTag(...parts)).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/)
    }
  })
})

describe('checkRegistryReachable', () => {
  const servers: { close(): void }[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) server.close()
  })

  async function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    return (server.address() as AddressInfo).port
  }

  /** A port nothing listens on: opened, then closed. */
  async function closedPort(): Promise<number> {
    const server = createTcpServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>(resolve => server.close(() => resolve()))
    return port
  }

  it.each([200, 401])('resolves when a plain-HTTP registry answers %i', async status => {
    const paths: string[] = []
    const port = await listen(
      createServer((request, response) => {
        paths.push(`${request.method} ${request.url}`)
        response.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0' })
        response.end('{}')
      })
    )
    await expect(checkRegistryReachable(`127.0.0.1:${port}`, 3000)).resolves.toBeUndefined()
    expect(paths).toEqual(['GET /v2/'])
  })

  it('rejects with RegistryError naming the address when nothing listens', async () => {
    const port = await closedPort()
    const error = await checkRegistryReachable(`127.0.0.1:${port}`, 3000).then(
      () => undefined,
      (failure: unknown) => failure
    )
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as Error).name).toBe('RegistryError')
    expect((error as Error).message).toBe(
      `Registry 127.0.0.1:${port} is unreachable (https: ECONNREFUSED; http: ECONNREFUSED). ` +
        'Check the registry input and that the registry is running; nothing was paused or changed.'
    )
  })

  it('gives up after the timeout when a port accepts but never answers', async () => {
    const port = await listen(createTcpServer(() => undefined))
    const started = Date.now()
    const error = await checkRegistryReachable(`127.0.0.1:${port}`, 300).then(
      () => undefined,
      (failure: unknown) => failure
    )
    expect(Date.now() - started).toBeLessThan(5000)
    expect(error).toBeInstanceOf(RegistryError)
    expect((error as Error).message).toMatch(
      new RegExp(`^Registry 127\\.0\\.0\\.1:${port} is unreachable \\(https: .+; http: .+\\)\\. `)
    )
    expect((error as Error).message).toContain('nothing was paused or changed')
  })
})
