import { describe, expect, it } from 'vitest'
import { repositoryOf, tagOf } from '../../../src/restore/images.js'
import { locateImage } from '../../../src/verify/registry-check.js'
import { isAddressConflict } from '../../../src/restore/networks.js'

const digest = `sha256:${'c'.repeat(64)}`

describe('image references', () => {
  it.each([
    ['busybox', 'busybox', { repo: 'busybox', tag: 'latest' }],
    ['busybox:1', 'busybox', { repo: 'busybox', tag: '1' }],
    [
      '127.0.0.1:5000/team/app:v2',
      '127.0.0.1:5000/team/app',
      { repo: '127.0.0.1:5000/team/app', tag: 'v2' }
    ],
    [
      '127.0.0.1:5000/team/app',
      '127.0.0.1:5000/team/app',
      { repo: '127.0.0.1:5000/team/app', tag: 'latest' }
    ],
    [`127.0.0.1:5000/app@${digest}`, '127.0.0.1:5000/app', undefined],
    [`sha256:${'d'.repeat(64)}`, `sha256:${'d'.repeat(64)}`.split(':')[0], undefined]
  ])('%s', (reference, repository, tag) => {
    expect(repositoryOf(reference)).toBe(repository)
    expect(tagOf(reference)).toEqual(tag)
  })
})

describe('locateImage', () => {
  it.each([
    [`127.0.0.1:5000/team/app@${digest}`, { registry: '127.0.0.1:5000', repository: 'team/app' }],
    ['localhost/app:1', { registry: 'localhost', repository: 'app' }],
    ['ghcr.io/org/app:1', { registry: 'ghcr.io', repository: 'org/app' }],
    ['busybox:1', { registry: 'docker.io', repository: 'library/busybox' }],
    ['team/app', { registry: 'docker.io', repository: 'team/app' }]
  ])('%s', (reference, expected) => expect(locateImage(reference)).toEqual(expected))
})

describe('isAddressConflict', () => {
  it.each([
    ['Pool overlaps with other one on this address space', true],
    ['failed to create network x: Error response from daemon: conflicts with network abc', true],
    ['network with name x already exists', false]
  ])('%s', (message, conflict) => expect(isAddressConflict(message)).toBe(conflict))
})
