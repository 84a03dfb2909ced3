import { describe, expect, it } from 'vitest'
import { UsageError, parseArgs, suggest } from '../../../src/cli/args.js'
import { editDistance } from '../../../src/shared/near-matches.js'
import type { Invocation, ParsedArgs } from '../../../src/cli/args.js'
import { InvalidSettingsError } from '../../../src/shared/errors.js'

function run(parsed: ParsedArgs): Invocation {
  if (parsed.kind !== 'run') throw new Error(`expected a run, got ${parsed.kind}`)
  return parsed
}

describe('parseArgs: valid command lines', () => {
  it.each([
    {
      argv: ['snapshot', '--compose-project', 'shop'],
      inputs: { mode: 'snapshot', 'compose-project': 'shop' }
    },
    {
      argv: ['snapshot', '--compose-project=shop', '--store=/srv/s'],
      inputs: { mode: 'snapshot', 'compose-project': 'shop', store: '/srv/s' }
    },
    { argv: ['snapshot', '--all'], inputs: { mode: 'snapshot', all: 'true' } },
    { argv: ['snapshot', '--no-commit'], inputs: { mode: 'snapshot', commit: 'false' } },
    { argv: ['snapshot', '--commit=false'], inputs: { mode: 'snapshot', commit: 'false' } },
    {
      argv: ['snapshot', '--containers', 'a', '--containers', 'b', '--containers=c'],
      inputs: { mode: 'snapshot', containers: 'a,b,c' }
    },
    {
      argv: ['restore', '--env', 'A=1', '--env', 'B=2'],
      inputs: { mode: 'restore', env: 'A=1\nB=2' }
    },
    { argv: ['restore', '--no-start'], inputs: { mode: 'restore', start: 'false' } },
    // A value may itself start with a single dash, or be empty (the default).
    { argv: ['restore', '--prefix', '-x'], inputs: { mode: 'restore', prefix: '-x' } },
    { argv: ['restore', '--prefix='], inputs: { mode: 'restore', prefix: '' } },
    { argv: ['verify', '--restore-check'], inputs: { mode: 'verify', 'restore-check': 'true' } },
    { argv: ['ls', '--store', 'x'], inputs: { store: 'x' } },
    { argv: ['prune', '--keep', '3'], inputs: { mode: 'prune', keep: '3' } },
    {
      argv: ['drill', '--compose-project', 'demo'],
      inputs: { mode: 'snapshot', 'compose-project': 'demo' }
    }
  ])('$argv', ({ argv, inputs }) => {
    expect(run(parseArgs(argv)).inputs).toEqual(inputs)
  })

  it('reads --json and --quiet before or after the command', () => {
    const parsed = run(parseArgs(['--json', 'ls', '--quiet']))
    expect(parsed).toMatchObject({ command: 'ls', json: true, quiet: true })
  })

  it('reads drill --demo and --no-demo as a switch, not an input', () => {
    expect(run(parseArgs(['drill', '--demo'])).switches).toEqual({ demo: true })
    expect(run(parseArgs(['drill', '--no-demo'])).switches).toEqual({ demo: false })
  })

  it('takes the registry password from the environment when the flag is absent', () => {
    const env = { DOCKER_SNAPSHOT_REGISTRY_PASSWORD: 'from-env' }
    expect(run(parseArgs(['snapshot', '--registry', 'r:5000'], env)).inputs).toMatchObject({
      'registry-password': 'from-env'
    })
    // The flag wins; and without a registry the variable is not used (it would be an error).
    expect(
      run(parseArgs(['snapshot', '--registry', 'r', '--registry-password', 'flag'], env)).inputs[
        'registry-password'
      ]
    ).toBe('flag')
    expect(run(parseArgs(['snapshot'], env)).inputs['registry-password']).toBeUndefined()
    expect(run(parseArgs(['ls'], env)).inputs['registry-password']).toBeUndefined()
    // A registry store's user: the variable is its password.
    expect(
      run(parseArgs(['ls', '--store', 'oci://r/s', '--registry-username', 'ci'], env)).inputs[
        'registry-password'
      ]
    ).toBe('from-env')
  })
})

describe('parseArgs: help and version', () => {
  it.each([
    { argv: [], parsed: { kind: 'help', usage: true } },
    { argv: ['--help'], parsed: { kind: 'help' } },
    { argv: ['-h'], parsed: { kind: 'help' } },
    { argv: ['help'], parsed: { kind: 'help' } },
    { argv: ['help', 'restore'], parsed: { kind: 'help', command: 'restore' } },
    { argv: ['snapshot', '--help'], parsed: { kind: 'help', command: 'snapshot' } },
    {
      argv: ['snapshot', '--containers', 'x', '-h'],
      parsed: { kind: 'help', command: 'snapshot' }
    },
    // Help wins over a bad flag: the user is asking how to write it.
    { argv: ['snapshot', '--contaners', '--help'], parsed: { kind: 'help', command: 'snapshot' } },
    { argv: ['--version'], parsed: { kind: 'version' } }
  ])('$argv', ({ argv, parsed }) => {
    expect(parseArgs(argv)).toEqual(parsed)
  })
})

