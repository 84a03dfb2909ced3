import { describe, expect, it } from 'vitest'
import { readSettings } from '../../../src/app/settings.js'
import type { InputName } from '../../../src/app/inputs.js'

import { InvalidSettingsError } from '../../../src/shared/errors.js'
import {
  type StoreInputName,
  parseStoreSpec,
  readStoreSpec,
  secretsOf,
  withoutSecrets
} from '../../../src/stores/spec.js'

describe('parseStoreSpec', () => {
  it.each([
    ['oci://127.0.0.1:5000/team/snaps', '127.0.0.1:5000', 'team/snaps'],
    ['oci://ghcr.io/org/repo.name/snap_shots', 'ghcr.io', 'org/repo.name/snap_shots'],
    ['oci://localhost/snaps', 'localhost', 'snaps'],
    ['oci://[::1]:5000/a-b/c__d', '[::1]:5000', 'a-b/c__d']
  ])('reads %s', (value, host, repository) => {
    expect(parseStoreSpec(value)).toEqual({
      kind: 'registry',
      host,
      repository,
      credentials: 'docker-config'
    })
  })
})

describe('readSettings: credentials of a registry store', () => {
  const read = (inputs: Partial<Record<InputName, string>>) =>
    readSettings(name => inputs[name] ?? '')

  it('takes registry-username and registry-password for a store alone, as a secret', () => {
    const settings = read({
      store: 'oci://reg.example/snaps',
      'registry-username': 'ci',
      'registry-password': 'pa55word'
    })
    expect(settings.store).toMatchObject({ credentials: 'inputs' })
    expect(settings.storeCredentials).toEqual({ username: 'ci', password: 'pa55word' })
    expect(settings.secrets).toContain('pa55word')
    expect(JSON.stringify(settings.store)).not.toContain('pa55word')
  })

  it('takes them for a store on the image registry host, not on another', () => {
    const same = read({
      store: 'oci://reg.example/snaps',
      registry: 'reg.example',
      'registry-password': 'pa55word'
    })
    expect(same.store).toMatchObject({ credentials: 'inputs' })
    const other = read({
      store: 'oci://other.example/snaps',
      registry: 'reg.example',
      'registry-password': 'pa55word'
    })
    expect(other.store).toMatchObject({ credentials: 'docker-config' })
    expect(other.storeCredentials).toBeUndefined()
  })

  it('uses the Docker config without them', () => {
    expect(read({ store: 'oci://reg.example/snaps' }).store).toMatchObject({
      credentials: 'docker-config'
    })
  })
})

const inActions = { GITHUB_ACTIONS: 'true' }
const read = (inputs: Partial<Record<StoreInputName, string>>, env: NodeJS.ProcessEnv = {}) =>
  readStoreSpec(name => inputs[name] ?? '', env)

describe('readStoreSpec', () => {
  it('defaults to workflow artifacts inside GitHub Actions and a directory elsewhere', () => {
    expect(read({}, inActions)).toEqual({ kind: 'artifact' })
    expect(read({}, { GITHUB_ACTIONS: 'false' })).toEqual({
      kind: 'directory',
      path: '.docker-snapshots'
    })
    expect(read({ store: ' ' }, {})).toEqual({ kind: 'directory', path: '.docker-snapshots' })
    // given explicitly, a directory stays a directory inside Actions
    expect(read({ store: 'snaps' }, inActions)).toEqual({ kind: 'directory', path: 'snaps' })
    expect(read({ store: 'dir:artifact' }, inActions)).toEqual({
      kind: 'directory',
      path: 'artifact'
    })
  })

  it('reads the artifact inputs, the token as a secret kept out of saved state', () => {
    const spec = read({
      store: 'artifact',
      'retention-days': '7',
      'run-id': '123456789',
      'run-repository': 'octo-org/app',
      'github-token': 'ghs_secret_value'
    })
    expect(spec).toEqual({
      kind: 'artifact',
      retentionDays: 7,
      runId: 123456789,
      repository: 'octo-org/app',
      token: 'ghs_secret_value'
    })
    expect(secretsOf(spec)).toEqual(['ghs_secret_value'])
    expect(JSON.stringify(withoutSecrets(spec))).not.toContain('ghs_secret_value')
    expect(withoutSecrets(spec)).toEqual({
      kind: 'artifact',
      retentionDays: 7,
      runId: 123456789,
      repository: 'octo-org/app'
    })
  })

  it('reads the cache key, defaulting to docker-snapshot', () => {
    expect(read({ store: 'cache' })).toEqual({ kind: 'cache', key: 'docker-snapshot' })
    expect(read({ store: 'cache', 'cache-key': 'db-linux' })).toEqual({
      kind: 'cache',
      key: 'db-linux'
    })
  })

  it.each<[Partial<Record<StoreInputName, string>>, RegExp]>([
    [{ store: 'artifact', 'retention-days': '0' }, /retention-days '0'.*1 to 90/],
    [{ store: 'artifact', 'retention-days': '91' }, /1 to 90/],
    [{ store: 'artifact', 'run-id': '12a' }, /run-id '12a'.*positive whole number/],
    [{ store: 'artifact', 'run-repository': 'just-a-name' }, /owner\/name/],
    [{ store: 'cache', 'cache-key': 'a,b' }, /without commas/],
    [
      { store: 'cache', 'run-id': '5' },
      /run-id '5' is set, but the store is cache.*store: artifact/
    ],
    [{ store: '/srv/snaps', 'github-token': 'x' }, /github-token is set.*directory \/srv\/snaps/],
    [{ store: 'artifact', 'cache-key': 'k' }, /cache-key is for store: cache/],
    [{ store: 's3:bucket' }, /'s3:' is no kind of store.*artifact, cache/]
  ])('refuses %j', (inputs, message) => {
    expect(() => read(inputs)).toThrow(InvalidSettingsError)
    expect(() => read(inputs)).toThrow(message)
  })

  it('never shows the token in an error', () => {
    let message = ''
    try {
      read({ store: 'cache', 'github-token': 'ghs_do_not_show' })
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/github-token is set/)
    expect(message).not.toContain('ghs_do_not_show')
  })
})
