import { describe, expect, it } from 'vitest'
import { readSettings } from '../../../src/app/settings.js'
import type { InputName } from '../../../src/app/inputs.js'
import { parseStoreSpec } from '../../../src/stores/spec.js'

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
