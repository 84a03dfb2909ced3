import { describe, expect, it } from 'vitest'
import { plural } from '../../../src/shared/format.js'

describe('plural', () => {
  it.each([
    [1, 'volume', '1 volume'],
    [0, 'volume', '0 volumes'],
    [2, 'container', '2 containers'],
    [1, 'entry', '1 entry'],
    [0, 'entry', '0 entries'],
    [3, 'entry', '3 entries'],
    [2, 'key', '2 keys'],
    [2, 'day', '2 days']
  ])('%i %s: %s', (count, word, expected) => {
    expect(plural(count, word)).toBe(expected)
  })
})