describe('parseArgs: errors', () => {
  // One row a wrong command line: rows alike but for their values are the table, not copies.
  it.each([
    {
      argv: ['snapshto'],
      message: "unknown command 'snapshto'; did you mean snapshot?"
    },
    {
      argv: ['zzzzzzzz'],
      message:
        "unknown command 'zzzzzzzz'; the commands are snapshot, restore, verify, ls, prune, drill"
    },
    {
      argv: ['snapshot', '--contaners', 'db'],
      message: 'unknown flag --contaners for snapshot; did you mean --containers?'
    },
    {
      argv: ['snapshot', '--no-comit'],
      message: 'unknown flag --no-comit for snapshot; did you mean --no-commit?'
    },
    {
      argv: ['snapshot', '--xyzzy'],
      message: 'unknown flag --xyzzy for snapshot; see docker-snapshot snapshot --help'
    },
    {
      argv: ['snapshot', '--prefix', 'x'],
      message: 'unknown flag --prefix for snapshot; --prefix is a flag of restore'
    },
    {
      argv: ['ls', '--keep', '3'],
      message: 'unknown flag --keep for ls; --keep is a flag of prune'
    },
    {
      argv: ['snapshot', '--mode', 'restore'],
      message:
        '--mode is not a flag: the command chooses the mode. Expected docker-snapshot COMMAND, ' +
        'COMMAND one of: snapshot, restore, verify, ls, prune, drill'
    },
    {
      argv: ['snapshot', '--store'],
      message: 'missing value for --store; write --store VALUE or --store=VALUE'
    },
    {
      argv: ['snapshot', '--store', '--all'],
      message: 'missing value for --store; write --store VALUE or --store=VALUE'
    },
    {
      argv: ['snapshot', '--store', 'a', '--store', 'b'],
      message: '--store given more than once; expected it once'
    },
    {
      argv: ['snapshot', '--registry-password', 's3cret', '--registry-password', 'other'],
      message: '--registry-password given more than once; expected it once'
    },
    {
      argv: ['snapshot', '--all', 'false'],
      message:
        "unexpected 'false' after --all, which takes no separate value; write --all=false, or --all / --no-all"
    },
    {
      argv: ['snapshot', 'db'],
      message:
        "unexpected argument 'db' for snapshot; flags start with --, like --compose-project VALUE"
    },
    {
      argv: ['snapshot', '--no-store'],
      message: '--store takes a value; --no-store is only for true/false flags'
    },
    {
      argv: ['snapshot', '--no-all=true'],
      message: "--no-all takes no value, but was given 'true'; write --no-all alone, or --all=VALUE"
    },
    {
      argv: ['ls', '--json=yes'],
      message: "--json takes no value, but was given 'yes'; write --json alone"
    },
    {
      argv: ['drill', '--demo=maybe'],
      message: 'invalid --demo=maybe; expected true or false'
    },
    {
      argv: ['snapshot', '-x'],
      message: 'unknown flag -x for snapshot; see docker-snapshot snapshot --help'
    },
    {
      argv: ['snapshot', '--version'],
      message: 'unknown flag --version for snapshot; see docker-snapshot snapshot --help'
    },
    { argv: ['help', 'lss'], message: "unknown command 'lss'; did you mean ls?" },
    { argv: ['help', 'ls', 'prune'], message: "help takes one command, not 'ls prune'" },
    {
      argv: ['--store', 'x'],
      message: "unknown command 'x'; the commands are snapshot, restore, verify, ls, prune, drill"
    },
    { argv: ['--bogus'], message: 'unknown flag --bogus; the first word must be a command' }
  ])('$argv', ({ argv, message }) => {
    let thrown: unknown
    try {
      parseArgs(argv)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(UsageError)
    expect(thrown).toBeInstanceOf(InvalidSettingsError)
    expect((thrown as UsageError).name).toBe('UsageError')
    expect((thrown as UsageError).message).toBe(message)
  })

  it('never echoes a value that may be secret', () => {
    expect(() =>
      parseArgs([
        'restore',
        '--registry',
        'r',
        '--registry-password',
        'p1',
        '--registry-password',
        'p2'
      ])
    ).toThrow(/^(?!.*p[12]).*$/)
  })
})

describe('suggestions', () => {
  it.each([
    ['contaners', 'containers', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['same', 'same', 0],
    ['stroe', 'store', 1]
  ])('distance(%s, %s) = %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance)
    expect(editDistance(b, a)).toBe(distance)
  })

  it('suggests only close candidates', () => {
    expect(suggest('stroe', ['store', 'start'])).toBe('store')
    expect(suggest('completely-else', ['store', 'start'])).toBeUndefined()
  })
})
