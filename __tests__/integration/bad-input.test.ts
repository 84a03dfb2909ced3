/**
 * Bad input against a live container, through the bundle users run: a few cases of the table in
 * __tests__/bad-input.ts, each aimed at a running container and a store that does not exist yet.
 * Each must exit 2 with its message, leave the container running, unpaused and never restarted,
 * and create no store directory (neither the one named nor the default one in the working
 * directory).
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InputName } from '../../src/app/inputs.js'
import { BAD_INPUTS, ENV_VALUE, PASSWORD } from '../bad-input.js'
import { CLI, docker, removeByPrefix, runBundle, sleeper, uniquePrefix } from './support.js'

const prefix = uniquePrefix('bad-input')
const app = `${prefix}app`
const data = `${prefix}data`
let workDir: string
let store: string
let startedAt: string

/** Whether the app runs, is paused, and when it started: a refused run must change none of it. */
const appState = () =>
  docker('inspect', '-f', '{{.State.Running}} {{.State.Paused}} {{.State.StartedAt}}', app)

/** The table's case for `input` with `value`, as flags (`--name=value`), mode left out. */
function flagsOf(input: string, value: string): string[] {
  const row = BAD_INPUTS.find(candidate => candidate.input === input && candidate.value === value)
  if (!row?.inputs)
    throw new Error(`no action case for ${input} ${value} in __tests__/bad-input.ts`)
  const inputs = row.inputs
  return (Object.keys(inputs) as InputName[])
    .filter(name => name !== 'mode')
    .map(name => `--${name}=${inputs[name]}`)
}

function messageOf(input: string, value: string): string {
  return BAD_INPUTS.find(row => row.input === input && row.value === value)!.message
}

beforeAll(async () => {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: build it with \`npm run package\` first`)
  workDir = await mkdtemp(join(tmpdir(), 'dst-bad-input-'))
  store = join(workDir, 'store')
  await docker('volume', 'create', data)
  await sleeper(app, '-v', `${data}:/data`)
  startedAt = await docker('inspect', '-f', '{{.State.StartedAt}}', app)
})

afterAll(async () => {
  await removeByPrefix(prefix)
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

const target = () => ['--containers', app, '--store', store]

describe('bad input against a live container (bundled CLI)', () => {
  it.each([
    { input: 'compression-level', value: '25', command: 'snapshot' },
    { input: 'compression-level', value: '12', command: 'snapshot' },
    { input: 'consistency', value: 'freeze', command: 'snapshot' },
    { input: 'hook-timeout', value: '0', command: 'snapshot' },
    { input: 'snapshot-id', value: 'team/nightly', command: 'snapshot' },
    { input: 'labels', value: '=prod', command: 'snapshot' },
    { input: 'registry', value: 'localhost:99999', command: 'snapshot' },
    { input: 'registry-password', value: PASSWORD, command: 'snapshot' },
    { input: 'repository', value: 'Bad', command: 'snapshot' },
    { input: 'env', value: ENV_VALUE, command: 'restore' }
  ])(
    '$command with bad $input ($value) exits 2 and touches nothing',
    async ({ input, value, command }) => {
      const args =
        command === 'snapshot'
          ? [command, ...target(), ...flagsOf(input, value)]
          : [command, '--store', store, ...flagsOf(input, value)]
      const run = await runBundle(args, { cwd: workDir })
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toContain(`error: ${messageOf(input, value)}\n`)
      expect(run.stdout).toBe('')
      expect(run.stderr).not.toContain(PASSWORD)
      expect(run.stderr).not.toContain(ENV_VALUE)
      expect(await appState()).toBe(`true false ${startedAt}`)
      expect(await readdir(workDir)).toEqual([])
    }
  )

  it('an empty --store on the command line is refused, not taken as the default directory', async () => {
    const run = await runBundle(['snapshot', '--containers', app, '--store='], { cwd: workDir })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(
      'error: --store is empty. Expected a value, or no --store for its default (artifact inside ' +
        "GitHub Actions, '.docker-snapshots' elsewhere)."
    )
    expect(await readdir(workDir)).toEqual([])
    expect(await appState()).toBe(`true false ${startedAt}`)
  })
})
