import { spawn } from 'node:child_process'
import { describeError } from './project.js'

/** A failure the bench reports as one line and an exit status (2: wrong usage). */
export class BenchError extends Error {
  override name = 'BenchError'
  constructor(
    message: string,
    readonly exitCode = 1
  ) {
    super(message)
  }
}

export function log(message: string): void {
  console.error(`bench: ${message}`)
}

interface Cleanup {
  label: string
  undo: () => Promise<unknown> | unknown
}

/** Undo actions for what this run created, undone newest first. */
export class Cleanups {
  readonly #pending: Cleanup[] = []

  /** Registers `undo`; the returned function runs it now and forgets it. */
  add(label: string, undo: Cleanup['undo']): () => Promise<void> {
    const entry = { label, undo }
    this.#pending.push(entry)
    return async () => {
      const i = this.#pending.indexOf(entry)
      if (i >= 0) this.#pending.splice(i, 1)
      await undo()
    }
  }

  async runAll(): Promise<void> {
    for (let entry = this.#pending.pop(); entry; entry = this.#pending.pop()) {
      try {
        await entry.undo()
      } catch (error) {
        log(`cleanup of ${entry.label} failed: ${describeError(error)}`)
      }
    }
  }
}

export interface ProcessResult {
  code: number | null
  signal: NodeJS.Signals | null
  seconds: number
  stdout: string
  stderr: string
}

/** Runs a program; resolves with its exit status, output and wall time. */
export function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; allowFail?: boolean } = {}
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env }
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const result: ProcessResult = {
        code,
        signal,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8')
      }
      if (options.allowFail || code === 0) return resolve(result)
      const tail = result.stderr.trim().split('\n').slice(-15).join('\n')
      reject(new BenchError(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${tail}`))
    })
  })
}

/** Runs a bash pipeline (pipefail) whose only variables are the named `$1`, `$2`... arguments. */
export function sh(script: string, args: string[] = []): Promise<ProcessResult> {
  return run('bash', ['-o', 'pipefail', '-c', script, 'bench', ...args])
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
