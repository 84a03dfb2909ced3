import { describe, expect, test } from 'vitest'
import { InvalidSettingsError } from '../../../src/shared/errors.js'
import { didYouMean, nearMatches } from '../../../src/shared/near-matches.js'
import type { Selection } from '../../../src/manifest/manifest.js'
import { resolveTargets } from '../../../src/snapshot/targets.js'
import { FakeEngine } from '../fakes/engine.js'

/** A shared engine: a compose project of ours, and other users' containers and volumes. */
function sharedEngine(): FakeEngine {
  const fake = new FakeEngine()
  const shop = { 'com.docker.compose.project': 'shop' }
  fake.addContainer({ name: 'shop-db', labels: { ...shop, tier: 'data' } })
  fake.addContainer({ name: 'shop-web', labels: { ...shop, tier: 'front' } })
  fake.addContainer({ name: 'alice-secret-project', labels: { owner: 'alice' } })
  fake.addContainer({ name: 'bob-ci-runner', labels: { owner: 'bob' }, state: 'exited' })
  fake.addVolume('shop-data')
  fake.addVolume('alice-private')
  return fake
}

const selection = (fields: Partial<Selection>): Selection => ({
  containers: [],
  labels: [],
  all: false,
  ...fields
})

describe('a selection that matches nothing', () => {
  test.each<[string, Partial<Selection> & { volumes?: string[] }, string]>([
    [
      'a misspelt container',
      { containers: ['shop-bd'] },
      "No container named shop-bd. Did you mean 'shop-db'? Name a container that exists"
    ],
    [
      'a container nothing is near',
      { containers: ['zzzzzz'] },
      'No container named zzzzzz. Name a container that exists (docker ps -a lists them).'
    ],
    [
      'a misspelt volume',
      { volumes: ['shop-dta'] },
      "No volume named shop-dta. Did you mean 'shop-data'? Name a volume that exists"
    ],
    [
      'a misspelt compose project',
      { composeProject: 'shpo' },
      "No container matches compose project shpo. Did you mean 'shop'?"
    ],
    [
      'a misspelt label value',
      { labels: ['tier=frnot'] },
      "No container matches labels tier=frnot. Did you mean 'tier=front'?"
    ],
    [
      'a misspelt label key',
      { labels: ['tire'] },
      "No container matches labels tire. Did you mean 'tier'?"
    ]
  ])('%s is a settings error (exit 2) with near matches only', async (_case, fields, message) => {
    const attempt = resolveTargets(
      sharedEngine().engine,
      selection(fields),
      fields.volumes ?? [],
      []
    )
    await expect(attempt).rejects.toBeInstanceOf(InvalidSettingsError)
    await expect(attempt).rejects.toThrow(message)
    // Other users' containers are not listed.
    await expect(attempt).rejects.not.toThrow(/alice|bob/)
  })
})

describe('nearMatches', () => {
  test.each([
    ['web', ['web1', 'db', 'webapp', 'api'], ['web1', 'webapp']],
    ['pstgres', ['postgres', 'redis'], ['postgres']],
    ['db', ['db1', 'dc', 'x', 'database'], ['db1', 'dc']],
    ['DB', ['db'], ['db']],
    ['web', ['web'], []],
    ['a', ['b', 'abc'], ['b']]
  ])('%s among %j', (asked, candidates, expected) => {
    expect(nearMatches(asked, candidates)).toEqual(expected)
  })

  test('shows five at most, closest first', () => {
    const names = ['app-9', 'app-1', 'app-22', 'app-3', 'app-4', 'app-5', 'ap']
    expect(nearMatches('app', names)).toEqual(['ap', 'app-1', 'app-3', 'app-4', 'app-5'])
  })

  test('didYouMean', () => {
    expect(didYouMean([])).toBe('')
    expect(didYouMean(['a'])).toBe(" Did you mean 'a'?")
    expect(didYouMean(['a', 'b', 'c'])).toBe(" Did you mean 'a', 'b' or 'c'?")
  })
})
