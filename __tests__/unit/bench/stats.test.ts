import { describe, expect, it } from 'vitest'
import { median, summarize } from '../../../scripts/bench/stats.js'
import { table } from '../../../scripts/bench/table.js'

describe('bench statistics', () => {
  it.each([
    [[], null],
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
    [[2, null, undefined, 8], 5]
  ])('median of %j is %j', (values, expected) => {
    expect(median(values)).toBe(expected)
  })

  it('summarizes runs: median and best of the times, medians of what they share, the peak', () => {
    const s = summarize([
      { seconds: 3.0004, rssMiB: 120, cpu: { children: 1, dockerd: null, other: 0.5 } },
      { seconds: 1.5, rssMiB: 150, outBytes: 7 },
      { seconds: 2, rssMiB: 130, cpu: { children: 3, dockerd: 2, other: 1.5 } }
    ])
    expect(s).toMatchObject({ runs: 3, median: 2, best: 1.5, all: [3, 1.5, 2] })
    expect(s).toMatchObject({ rssMiB: 130, rssMaxMiB: 150, cpuChildren: 2, cpuDockerd: 2 })
    // The first run's byte count stands for all (every run of a measurement reads the same data).
    expect(s.outBytes).toBeNull()
  })

  it('lays out a table: first column left, the others right, blanks for missing cells', () => {
    expect(
      table(
        [
          ['a', 1, null],
          ['long name', 22.5, 'x']
        ],
        ['name', 'n', 'note']
      )
    ).toBe(
      [
        'name          n  note',
        '---------  ----  ----',
        'a             1      ',
        'long name  22.5     x'
      ].join('\n')
    )
  })
})
