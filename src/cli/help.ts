/**
 * Help text, generated from the command table and action.yml's inputs (descriptions and
 * defaults), so it lists exactly the flags the parser accepts.
 */
import type { InputName } from '../app/inputs.js'
import { INPUTS } from '../app/inputs.js'
import { TOOL_VERSION } from '../shared/version.js'
import type { CommandName } from './commands.js'
import {
  COMMANDS,
  COMMAND_NAMES,
  FLAG_ENVIRONMENT,
  GLOBAL_FLAGS,
  LIST_SEPARATORS,
  SWITCHES,
  isBooleanInput
} from './commands.js'
import { EXIT_CODE_TABLE } from './exit-codes.js'

/** Help is wrapped to the terminal, within these bounds. */
const MIN_WIDTH = 40
export const DEFAULT_WIDTH = 100

/** Splits `text` into lines of at most `width` characters, breaking at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line ? `${line} ${word}` : word
    }
  }
  if (line) lines.push(line)
  return lines
}

interface Entry {
  flag: string
  text: string
}

/** Two columns (flag, text) when the text column stays readable, else text under the flag. */
function renderEntries(entries: Entry[], width: number): string[] {
  const column = Math.min(Math.max(...entries.map(e => e.flag.length)) + 4, 32)
  const textWidth = width - column
  const lines: string[] = []
  for (const { flag, text } of entries) {
    if (textWidth >= 36) {
      const wrapped = wrap(text, textWidth)
      const first = flag.length + 2 <= column ? flag.padEnd(column) : undefined
      if (first === undefined) lines.push(flag)
      wrapped.forEach((line, index) => {
        lines.push(index === 0 && first !== undefined ? first + line : ' '.repeat(column) + line)
      })
    } else {
      lines.push(flag, ...wrap(text, width - 8).map(line => `        ${line}`))
    }
  }
  return lines
}

function inputEntry(command: CommandName, name: InputName): Entry {
  const boolean = isBooleanInput(name)
  const flag = boolean ? `  --[no-]${name}` : `  --${name} VALUE`
  let text: string = INPUTS[name].description
  if (LIST_SEPARATORS[name] !== undefined) text += ' Repeat the flag to add more.'
  const environment = FLAG_ENVIRONMENT[name]
  if (environment) {
    text +=
      ` When not given, read from the environment variable ${environment.variable}` +
      (environment.with
        ? ` (when ${environment.with
            .filter(other => COMMANDS[command].inputs.includes(other))
            .map(other => `--${other}`)
            .join(' or ')} is given)`
        : '') +
      ', which keeps it out of shell history.'
  }
  const fallback: string = INPUTS[name].default
  if (fallback) text += ` (default: ${fallback})`
  return { flag, text }
}

function globalEntries(): Entry[] {
  return [
    { flag: '  --json', text: GLOBAL_FLAGS.json },
    { flag: '  --quiet', text: GLOBAL_FLAGS.quiet },
    { flag: '  -h, --help', text: GLOBAL_FLAGS.help }
  ]
}

function exitCodes(width: number): string[] {
  return renderEntries(
    EXIT_CODE_TABLE.map(({ code, meaning }) => ({ flag: `  ${code}`, text: meaning })),
    width
  )
}

function clampWidth(columns: number | undefined): number {
  // 0 columns (a pseudo-terminal without a size) means unknown.
  return Math.max(MIN_WIDTH, columns || DEFAULT_WIDTH)
}

/** Help for one command: usage, flags with defaults, examples, exit codes. */
export function commandHelp(command: CommandName, columns?: number): string {
  const width = clampWidth(columns)
  const spec = COMMANDS[command]
  const flags: Entry[] = [
    ...spec.inputs.map(name => inputEntry(command, name)),
    ...spec.switches.map(name => ({ flag: `  --[no-]${name}`, text: SWITCHES[name].description }))
  ]
  const lines = [`Usage: docker-snapshot ${command} [flags]`, '', ...wrap(spec.summary, width), '']
  if (flags.length > 0) lines.push('Flags:', ...renderEntries(flags, width), '')
  lines.push(
    'Global flags:',
    ...renderEntries(globalEntries(), width),
    '',
    ...wrap(
      'Give a value as --flag VALUE or --flag=VALUE; true/false flags also take --flag and ' +
        '--no-flag. An empty value takes the default.',
      width
    ),
    '',
    'Examples:',
    ...spec.examples.map(example => `  ${example}`),
    '',
    'Exit codes:',
    ...exitCodes(width)
  )
  return lines.join('\n') + '\n'
}

/** Help for the tool: the commands, global flags and exit codes. */
export function generalHelp(columns?: number): string {
  const width = clampWidth(columns)
  const lines = [
    `docker-snapshot ${TOOL_VERSION}: snapshot a running Docker environment and restore it.`,
    '',
    'Usage: docker-snapshot <command> [flags]',
    '       docker-snapshot help <command>',
    '',
    'Commands:',
    ...renderEntries(
      COMMAND_NAMES.map(name => ({ flag: `  ${name}`, text: COMMANDS[name].summary })),
      width
    ),
    '',
    'Global flags:',
    ...renderEntries(
      [...globalEntries(), { flag: '  --version', text: 'Print the version.' }],
      width
    ),
    '',
    ...wrap(
      "Each command's flags are the GitHub Action's inputs of the same names. " +
        "Run 'docker-snapshot <command> --help' to see them.",
      width
    ),
    '',
    'Exit codes:',
    ...exitCodes(width)
  ]
  return lines.join('\n') + '\n'
}
