import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createPrivateKey, randomBytes, sign } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import bcrypt from 'bcryptjs'

/** How a test registry asks for credentials. */
export type RegistryAuthKind = 'none' | 'basic' | 'bearer'

/** A `docker-registry serve` of its own on loopback, behind a proxy that records each request. */
export interface TestRegistry {
  /** `127.0.0.1:PORT` of the recording proxy: what clients use. */
  host: string
  username: string
  password: string
  /** `METHOD /path?query` of every request through the proxy, in order. */
  requests: string[]
  /** Token requests (`scope` values) the token server answered, for `bearer`. */
  tokenScopes: string[][]
  /**
   * When set, asked for each request (`METHOD /path?query`): a status makes the proxy answer it
   * instead of the registry, with a registry error body saying `quota exceeded`.
   */
  refuse?: (request: string) => number | undefined
  stop(): Promise<void>
}

const SERVICE = 'dst-registry-test'
const ISSUER = 'dst-registry-test-issuer'

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

function listen(server: Server): Promise<number> {
  return new Promise(resolve =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  )
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url')

/**
 * A token server as distribution's `auth.token` expects: GET /token?service&scope with Basic
 * credentials, answering an RS256 JWT whose `x5c` names the certificate in `rootcertbundle`.
 */
async function startTokenServer(
  dir: string,
  username: string,
  password: string,
  scopes: string[][]
): Promise<{ server: Server; realm: string; certificate: string }> {
  const key = join(dir, 'token.key')
  const certificate = join(dir, 'token.crt')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      certificate,
      '-days',
      '2',
      '-subj',
      '/CN=dst-registry-test-token'
    ],
    { stdio: 'ignore' }
  )
  const privateKey = createPrivateKey(await readFile(key))
  const der = (await readFile(certificate, 'utf8'))
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '')
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://token')
    const scope = url.searchParams.getAll('scope')
    scopes.push(scope)
    if (request.headers.authorization !== expected) {
      response.writeHead(401, { 'content-type': 'application/json' })
      response.end('{"details":"wrong credentials"}')
      return
    }
    const now = Math.floor(Date.now() / 1000)
    const access = scope.flatMap(each => {
      const [type, name, actions] = each.split(':')
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : []
    })
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [der] }))
    const claims = base64url(
      JSON.stringify({
        iss: ISSUER,
        sub: username,
        aud: SERVICE,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString('hex'),
        access
      })
    )
    const signature = base64url(sign('sha256', Buffer.from(`${header}.${claims}`), privateKey))
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 300 }))
  })
  const port = await listen(server)
  return { server, realm: `http://127.0.0.1:${port}/token`, certificate }
}

/** Starts a registry storing in `dir` (which it creates); `stop` ends every process it started. */
export async function startRegistry(dir: string, kind: RegistryAuthKind): Promise<TestRegistry> {
  await mkdir(join(dir, 'data'), { recursive: true })
  const username = 'dstest'
  const password = `pw-${randomBytes(6).toString('hex')}`
  const requests: string[] = []
  const tokenScopes: string[][] = []
  const servers: Server[] = []
  let auth = ''
  if (kind === 'basic') {
    await writeFile(join(dir, 'htpasswd'), `${username}:${bcrypt.hashSync(password, 8)}\n`)
    auth = `auth:\n  htpasswd:\n    realm: dst-test\n    path: ${join(dir, 'htpasswd')}\n`
  } else if (kind === 'bearer') {
    const token = await startTokenServer(dir, username, password, tokenScopes)
    servers.push(token.server)
    auth =
      `auth:\n  token:\n    realm: ${token.realm}\n    service: ${SERVICE}\n` +
      `    issuer: ${ISSUER}\n    rootcertbundle: ${token.certificate}\n`
  }
  const registryPort = await freePort()
  const config = join(dir, 'config.yml')
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
      `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${registryPort}\n${auth}`
  )
  const child: ChildProcess = spawn('docker-registry', ['serve', config], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let log = ''
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  // The proxy keeps the Host header, so the registry's Location URLs point back at the proxy.
  const proxy = createServer((incoming, outgoing) => {
    const line = `${incoming.method} ${incoming.url}`
    requests.push(line)
    const refused = registry.refuse?.(line)
    if (refused !== undefined) {
      incoming.resume()
      outgoing.writeHead(refused, { 'content-type': 'application/json' })
      outgoing.end('{"errors":[{"code":"DENIED","message":"quota exceeded"}]}')
      return
    }
    const forward = httpRequest(
      {
        host: '127.0.0.1',
        port: registryPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers
      },
      answer => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(outgoing)
      }
    )
    forward.on('error', error => outgoing.destroy(error))
    incoming.pipe(forward)
  })
  servers.push(proxy)
  const host = `127.0.0.1:${await listen(proxy)}`
  const stop = async () => {
    process.removeListener('exit', killOnExit)
    child.kill('SIGTERM')
    for (const server of servers) {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
  const registry: TestRegistry = { host, username, password, requests, tokenScopes, stop }
  for (let tries = 0; ; tries++) {
    const answered = await fetch(`http://127.0.0.1:${registryPort}/v2/`).then(
      () => true,
      () => false
    )
    if (answered) break
    if (tries > 120 || child.exitCode !== null) {
      await stop()
      throw new Error(`docker-registry did not start on 127.0.0.1:${registryPort}: ${log}`)
    }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return registry
}
