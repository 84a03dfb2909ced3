/**
 * Reads `docker-snapshot <command> [flags]`. Flags are the action's input names; values are
 * passed on raw, for readSettings to validate exactly as it does for the action.
 */
import { InvalidSettingsError } from '../shared/errors.js'
import { editDistance } from '../shared/near-matches.js'
import type { InputName } from '../app/inputs.js'
import { INPUTS } from '../app/inputs.js'
import { DEFAULT_DIRECTORY } from '../stores/spec.js'
import type { CommandName, SwitchName } from './commands.js'
import {
  COMMANDS,
  COMMAND_NAMES,
  FLAG_ENVIRONMENT,
  GLOBAL_FLAGS,
  LIST_SEPARATORS,
  isBooleanInput
} from './commands.js'

/** The command line cannot be understood: nothing has been done. */
export class UsageError extends InvalidSettingsError {
  constructor(
    message: string,
    /** The command whose help would explain, when one was named. */
    readonly command?: CommandName
  ) {
    super(message)
  }
}

/** A command to run, with its inputs as readSettings will read them. */
export interface Invocation {
  kind: 'run'
  command: CommandName
  /** Raw values by input name, `mode` included; an input not given is absent. */
  inputs: Partial<Record<InputName, string>>
  switches: Partial<Record<SwitchName, boolean>>
  json: boolean
  quiet: boolean
}

export type ParsedArgs =
  | Invocation
  /** `usage`: no command was given at all, so help stands in for an error. */
  | { kind: 'help'; command?: CommandName; usage?: boolean }
  | { kind: 'version' }

type Environment = Readonly<Record<string, string | undefined>>

/** Every `--flag` (without dashes) a command accepts, in the order its help lists them. */
export function flagsOf(command: CommandName): string[] {
  const spec = COMMANDS[command]
  return [...spec.inputs, ...spec.switches, ...Object.keys(GLOBAL_FLAGS)]
}

function isCommand(word: string): word is CommandName {
  return (COMMAND_NAMES as string[]).includes(word)
}

/** The candidate closest to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  const tolerance = Math.max(1, Math.floor(word.length / 3))
  return bestDistance <= tolerance ? best : undefined
}

function unknownCommand(word: string): UsageError {
  const guess = suggest(word, [...COMMAND_NAMES, 'help'])
  return new UsageError(
    `unknown command '${word}'` +
      (guess ? `; did you mean ${guess}?` : `; the commands are ${COMMAND_NAMES.join(', ')}`)
  )
}

function unknownFlag(flag: string, command: CommandName): UsageError {
  const name = flag.replace(/^-+/, '')
  const known = flagsOf(command)
  const owners = COMMAND_NAMES.filter(other => flagsOf(other).includes(name))
  if (name === 'mode') {
    return new UsageError(
      '--mode is not a flag: the command chooses the mode. Expected docker-snapshot COMMAND, ' +
        `COMMAND one of: ${COMMAND_NAMES.join(', ')}`,
      command
    )
  }
  if (owners.length > 0) {
    return new UsageError(
      `unknown flag ${flag} for ${command}; ${flag} is a flag of ${owners.join(', ')}`,
      command
    )
  }
  const negated = name.startsWith('no-')
  const guess = negated
    ? suggest(name.slice(3), known.filter(isNegatable(command)))
    : suggest(name, known)
  return new UsageError(
    `unknown flag ${flag} for ${command}` +
      (guess
        ? `; did you mean --${negated ? 'no-' : ''}${guess}?`
        : `; see docker-snapshot ${command} --help`),
    command
  )
}

function isNegatable(command: CommandName): (name: string) => boolean {
  const spec = COMMANDS[command]
  return name =>
    (spec.inputs as readonly string[]).includes(name)
      ? isBooleanInput(name as InputName)
      : (spec.switches as readonly string[]).includes(name)
}

/** Finds the command among the words: global flags may come before it. */
function commandWord(argv: readonly string[]): { word: string; index: number } | undefined {
  const index = argv.findIndex(word => !word.startsWith('-'))
  return index === -1 ? undefined : { word: argv[index], index }
}

/**
 * Parses the command line. `env` supplies secrets that should stay out of shell history.
 * Throws UsageError, whose message names the flag or word at fault and a likely fix.
 */
export function parseArgs(argv: readonly string[], env: Environment = {}): ParsedArgs {
  const found = commandWord(argv)
  const wantsHelp = argv.includes('--help') || argv.includes('-h')
  if (!found) {
    if (wantsHelp) return { kind: 'help' }
    if (argv.includes('--version')) return { kind: 'version' }
    const stray = argv.find(word => !['--json', '--quiet'].includes(word))
    if (stray) throw new UsageError(`unknown flag ${stray}; the first word must be a command`)
    return { kind: 'help', usage: true }
  }
  if (found.word === 'help') {
    const rest = argv.slice(found.index + 1).filter(word => !word.startsWith('-'))
    if (rest.length > 1) throw new UsageError(`help takes one command, not '${rest.join(' ')}'`)
    if (rest.length === 0) return { kind: 'help' }
    if (!isCommand(rest[0])) throw unknownCommand(rest[0])
    return { kind: 'help', command: rest[0] }
  }
  if (!isCommand(found.word)) {
    if (wantsHelp) return { kind: 'help' }
    throw unknownCommand(found.word)
  }
  const command = found.word
  if (wantsHelp) return { kind: 'help', command }
  return parseFlags(command, [...argv.slice(0, found.index), ...argv.slice(found.index + 1)], env)
}

