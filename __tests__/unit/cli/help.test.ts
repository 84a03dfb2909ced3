import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../../src/cli/args.js'
import type { CommandName } from '../../../src/cli/commands.js'
import { COMMAND_NAMES } from '../../../src/cli/commands.js'
import { EXIT_CODE_TABLE } from '../../../src/cli/exit-codes.js'
import { commandHelp, generalHelp, wrap } from '../../../src/cli/help.js'
import { INPUTS } from '../../../src/app/inputs.js'

/** The flags a help text lists: the lines that start (after the indent) with a flag. */
function listedFlags(help: string): string[] {
  const flags: string[] = []
  for (const line of help.split('\n')) {
    const match = /^ {2}(?:-h, )?--(\[no-\])?([a-z][a-z-]*)/.exec(line)
    if (match) flags.push(match[2])
  }
  return flags
}

/** Whether the parser takes `--flag` (given a value or bare) for the command. */
function accepts(command: CommandName, flag: string): boolean {
  for (const argv of [
    [command, `--${flag}=x`],
    [command, `--${flag}`],
    [command, `--${flag}`, 'true']
  ]) {
    try {
      parseArgs(argv)
      return true
    } catch {
      // try the next form
    }
  }
  return false
}

/** Every flag name anyone might try: every input, the switches, the globals, and `mode`. */
const CANDIDATES = [...Object.keys(INPUTS), 'demo', 'json', 'quiet', 'help', 'version']

describe.each(COMMAND_NAMES)('help for %s', command => {
  const help = commandHelp(command, 100)
  const listed = listedFlags(help)

  it('lists only flags the parser accepts', () => {
    expect(listed.length).toBeGreaterThan(3)
    for (const flag of listed) expect(accepts(command, flag), `--${flag}`).toBe(true)
  })

  it('lists every flag the parser accepts', () => {
    for (const flag of CANDIDATES) {
      if (accepts(command, flag)) expect(listed, `--${flag}`).toContain(flag)
    }
  })

  it('never offers mode as a flag', () => {
    expect(listed).not.toContain('mode')
    expect(accepts(command, 'mode')).toBe(false)
  })

  it('has a usage line, examples of this command, and the exit codes', () => {
    expect(help.startsWith(`Usage: docker-snapshot ${command} [flags]\n`)).toBe(true)
    expect(help).toContain(`\nExamples:\n  docker-snapshot ${command}`)
    for (const { code } of EXIT_CODE_TABLE) expect(help).toMatch(new RegExp(`\\n {2}${code} +\\S`))
  })

  it('wraps within the width', () => {
    for (const width of [60, 100]) {
      for (const line of commandHelp(command, width).split('\n')) {
        // Examples are commands to copy: they are never broken.
        if (!line.startsWith('  docker-snapshot ')) expect(line.length).toBeLessThanOrEqual(width)
      }
    }
  })
})

describe('help texts', () => {
  it('shows defaults and where the registry password can come from', () => {
    const help = commandHelp('snapshot', 100)
    expect(help).toMatch(/--consistency VALUE +How containers are held still/)
    expect(help).toContain('(default: pause)')
    expect(help).toContain('  --[no-]commit')
    expect(help.replace(/\s+/g, ' ')).toContain(
      'read from the environment variable DOCKER_SNAPSHOT_REGISTRY_PASSWORD (when --registry or --registry-username is given)'
    )
  })

  it('lists every command in the general help', () => {
    const help = generalHelp(100)
    for (const command of COMMAND_NAMES) expect(help).toMatch(new RegExp(`\\n {2}${command} +\\S`))
    expect(help).toContain('--version')
  })

  it('stacks flag and text on a narrow terminal', () => {
    const lines = commandHelp('restore', 40).split('\n')
    const at = lines.indexOf('  --on-conflict VALUE')
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1]).toMatch(/^ {8}Restore when/)
  })

  it('wraps words at spaces', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd'])
    expect(wrap('averyverylongword x', 5)).toEqual(['averyverylongword', 'x'])
  })
})

/** Words of a shell command line: quotes group words, a backslash-newline continues the line. */
function shellWords(line: string): string[] {
  const words: string[] = []
  for (const match of line.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) {
    words.push(match[1] ?? match[2] ?? match[3]!)
  }
  return words
}

/** How help spells a flag in general (`--flag VALUE`, `--no-flag`). */
const PLACEHOLDERS = new Set(['flag', 'no-flag'])

/** Every `--name` in a text (`--[no-]name` counts as `name`), placeholders aside. */
function flagsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--(?:\[no-\])?([a-z][a-z-]*[a-z])/g)]
    .map(m => m[1]!)
    .filter(flag => !PLACEHOLDERS.has(flag))
}

const GLOBALS = ['json', 'quiet', 'help', 'version']

