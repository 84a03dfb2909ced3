import type { Logger } from '../../../src/shared/log.js'

/** A logger that keeps its lines, for assertions on what the user was told. */
export function recordingLogger() {
  const lines: string[] = []
  const log: Logger = {
    debug: () => undefined,
    info: message => lines.push(`info: ${message}`),
    warn: message => lines.push(`warn: ${message}`),
    group: (_title, fn) => fn()
  }
  return { log, lines }
}
