import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { checkRegistryReachable } from '../../../src/docker/registry.js'
import { checkRegistryManifest } from '../../../src/verify/registry-check.js'

const digest = `sha256:${'d'.repeat(64)}`

describe('a plain-HTTP registry (an insecure registry; one rule, wherever it is)', () => {
  const servers: Server[] = []
  afterEach(() => {
    for (const server of servers.splice(0)) server.close()
  })

  /** A registry over plain HTTP that holds `digest` and wants Basic ci:hunter22. */
  async function insecureRegistry(): Promise<{ address: string; seen: string[] }> {
    const seen: string[] = []
    const server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`)
      const authorized = request.headers.authorization === `Basic ${btoa('ci:hunter22')}`
      if (request.url !== '/v2/' && !authorized) {
        response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' })
        response.end()
        return
      }
      const found = request.url === '/v2/team/snapshots/manifests/' + digest
      response.writeHead(found || request.url === '/v2/' ? 200 : 404, {
        'Docker-Content-Digest': digest
      })
      response.end()
    })
    servers.push(server)
    // Loopback only: the rule (https, then plain http) does not depend on the address.
    const host = '127.0.0.1'
    await new Promise<void>(resolve => server.listen(0, host, resolve))
    return { address: `${host}:${(server.address() as AddressInfo).port}`, seen }
  }

  it('is reached by verify as it was by snapshot: https first, then http', async () => {
    const { address, seen } = await insecureRegistry()
    await expect(checkRegistryReachable(address, 3000)).resolves.toBeUndefined()
    const presence = await checkRegistryManifest(
      { registry: address, repository: 'team/snapshots' },
      digest,
      { username: 'ci', password: 'hunter22' },
      3000
    )
    expect(presence).toEqual({ found: true, detail: `${address} has team/snapshots@${digest}` })
    expect(seen).toEqual(['GET /v2/', `HEAD /v2/team/snapshots/manifests/${digest}`])
  })

  it('reports a manifest it no longer has as missing, not as unreachable', async () => {
    const { address } = await insecureRegistry()
    const other = `sha256:${'e'.repeat(64)}`
    const presence = await checkRegistryManifest(
      { registry: address, repository: 'team/snapshots' },
      other,
      { username: 'ci', password: 'hunter22' },
      3000
    )
    expect(presence).toEqual({
      found: false,
      detail: `${address} no longer has team/snapshots@${other} (404)`
    })
  })
})
