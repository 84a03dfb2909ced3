import { describe, expect, it } from 'vitest'
import { dependencyOrder } from '../../../src/shared/dependency-order.js'

const node = (name: string, ...dependsOn: string[]) => ({ name, dependsOn })

class CycleError extends Error {}
const order = (nodes: { name: string; dependsOn: string[] }[]) =>
  dependencyOrder(nodes, cycle => new CycleError(`cycle ${cycle}`))

describe('dependencyOrder', () => {
  it.each([
    ['no containers', [], []],
    ['independent: the snapshot order', [node('b'), node('a')], ['b', 'a']],
    [
      'a chain, given backwards',
      [node('web', 'app'), node('app', 'db'), node('db')],
      ['db', 'app', 'web']
    ],
    [
      'a diamond',
      [node('top', 'left', 'right'), node('left', 'base'), node('right', 'base'), node('base')],
      ['base', 'left', 'right', 'top']
    ],
    ['dependencies outside the restore are ignored', [node('web', 'db')], ['web']],
    ['repeated dependencies', [node('web', 'db', 'db'), node('db')], ['db', 'web']]
  ])('%s', (_case, nodes, expected) => {
    expect(order(nodes)).toEqual(expected)
  })

  it.each([
    ['two', [node('a', 'b'), node('b', 'a')], 'a -> b -> a'],
    [
      'three, behind a free one',
      [node('x'), node('a', 'c'), node('b', 'a'), node('c', 'b')],
      'a -> c -> b -> a'
    ],
    [
      'reached from outside the cycle',
      [node('w', 'a'), node('a', 'b'), node('b', 'a')],
      'a -> b -> a'
    ]
  ])('names a cycle of %s', (_case, nodes, cycle) => {
    expect(() => order(nodes)).toThrow(CycleError)
    expect(() => order(nodes)).toThrow(`cycle ${cycle}`)
  })

  it('refuses a container that depends on itself', () => {
    expect(() => order([node('a', 'a')])).toThrow('cycle a -> a')
  })
})
