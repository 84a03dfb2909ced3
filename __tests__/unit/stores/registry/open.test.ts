import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openStore } from '../../../../src/stores/index.js'
import { RegistryStore } from '../../../../src/stores/registry/store.js'

describe('openStore for a registry', () => {
  const saved = process.env.DOCKER_CONFIG
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dst-open-registry-'))
    process.env.DOCKER_CONFIG = dir
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: { 'reg.example': { auth: Buffer.from('ci:from-config-pw').toString('base64') } }
      })
    )
  })
  afterEach(async () => {
    if (saved === undefined) delete process.env.DOCKER_CONFIG
    else process.env.DOCKER_CONFIG = saved
    await rm(dir, { recursive: true, force: true })
  })

  it('reads without touching the registry, and masks what the Docker config gives', async () => {
    const secrets: string[] = []
    const spec = {
      kind: 'registry',
      host: 'reg.example',
      repository: 'team/snaps',
      credentials: 'docker-config'
    } as const
    const store = await openStore(spec, 'read', undefined, { onSecret: s => secrets.push(s) })
    expect(store).toBeInstanceOf(RegistryStore)
    expect(store.description).toBe('registry oci://reg.example/team/snaps')
    expect(secrets).toEqual([])
    expect(await (store as RegistryStore).client.auth.credentialSource()).toContain(
      'auths reg.example'
    )
    expect(secrets).toEqual(['from-config-pw'])
  })

  it('uses the inputs, not the Docker config, when the spec says so', async () => {
    const secrets: string[] = []
    const spec = {
      kind: 'registry',
      host: 'reg.example',
      repository: 'team/snaps',
      credentials: 'inputs'
    } as const
    const store = (await openStore(spec, 'read', undefined, {
      username: 'u',
      password: 'given-pw',
      onSecret: s => secrets.push(s)
    })) as RegistryStore
    expect(await store.client.auth.credentialSource()).toBe(
      'the registry-username and registry-password inputs'
    )
    expect(secrets).toEqual([])
  })
})
