/**
 * What `@actions/artifact` and `@actions/cache` print: they log through `@actions/core`, which
 * writes to stdout, and stdout is the CLI's result channel (`--json`). Output written while a
 * client call runs (in its async context) goes to stderr instead, where the runner still reads
 * workflow commands (`::add-mask::` for the signed URLs); outside a runner their `::debug::`
 * lines (request bodies with signed URLs) are dropped.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

const inClientCall = new AsyncLocalStorage<true>()
let installed = false

/** Runs `call` (a client call) with its stdout output sent to stderr. */
export function quietly<T>(call: () => Promise<T>): Promise<T> {
  install()
  return inClientCall.run(true, call)
}

function install(): void {
  if (installed) return
  installed = true
  const stdoutWrite = process.stdout.write.bind(process.stdout)
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    if (!inClientCall.getStore())
      return (stdoutWrite as (...args: unknown[]) => boolean)(chunk, ...rest)
    if (process.env.GITHUB_ACTIONS !== 'true' && String(chunk).startsWith('::debug::')) {
      const done = rest.find(arg => typeof arg === 'function') as (() => void) | undefined
      done?.()
      return true
    }
    return (process.stderr.write as (...args: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stdout.write
}
