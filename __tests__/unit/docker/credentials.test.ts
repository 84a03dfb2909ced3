import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { dockerCredentials } from '../../../src/docker/credentials.js'
import { RegistryError } from '../../../src/shared/errors.js'

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

describe('dockerCredentials', () => {
  let dir: string
  let env: NodeJS.ProcessEnv

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dst-credentials-'))
    env = { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}` }
  })
  afterEach(() => rm(dir, { recursive: true, force: true }))

  const config = (value: unknown) => writeFile(join(dir, 'config.json'), JSON.stringify(value))

  /**
   * A docker-credential-NAME script: records its argv, stdin and environment, then prints
   * `answer` (or exits with `code` and `stderr`).
   */
  async function helper(name: string, answer: string, code = 0, stderr = '') {
    const path = join(dir, `docker-credential-${name}`)
    await writeFile(
      path,
      `#!/bin/sh\necho "$@" > '${dir}/${name}.argv'\ncat > '${dir}/${name}.stdin'\n` +
        `env > '${dir}/${name}.env'\nprintf '%s' '${answer}'\nprintf '%s' '${stderr}' >&2\nexit ${code}\n`
    )
    await chmod(path, 0o755)
  }
  const recorded = (name: string, what: 'argv' | 'stdin' | 'env') =>
    readFile(join(dir, `${name}.${what}`), 'utf8')

  it('asks the credHelpers helper for the host, with the server on stdin only', async () => {
    await config({
      auths: { 'reg.example:5001': { auth: base64('file:pw') } },
      credHelpers: { 'reg.example:5001': 'dstest' },
      credsStore: 'other'
    })
    await helper('dstest', '{"ServerURL":"reg.example:5001","Username":"ci","Secret":"s3cret-pw"}')
    env.DOCKER_SNAPSHOT_REGISTRY_PASSWORD = 'input-secret'
    env['INPUT_REGISTRY-PASSWORD'] = 'action-secret'
    expect(await dockerCredentials('reg.example:5001', env)).toEqual({
      username: 'ci',
      password: 's3cret-pw',
      source: 'credential helper docker-credential-dstest'
    })
    expect((await recorded('dstest', 'argv')).trim()).toBe('get')
    expect(await recorded('dstest', 'stdin')).toBe('reg.example:5001')
    const childEnv = await recorded('dstest', 'env')
    expect(childEnv).not.toContain('input-secret')
    expect(childEnv).not.toContain('action-secret')
  })

  it('takes an identity token from a helper (user <token>) and from auths', async () => {
    await config({
      credHelpers: { 'a.example': 'dstest' },
      auths: { 'https://b.example/v1/': { identitytoken: 'refresh-b' } }
    })
    await helper('dstest', '{"Username":"<token>","Secret":"refresh-a"}')
    expect(await dockerCredentials('a.example', env)).toMatchObject({ identityToken: 'refresh-a' })
    expect(await dockerCredentials('b.example', env)).toMatchObject({ identityToken: 'refresh-b' })
  })

  it('reads auths before the credsStore, and asks the credsStore for other hosts', async () => {
    await config({ auths: { 'a.example': { auth: base64('ci:a:b') } }, credsStore: 'dstest' })
    await helper('dstest', '{"Username":"store-user","Secret":"store-pw"}')
    expect(await dockerCredentials('a.example', env)).toMatchObject({
      username: 'ci',
      password: 'a:b'
    })
    expect(await dockerCredentials('c.example', env)).toMatchObject({
      username: 'store-user',
      password: 'store-pw'
    })
  })

  it('has none when the helper knows nothing of the host', async () => {
    await config({ credsStore: 'dstest' })
    await helper('dstest', 'credentials not found in native keychain', 1)
    expect(await dockerCredentials('c.example', env)).toBeUndefined()
  })

  it('has none when the default credsStore helper is not installed', async () => {
    await config({ credsStore: 'not-installed-here' })
    expect(await dockerCredentials('c.example', env)).toBeUndefined()
  })

  it('fails, naming the helper, when a host helper is missing or fails', async () => {
    await config({ credHelpers: { 'a.example': 'not-installed-here', 'b.example': 'dstest' } })
    await expect(dockerCredentials('a.example', env)).rejects.toThrow(RegistryError)
    await expect(dockerCredentials('a.example', env)).rejects.toThrow(
      /docker-credential-not-installed-here .*failed for a\.example/
    )
    await helper('dstest', '', 3, 'keychain locked')
    await expect(dockerCredentials('b.example', env)).rejects.toThrow(
      /exit code 3: keychain locked/
    )
  })

  it('has none without a config, or with one that is not JSON', async () => {
    expect(await dockerCredentials('a.example', env)).toBeUndefined()
    await writeFile(join(dir, 'config.json'), '{ nope')
    expect(await dockerCredentials('a.example', env)).toBeUndefined()
  })
})