/** The source of every module outside the CLI (whose texts the help tests cover). */
function sourcesOutsideCli(): { path: string; text: string }[] {
  const root = new URL('../../../src/', import.meta.url)
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter(path => path.endsWith('.ts') && !/^(cli|generated)\//.test(path))
    .map(path => ({ path, text: readFileSync(new URL(path, root), 'utf8') }))
}
const acceptedAnywhere = (flag: string) =>
  GLOBALS.includes(flag) || COMMAND_NAMES.some(command => accepts(command, flag))

/** `docker-snapshot ...` command lines (continuations joined) of a text's code. */
function commandLines(text: string): string[] {
  return [...text.matchAll(/^ *(docker-snapshot (?:[^\n]*\\\n)*[^\n]*)$/gm)].map(m => m[1]!)
}

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
const cliSection = readme.slice(
  readme.indexOf('## The CLI'),
  readme.indexOf('\n## ', readme.indexOf('## The CLI') + 1)
)
// Flags of other programs that the README names beside ours.
const FOREIGN = new Set(['build', 'size-mib', 'check', 'project', 'rm'])

describe('every option a text names exists', () => {
  it.each(COMMAND_NAMES)('help for %s: every flag it mentions, and its examples', command => {
    const help = commandHelp(command, 100)
    for (const flag of flagsIn(help)) {
      expect(GLOBALS.includes(flag) || accepts(command, flag), `--${flag}`).toBe(true)
    }
    for (const line of commandLines(help)) {
      expect(() => parseArgs(shellWords(line).slice(1)), line).not.toThrow()
    }
  })

  it('general help', () => {
    for (const flag of flagsIn(generalHelp(100))) expect(acceptedAnywhere(flag), flag).toBe(true)
  })

  it('README: its CLI examples parse, and every flag it mentions exists', () => {
    const lines = commandLines(readme)
    expect(lines.length).toBeGreaterThan(4)
    for (const line of lines) {
      expect(() => parseArgs(shellWords(line).slice(1)), line).not.toThrow()
    }
    for (const flag of flagsIn(cliSection)) expect(acceptedAnywhere(flag), `--${flag}`).toBe(true)
    // The bad-input table names wrong flags on purpose.
    const prose = readme.replace(/<!-- bad-input:start -->[\s\S]*<!-- bad-input:end -->/, '')
    for (const flag of flagsIn(prose)) {
      if (!FOREIGN.has(flag)) expect(acceptedAnywhere(flag), `--${flag}`).toBe(true)
    }
  })

  it('README: every input its workflows set, and every "the `x` input" it names', () => {
    const keys = [...readme.matchAll(/^ +with:\n((?: {4,}[a-z-]+:.*\n)+)/gm)].flatMap(m =>
      [...m[1]!.matchAll(/^ +([a-z-]+):/gm)].map(k => k[1]!)
    )
    expect(keys.length).toBeGreaterThan(10)
    const named = [...readme.matchAll(/the `([a-z-]+)` input/g)].map(m => m[1]!)
    for (const input of [...keys, ...named]) expect(Object.keys(INPUTS), input).toContain(input)
  })

  it('action inputs: every other input a description names in backquotes', () => {
    for (const [name, { description }] of Object.entries(INPUTS)) {
      for (const [, word] of description.matchAll(/`([a-z]+(?:-[a-z]+)+)`/g)) {
        expect(Object.keys(INPUTS), `${name}: ${word}`).toContain(word)
      }
    }
  })

  it('messages outside the CLI: every setting they tell the user to use or set', () => {
    for (const { path, text } of sourcesOutsideCli()) {
      for (const [, , input] of text.matchAll(
        /\b(with|set|use|pass|give) ([a-z]+(?:-[a-z]+)+)\b/g
      )) {
        expect(Object.keys(INPUTS), `${path}: ${input}`).toContain(input)
      }
    }
  })

  it('messages outside the CLI: every --flag they offer', () => {
    // docker-compose's own flag, in the command drill runs; GNU tar's, in the copy helper's.
    const others = new Set([
      'remove-orphans',
      ...['xattrs', 'xattrs-include', 'acls', 'numeric-owner', 'sparse', 'totals'],
      ...['full-time', 'utc', 'index-file']
    ])
    for (const { path, text } of sourcesOutsideCli()) {
      for (const flag of flagsIn(text)) {
        if (!others.has(flag)) expect(acceptedAnywhere(flag), `${path}: --${flag}`).toBe(true)
      }
    }
  })
})

describe("README's guarantees", () => {
  const section = readme.slice(readme.indexOf('## Guarantees'), readme.indexOf('## Quick start'))
  const proofs = [...section.matchAll(/`((?:unit|integration)\/[\w/.-]+\.test\.ts)`/g)].map(
    m => m[1]
  )

  it('name a test for every guarantee', () => {
    const rows = section.split('\n').filter(line => /^\| (?!-|guarantee)/.test(line))
    expect(rows.length).toBeGreaterThan(5)
    for (const row of rows) expect(row, row).toMatch(/`(unit|integration)\/[\w/.-]+\.test\.ts`/)
  })

  it.each(proofs)('name a test file that exists: %s', path => {
    expect(() => readFileSync(new URL(`../../${path}`, import.meta.url))).not.toThrow()
  })
})
