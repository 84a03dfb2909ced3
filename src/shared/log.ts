/**
 * How modules report progress without knowing whether they run in a workflow step or a terminal:
 * the action passes one backed by @actions/core, the CLI one backed by the console.
 */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  /** Runs `fn` with its log lines folded under `title` where the front end can fold. */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>
}

/** Discards everything: for tests and library use. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  group: (_title, fn) => fn()
}
