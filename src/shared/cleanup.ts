import { describeError } from './errors.js'

/** One step of a cleanup: what it removes or puts back, and how. */
export interface CleanupStep {
  /** As the user reads it, e.g. `volume pgdata`. */
  what: string
  run: () => Promise<unknown>
}

/**
 * Runs every step in order, whatever failed before: one failure never leaves the rest undone.
 * Returns what could not be done, each as `what (why)`; `onDone` hears of each step that was.
 */
export async function tryEach(
  steps: Iterable<CleanupStep>,
  onDone?: (what: string) => void
): Promise<string[]> {
  const left: string[] = []
  for (const { what, run } of steps) {
    try {
      await run()
      onDone?.(what)
    } catch (error) {
      left.push(`${what} (${describeError(error)})`)
    }
  }
  return left
}
