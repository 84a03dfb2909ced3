import { describe, expect, it } from 'vitest'
import { parseArgs, type BenchOptions } from '../../../scripts/bench/args.js'
import { BenchError } from '../../../scripts/bench/process.js'

// The defaults spelled out, not imported: the test pins what --help promises.
const defaults: BenchOptions = {
  sizeMib: 1024,
  runs: 3,
  fresh: false,
  scaling: true,
  stages: true,
  waitIdle: 60,
  check: false,
  clean: false,
  copyMethod: 'auto'
}

describe('bench parseArgs', () => {
  it.each([
    [[], {}],
    [['--size-mib', '64', '--runs', '1'], { sizeMib: 64, runs: 1 }],
    [['--size-mib=16', '--wait-idle=0'], { sizeMib: 16, waitIdle: 0 }],
    [['--wait-idle', '2.5'], { waitIdle: 2.5 }],
    [
      ['--fresh', '--no-scaling', '--no-stages', '--check'],
      { fresh: true, scaling: false, stages: false, check: true }
    ],
    [['--clean'], { clean: true }],
    [['--copy-method', 'archive'], { copyMethod: 'archive' }],
    [['--copy-method=helper'], { copyMethod: 'helper' }]
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toEqual({ ...defaults, ...expected })
  })

  it.each([['-h'], ['--help'], ['--runs', '2', '--help']])('%j asks for help', (...argv) => {
    expect(parseArgs(argv)).toBe('help')
  })

  it.each([
    [['--size-mib', '15'], "--size-mib must be a whole number >= 16, not '15'"],
    [['--size-mib', '64MiB'], "--size-mib must be a whole number >= 16, not '64MiB'"],
    [['--runs', '0'], "--runs must be a whole number >= 1, not '0'"],
    [['--runs', '1.5'], "--runs must be a whole number >= 1, not '1.5'"],
    [['--runs'], '--runs needs a value'],
    [['--wait-idle', '-1'], "--wait-idle must be a number of seconds, not '-1'"],
    [['--check=yes'], "unknown argument '--check=yes'"],
    [['--size', '64'], "unknown argument '--size'"],
    [['64'], "unknown argument '64'"],
    [['--copy-method', 'rsync'], "--copy-method must be auto, helper or archive, not 'rsync'"]
  ])('%j is refused with exit status 2', (argv, message) => {
    let caught: unknown
    try {
      parseArgs(argv)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(BenchError)
    expect((caught as BenchError).message).toContain(message)
    expect((caught as BenchError).exitCode).toBe(2)
  })
})
