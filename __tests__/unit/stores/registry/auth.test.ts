import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Authenticator, parseChallenges } from '../../../../src/stores/registry/auth.js'
import { StoreError } from '../../../../src/shared/errors.js'
import { isLoopback } from '../../../../src/stores/registry/client.js'

describe('parseChallenges', () => {
  it.each([
    {
      header: 'Basic realm="Registry Realm"',
      expected: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]
    },
    {
      header:
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:team/snaps:pull,push"',
      expected: [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:team/snaps:pull,push'
          }
        }
      ]
    },
    {
      header: 'BEARER Realm=https://h/token , Service=reg',
      expected: [{ scheme: 'bearer', params: { realm: 'https://h/token', service: 'reg' } }]
    },
    {
      header: 'Bearer realm="a \\"quoted\\" realm, with comma"',
      expected: [{ scheme: 'bearer', params: { realm: 'a "quoted" realm, with comma' } }]
    },
    {
      header: 'Basic realm="x", Bearer realm="https://h/t",service="s"',
      expected: [
        { scheme: 'basic', params: { realm: 'x' } },
        { scheme: 'bearer', params: { realm: 'https://h/t', service: 's' } }
      ]
    },
    { header: 'Negotiate', expected: [{ scheme: 'negotiate', params: {} }] },
    { header: '', expected: [] }
  ])('reads $header', ({ header, expected }) => {
    expect(parseChallenges(header)).toEqual(expected)
  })

  it('refuses an unterminated quoted value', () => {
    expect(() => parseChallenges('Bearer realm="https://h/t')).toThrow(/unterminated/)
  })
})

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.8.9.10', true],
    ['localhost:5000', true],
    ['[::1]:5000', true],
    ['ghcr.io', false],
    ['10.0.0.1:5000', false],
    ['127.0.0.1.example.com', false],
    ['localhost.example.com:5000', false]
  ])('%s: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected)
  })
})

describe('Authenticator', () => {
  let server: Server | undefined
  afterEach(
    () => new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve()))
  )

  /** A token server that counts requests per scope and answers with a token naming it. */
  async function tokenServer(status = 200) {
    const seen: { scope: string[]; authorization?: string; method: string; body: string }[] = []
    server = createServer((request: IncomingMessage, response) => {
      let body = ''
      request.on('data', (chunk: Buffer) => (body += chunk.toString()))
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://x')
        const scope =
          request.method === 'POST'
            ? new URLSearchParams(body).getAll('scope')
            : url.searchParams.getAll('scope')
        seen.push({
          scope,
          authorization: request.headers.authorization,
          method: request.method ?? '',
          body
        })
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ token: `token-${seen.length}`, expires_in: 300 }))
      })
    })
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    return { realm: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, seen }
  }

  const place = { host: 'reg.example', repository: 'team/snaps' }

  it('sends nothing before a challenge, then Basic with the credentials', async () => {
    const auth = new Authenticator(place, async () => ({
      username: 'ci',
      password: 'pw',
      source: 'test'
    }))
    expect(await auth.header('repository:team/snaps:pull')).toBeUndefined()
    expect(await auth.learn('Basic realm="r"', 'repository:team/snaps:pull')).toBe(true)
    expect(await auth.header('repository:team/snaps:pull')).toBe(
      `Basic ${Buffer.from('ci:pw').toString('base64')}`
    )
    // Refused once with them: trying again cannot help.
    expect(await auth.learn('Basic realm="r"', 'repository:team/snaps:pull')).toBe(false)
  })

  it('does not retry a Basic challenge without credentials', async () => {
    const auth = new Authenticator(place, async () => undefined)
    expect(await auth.learn('Basic realm="r"', 'x')).toBe(false)
    expect(await auth.credentialSource()).toMatch(/anonymous/)
  })

  it('gets a Bearer token per scope, with Basic credentials, and reuses it', async () => {
    const { realm, seen } = await tokenServer()
    let asked = 0
    const auth = new Authenticator(place, async () => {
      asked++
      return { username: 'ci', password: 'pw', source: 'test' }
    })
    await auth.learn(`Bearer realm="${realm}",service="reg"`, 'repository:team/snaps:pull')
    expect(await auth.header('repository:team/snaps:pull')).toBe('Bearer token-1')
    expect(await auth.header('repository:team/snaps:pull')).toBe('Bearer token-1')
    expect(await auth.header('repository:team/snaps:pull,push')).toBe('Bearer token-2')
    expect(seen.map(s => s.scope)).toEqual([
      ['repository:team/snaps:pull'],
      ['repository:team/snaps:pull,push']
    ])
    expect(seen[0].authorization).toBe(`Basic ${Buffer.from('ci:pw').toString('base64')}`)
    expect(asked).toBe(1)
  })

  it('asks for several scopes at once', async () => {
    const { realm, seen } = await tokenServer()
    const auth = new Authenticator(place, async () => undefined)
    await auth.learn(`Bearer realm="${realm}"`, 'a b')
    await auth.header('repository:a:pull,push repository:b:pull')
    expect(seen[0].scope).toEqual(['repository:a:pull,push', 'repository:b:pull'])
    expect(seen[0].authorization).toBeUndefined()
  })

  it('exchanges an identity token with a POST, never in the URL', async () => {
    const { realm, seen } = await tokenServer()
    const auth = new Authenticator(place, async () => ({
      identityToken: 'refresh-s3cret',
      source: 'test'
    }))
    await auth.learn(`Bearer realm="${realm}",service="reg"`, 'repository:team/snaps:pull')
    expect(await auth.header('repository:team/snaps:pull')).toBe('Bearer token-1')
    expect(seen[0].method).toBe('POST')
    const form = new URLSearchParams(seen[0].body)
    expect(form.get('grant_type')).toBe('refresh_token')
    expect(form.get('refresh_token')).toBe('refresh-s3cret')
    expect(form.get('service')).toBe('reg')
  })

  it('says the token server refused the credentials, without them', async () => {
    const { realm } = await tokenServer(401)
    const auth = new Authenticator(place, async () => ({
      username: 'ci',
      password: 'wrong-pw',
      source: 'the inputs'
    }))
    await auth.learn(`Bearer realm="${realm}"`, 'repository:team/snaps:pull')
    const failure = await auth.header('repository:team/snaps:pull').catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(StoreError)
    expect((failure as Error).message).toMatch(/refused the credentials from the inputs \(401\)/)
    expect((failure as Error).message).not.toContain('wrong-pw')
  })

  it('refuses a challenge it cannot answer', async () => {
    const auth = new Authenticator(place, async () => undefined)
    await expect(auth.learn('Negotiate', 'x')).rejects.toThrow(/offered: negotiate/)
    await expect(auth.learn(null, 'x')).rejects.toThrow(/no WWW-Authenticate header/)
  })
})
