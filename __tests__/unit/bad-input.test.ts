/**
 * Every input and flag with values that cannot work (the table in __tests__/bad-input.ts): the
 * action's readSettings and the CLI's main refuse each with its exact message, which names the
 * input, shows the value (never a secret one) and says what is accepted; the CLI exits 2; and
 * neither the engine nor the store is touched.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { COMMANDS, COMMAND_NAMES, GLOBAL_FLAGS, SWITCHES } from '../../src/cli/commands.js'
import type { CommandName } from '../../src/cli/commands.js'
import { main } from '../../src/cli/main.js'
import { InvalidSettingsError } from '../../src/shared/errors.js'
import type { InputName } from '../../src/app/inputs.js'
import { INPUTS } from '../../src/app/inputs.js'
import { execute } from '../../src/app/runner.js'
import { readSettings } from '../../src/app/settings.js'
import type { BadInput } from '../bad-input.js'
import { BAD_INPUTS, ENV_VALUE, PASSWORD } from '../bad-input.js'
import { shopScene } from './fakes/scene.js'

/** The CLI's words for a case: its own, or the command of its mode with `--name=value` flags. */
function argvOf(row: BadInput): string[] | undefined {
  if (row.argv === false) return undefined
  if (row.argv) return row.argv
  const inputs = row.inputs ?? {}
  const mode = inputs.mode
  const names = (Object.keys(inputs) as InputName[]).filter(name => name !== 'mode')
  // The drill runs outside the injected boundaries: a case is never sent there.
  const command = COMMAND_NAMES.filter(name => name !== 'drill').find(
    (name: CommandName) =>
      (!mode || COMMANDS[name].mode === mode) &&
      names.every(input => COMMANDS[name].inputs.includes(input))
  )
  if (!command) throw new Error(`no command takes ${names.join(', ')} in mode ${String(mode)}`)
  return [command, ...names.map(name => `--${name}=${inputs[name]}`)]
}

class Captured {
  text = ''
  isTTY = false
  write(chunk: string): boolean {
    this.text += chunk
    return true
  }
}

/** Runs the CLI's main with the shared fakes behind every boundary; reports what it touched. */
async function runCli(argv: string[]) {
  const { fake, store } = shopScene()
  const stdout = new Captured()
  const stderr = new Captured()
  const opened: string[] = []
  const openStore = async () => {
    opened.push('store')
    return store
  }
  const code = await main(argv, {
    stdout,
    stderr,
    env: {},
    signals: new EventEmitter(),
    now: () => Date.parse('2026-11-30T12:00:00Z'),
    exit: () => undefined,
    boundaries: { engine: () => fake.engine, openStore, now: () => new Date() },
    execute
  })
  return { code, stdout: stdout.text, stderr: stderr.text, fake, store, opened }
}

/** The part of a value a message shows: trimmed, and a long one cut short as `shown` does. */
const visible = (value: string) => value.trim().slice(0, 40)

const label = (row: BadInput) =>
  `${row.input} ${row.label ?? JSON.stringify(row.value)}` +
  (row.inputs ? '' : ` (${JSON.stringify(argvOf(row))})`)

describe('bad input: the table covers every input and flag', () => {
  it.each(Object.keys(INPUTS) as InputName[])('input %s has a case the action reads', name => {
    expect(BAD_INPUTS.some(row => row.input === name && row.inputs)).toBe(true)
  })

  it.each((Object.keys(INPUTS) as InputName[]).filter(name => name !== 'mode'))(
    'flag --%s has a case the CLI reads',
    name => {
      expect(BAD_INPUTS.some(row => row.input === name && argvOf(row))).toBe(true)
    }
  )

  it.each([...Object.keys(SWITCHES), ...Object.keys(GLOBAL_FLAGS), 'mode', 'command'])(
    'the CLI-only word %s has a case',
    name => {
      expect(BAD_INPUTS.some(row => row.input === name && !row.inputs && argvOf(row))).toBe(true)
    }
  )
})

describe('bad input: each message names the input, shows the value and says what is accepted', () => {
  it.each(BAD_INPUTS.map(row => ({ row, name: label(row) })))('$name', ({ row }) => {
    expect(row.message).toContain(row.input)
    if (row.secret) {
      expect(row.message).not.toContain(row.value)
    } else if (row.value.trim()) {
      expect(row.message).toContain(visible(row.value))
    }
    expect(row.message).toMatch(/expected|did you mean|the commands are|write /i)
  })
})

describe('bad input: the action refuses it before anything', () => {
  it.each(BAD_INPUTS.filter(row => row.inputs).map(row => ({ row, name: label(row) })))(
    '$name',
    ({ row }) => {
      const inputs = row.inputs ?? {}
      let thrown: unknown
      try {
        readSettings(name => inputs[name] ?? '')
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(InvalidSettingsError)
      expect((thrown as Error).name).toBe('InvalidSettingsError')
      expect((thrown as Error).message).toBe(row.message)
    }
  )
})

describe('bad input: the CLI exits 2, says so, and touches nothing', () => {
  it.each(BAD_INPUTS.filter(row => argvOf(row)).map(row => ({ row, name: label(row) })))(
    '$name',
    async ({ row }) => {
      const argv = argvOf(row)!
      const run = await runCli(argv)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(new RegExp(`^error: [^\\n]*\\nrun 'docker-snapshot [^']*--help'`))
      expect(run.stderr.slice('error: '.length, run.stderr.indexOf('\n'))).toBe(row.message)
      expect(run.stdout).toBe('')
      for (const secret of [PASSWORD, ENV_VALUE]) {
        expect(run.stderr + run.stdout).not.toContain(secret)
      }
      expect(run.fake.events).toEqual([])
      expect(run.store.events).toEqual([])
      expect(run.opened).toEqual([])

      const json = await runCli(['--json', ...argv])
      expect(json.code).toBe(2)
      expect(JSON.parse(json.stdout)).toMatchObject({
        event: 'result',
        ok: false,
        exitCode: 2,
        error: { message: row.message }
      })
    }
  )
})
