import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'

// The action as a runner runs it: the bundle action.yml names for the main and the post step, real
// INPUT_* variables, the main step's state handed to the post step as STATE_* variables, and the
// files a runner reads outputs, state and the job summary from.

export interface StepRun {
  /** The step's process id (carrier containers it made are labelled with it). */
  pid: number
  code: number | null
  stdout: string
  outputs: Record<string, string>
  state: Record<string, string>
  summary: string
}

/** Parses the `name<<delimiter … delimiter` records of GITHUB_OUTPUT and GITHUB_STATE files. */
export function parseCommandFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
  for (const match of text.matchAll(pattern)) values[match[1]] = match[3]
  return values
}

export function inputsEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])
  )
}

/** What a runner hands the post step: the state the main step saved. */
export function stateEnv(state: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]))
}

export const action = parse(await readFile('action.yml', 'utf8')) as {
  runs: Record<string, string>
}

/**
 * A step runner that keeps the command files under `work`. A step runs as action.yml says, in
 * `cwd` when given (a runner runs it in GITHUB_WORKSPACE); `onStart` may act on the running
 * process (to kill it).
 */
export function stepRunner(work: string) {
  let steps = 0
  return async function runStep(
    step: 'main' | 'post',
    env: Record<string, string>,
    onStart?: (pid: number, output: () => string) => Promise<void>,
    cwd?: string
  ): Promise<StepRun> {
    const at = join(work, `${step}-${++steps}`)
    const files = {
      GITHUB_OUTPUT: `${at}-output`,
      GITHUB_STATE: `${at}-state`,
      GITHUB_STEP_SUMMARY: `${at}-summary`
    }
    for (const file of Object.values(files)) await writeFile(file, '')
    const child = spawn(process.execPath, [resolve(action.runs[step])], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...files, ...env }
    })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = new Promise<number | null>(resolve => child.on('close', code => resolve(code)))
    if (onStart) await onStart(child.pid!, () => stdout)
    const code = await exited
    return {
      pid: child.pid!,
      code,
      stdout,
      outputs: parseCommandFile(await readFile(files.GITHUB_OUTPUT, 'utf8')),
      state: parseCommandFile(await readFile(files.GITHUB_STATE, 'utf8')),
      summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8')
    }
  }
}
