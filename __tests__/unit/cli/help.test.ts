import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../../src/cli/args.js'
import type { CommandName } from '../../../src/cli/commands.js'
import { COMMAND_NAMES } from '../../../src/cli/commands.js'
import { EXIT_CODE_TABLE } from '../../../src/cli/exit-codes.js'
import { commandHelp, generalHelp, wrap } from '../../../src/cli/help.js'
import { INPUTS } from '../../../src/generated/inputs.js'

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
      'read from the environment variable DOCKER_SNAPSHOT_REGISTRY_PASSWORD (when --registry is given)'
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
