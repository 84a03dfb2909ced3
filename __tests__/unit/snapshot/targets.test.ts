import { describe, expect, test } from 'vitest'
import type { Engine } from '../../../src/docker/engine.js'
import { InvalidSettingsError } from '../../../src/errors.js'
import { didYouMean, nearMatches } from '../../../src/near-matches.js'
import { resolveTargets, type Selection } from '../../../src/snapshot/targets.js'

interface Listed {
  name: string
  labels: Record<string, string>
}

/** The Engine calls resolveTargets makes before it can fail on a name: a shared engine's list. */
function engineWith(containers: Listed[]): Engine {
  const fake = {
    listContainers: (filters: Record<string, string[]> = {}) => {
      const wanted = filters.label ?? []
      return Promise.resolve(
        containers
          .filter(c =>
            wanted.every(filter => {
              const [key = '', value] = filter.split('=')
              return value === undefined ? key in c.labels : c.labels[key] === value
            })
          )
          .map(c => ({ Id: c.name, Names: [`/${c.name}`], Labels: c.labels }))
      )
    },
    findContainer: () => Promise.resolve(undefined),
    findVolume: () => Promise.resolve(undefined),
    listVolumes: () => Promise.resolve([{ Name: 'shop-data' }, { Name: 'alice-private' }])
  }
  return fake as unknown as Engine
}

const SHARED = engineWith([
  { name: 'shop-db', labels: { 'com.docker.compose.project': 'shop', tier: 'data' } },
  { name: 'shop-web', labels: { 'com.docker.compose.project': 'shop', tier: 'front' } },
  { name: 'alice-secret-project', labels: { owner: 'alice' } },
  { name: 'bob-ci-runner', labels: { owner: 'bob' } }
])

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
    const attempt = resolveTargets(SHARED, selection(fields), fields.volumes ?? [], [])
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