function parseFlags(command: CommandName, words: string[], env: Environment): Invocation {
  const spec = COMMANDS[command]
  const accepts = (name: string): name is InputName =>
    (spec.inputs as readonly string[]).includes(name)
  const hasSwitch = (name: string): name is SwitchName =>
    (spec.switches as readonly string[]).includes(name)
  const invocation: Invocation = {
    kind: 'run',
    command,
    inputs: {},
    switches: {},
    json: false,
    quiet: false
  }
  const given = new Set<string>()

  for (let i = 0; i < words.length; i++) {
    const word = words[i]
    if (!word.startsWith('--') || word === '--') {
      const previous = words[i - 1]?.replace(/^--/, '')
      if (previous && /^(true|false)$/.test(word) && isNegatable(command)(previous)) {
        throw new UsageError(
          `unexpected '${word}' after --${previous}, which takes no separate value; ` +
            `write --${previous}=${word}, or --${previous} / --no-${previous}`,
          command
        )
      }
      if (word.startsWith('-')) throw unknownFlag(word, command)
      throw new UsageError(
        `unexpected argument '${word}' for ${command}; flags start with --, ` +
          `like --${spec.inputs[0] ?? 'json'} VALUE`,
        command
      )
    }
    const eq = word.indexOf('=')
    const name = eq === -1 ? word.slice(2) : word.slice(2, eq)
    const attached = eq === -1 ? undefined : word.slice(eq + 1)
    const flag = `--${name}`

    if (name === 'json' || name === 'quiet' || name === 'help') {
      // A bare --help was answered before the flags were read.
      if (attached !== undefined || name === 'help') {
        throw new UsageError(
          `${flag} takes no value, but was given '${attached ?? ''}'; write ${flag} alone`,
          command
        )
      }
      invocation[name] = true
      continue
    }
    const negated = name.startsWith('no-') ? name.slice(3) : undefined
    if (negated !== undefined && isNegatable(command)(negated)) {
      if (attached !== undefined) {
        throw new UsageError(
          `--no-${negated} takes no value, but was given '${attached}'; write --no-${negated} ` +
            `alone, or --${negated}=VALUE`,
          command
        )
      }
      set(negated, 'false', `--no-${negated}`)
      continue
    }
    if (hasSwitch(name) || (accepts(name) && isBooleanInput(name))) {
      set(name, attached ?? 'true', flag)
      continue
    }
    if (!accepts(name)) {
      if (negated !== undefined && accepts(negated)) {
        throw new UsageError(
          `--${negated} takes a value; --no-${negated} is only for true/false flags`,
          command
        )
      }
      throw unknownFlag(flag, command)
    }
    let value = attached
    if (value === undefined) {
      const next = words[i + 1]
      if (next === undefined || next.startsWith('--')) {
        throw new UsageError(
          `missing value for ${flag}; write ${flag} VALUE or ${flag}=VALUE`,
          command
        )
      }
      value = next
      i++
    }
    set(name, value, flag)
  }

  function set(name: string, value: string, flag: string): void {
    if (hasSwitch(name)) {
      if (!/^(true|false)$/.test(value)) {
        throw new UsageError(`invalid ${flag}=${value}; expected true or false`, command)
      }
      if (given.has(name)) throw new UsageError(`${flag} given more than once`, command)
      given.add(name)
      invocation.switches[name] = value === 'true'
      return
    }
    const input = name as InputName
    const fallback: string = INPUTS[input].default
    // the store's default depends on where it runs: action.yml says it empty
    const shownDefault = fallback
      ? `'${fallback}'`
      : input === 'store'
        ? `(artifact inside GitHub Actions, '${DEFAULT_DIRECTORY}' elsewhere)`
        : ''
    if (!value.trim() && shownDefault) {
      // In a workflow an empty input means the default; on a command line it is a slip.
      throw new UsageError(
        `${flag} is empty. Expected a value, or no ${flag} for its default ${shownDefault}.`,
        command
      )
    }
    const separator = LIST_SEPARATORS[input]
    const previous = invocation.inputs[input]
    if (previous !== undefined) {
      // Values are not echoed: this one may be a secret.
      if (separator === undefined) {
        throw new UsageError(`--${name} given more than once; expected it once`, command)
      }
      invocation.inputs[input] = `${previous}${separator}${value}`
    } else {
      invocation.inputs[input] = value
    }
  }

  for (const [name, source] of Object.entries(FLAG_ENVIRONMENT)) {
    const input = name as InputName
    const fromEnv = env[source.variable]
    if (!accepts(input) || invocation.inputs[input] !== undefined || !fromEnv) continue
    if (source.with && !source.with.some(other => invocation.inputs[other])) continue
    invocation.inputs[input] = fromEnv
  }
  if (spec.mode) invocation.inputs.mode = spec.mode
  return invocation
}

/** What readSettings reads: an input not given is '' (its action.yml default). */
export function inputSource(invocation: Invocation): (name: InputName) => string {
  return name => invocation.inputs[name] ?? ''
}
