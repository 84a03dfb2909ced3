import { BenchError } from './process.js'

export interface BenchOptions {
  /** Size of the data set in MiB. */
  sizeMib: number
  /** Runs of each timed measurement. */
  runs: number
  /** Recreate the data volumes even when they exist. */
  fresh: boolean
  /** Measure memory scaling on a 1/4-size volume. */
  scaling: boolean
  /** Measure the stages alone (engine read, zstd, engine write). */
  stages: boolean
  /** Seconds to wait for other work on the machine to stop. */
  waitIdle: number
  /** Exit 1 when a target is missed. */
  check: boolean
  /** Remove the data volumes and exit. */
  clean: boolean
  /** How the CLI copies volumes (its copy-method input). */
  copyMethod: 'auto' | 'helper' | 'archive'
}

export const USAGE = `Usage: npm run bench -- [options]

  --size-mib N    size of the data set in MiB (default 1024, at least 16): 1/4 random,
                  1/2 log text, 1/4 small JSON files (20k per GiB)
  --runs N        runs of each timed measurement (default 3); median and best are reported
  --fresh         recreate the data volume(s) even when they exist
  --no-scaling    skip the memory-scaling run on a 1/4-size volume
  --no-stages     skip the stage breakdown (engine read, zstd, engine write alone)
  --wait-idle S   wait up to S seconds for other work on the machine to stop (default 60)
  --copy-method M how the CLI copies volumes: auto (default), helper or archive
  --check         exit 1 when a target is missed
  --clean         remove the data volumes this bench keeps between runs, and exit
  -h, --help      this text`

const DEFAULTS: BenchOptions = {
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

/** The flags without a value, and what each sets. */
const SWITCHES: Record<string, Partial<BenchOptions>> = {
  '--fresh': { fresh: true },
  '--no-scaling': { scaling: false },
  '--no-stages': { stages: false },
  '--check': { check: true },
  '--clean': { clean: true }
}

const usageError = (message: string) => new BenchError(`${message}\n\n${USAGE}`, 2)

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) {
    throw new BenchError(`${flag} must be a whole number >= ${min}, not '${text}'`, 2)
  }
  return n
}

function seconds(flag: string, text: string): number {
  const n = Number(text)
  if (!Number.isFinite(n) || n < 0) {
    throw new BenchError(`${flag} must be a number of seconds, not '${text}'`, 2)
  }
  return n
}

/** The flags that take a value, and how each reads it. */
const VALUED: Record<string, (flag: string, text: string) => Partial<BenchOptions>> = {
  '--size-mib': (flag, text) => ({ sizeMib: wholeNumber(flag, text, 16) }),
  '--runs': (flag, text) => ({ runs: wholeNumber(flag, text, 1) }),
  '--wait-idle': (flag, text) => ({ waitIdle: seconds(flag, text) }),
  '--copy-method': (flag, text) => {
    if (text !== 'auto' && text !== 'helper' && text !== 'archive') {
      throw new BenchError(`${flag} must be auto, helper or archive, not '${text}'`, 2)
    }
    return { copyMethod: text }
  }
}

/** The options of `argv` (without node and the script), or 'help' when help was asked for. */
export function parseArgs(argv: string[]): BenchOptions | 'help' {
  let options = { ...DEFAULTS }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag = arg, inline] = arg.split(/=(.*)/s)
    if (flag === '-h' || flag === '--help') return 'help'
    const read = VALUED[flag]
    const set = SWITCHES[flag]
    if (read) {
      const text = inline ?? argv[++i]
      if (text === undefined) throw usageError(`${flag} needs a value`)
      options = { ...options, ...read(flag, text) }
    } else if (set && inline === undefined) {
      options = { ...options, ...set }
    } else {
      throw usageError(`unknown argument '${arg}'`)
    }
  }
  return options
}
