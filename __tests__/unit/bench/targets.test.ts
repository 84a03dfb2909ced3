import { describe, expect, it } from 'vitest'
import type { Measurements } from '../../../scripts/bench/measurements.js'
import { evaluateTargets } from '../../../scripts/bench/targets.js'
import { summarize } from '../../../scripts/bench/stats.js'

const timed = (seconds: number, rssMiB: number | null = null) => summarize([{ seconds, rssMiB }])
const snapshot = (seconds: number, rssMiB: number) => ({
  ...timed(seconds, rssMiB),
  tarBytes: 1e9,
  storedBytes: 4e8,
  codec: 'zstd binary -T0 -3'
})

/** A run where ours takes `snap` seconds against the given baselines, within every other target. */
function measurements(snap: number, over: Partial<Measurements> = {}): Measurements {
  return {
    hostTar: timed(1),
    baselineA: timed(4),
    baselineB: timed(50),
    baselineC: timed(6),
    snapshotZstd: snapshot(snap, 170),
    snapshotGzip: snapshot(20, 150),
    restore: { ...timed(12, 160), tarBytes: 1e9, correct: true, steps: {}, restoredTree: [] },
    ...over
  }
}

const verdicts = (m: Measurements) =>
  Object.fromEntries(evaluateTargets(m, 1024).map(t => [t.name.split(' (')[0], t.pass]))

describe('bench targets', () => {
  it('passes at exactly the limits and misses just past them', () => {
    // 10 s = 2.5 x baseline A (4 s) and 50 s / 10 s = 5 x faster than baseline B.
    expect(Object.values(verdicts(measurements(10))).every(Boolean)).toBe(true)
    const slower = verdicts(measurements(10.01))
    expect(slower['snapshot zstd <= 2.5 x baseline A']).toBe(false)
    expect(slower['snapshot zstd >= 5 x faster than baseline B']).toBe(false)
  })

  it('checks our own overhead only when the stages were measured', () => {
    const names = (m: Measurements) => evaluateTargets(m, 1024).map(t => t.name)
    expect(names(measurements(10)).some(n => n.includes('our own overhead'))).toBe(false)
  })

  it('misses peak memory over 200 MiB in any run, and growth of 50 MiB from the small volume', () => {
    const heavy = measurements(10, { restore: { ...measurements(10).restore, ...timed(12, 201) } })
    expect(verdicts(heavy)['peak RSS of the node process <= 200 MiB']).toBe(false)
    const small = { ...snapshot(3, 120), sizeMib: 256 }
    const growth = evaluateTargets(measurements(10, { snapshotZstdSmall: small }), 1024)
    expect(growth.find(t => t.name.startsWith('RSS growth'))).toMatchObject({
      value: 50,
      pass: false
    })
  })

  it('misses a restore over 3 x the snapshot', () => {
    const slow = measurements(10, { restore: { ...measurements(10).restore, ...timed(30.5, 160) } })
    expect(verdicts(slow)['restore <= 3 x snapshot']).toBe(false)
  })
})
