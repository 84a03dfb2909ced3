import { InvalidSettingsError } from '../shared/errors.js'

/** The CLI's exit codes; help prints EXIT_CODE_TABLE, so scripts can rely on them. */
export const EXIT_OK = 0
/** The operation failed: engine, registry, store, hooks, restore health... */
export const EXIT_FAILED = 1
/** Bad arguments or settings: nothing was touched. */
export const EXIT_USAGE = 2
/** Verify or drill found that the snapshot cannot be trusted. */
export const EXIT_UNTRUSTED = 3
/** Interrupted by SIGINT or SIGTERM, after bringing paused or stopped containers back. */
export const EXIT_INTERRUPTED = 130

export type ExitCode =
  | typeof EXIT_OK
  | typeof EXIT_FAILED
  | typeof EXIT_USAGE
  | typeof EXIT_UNTRUSTED
  | typeof EXIT_INTERRUPTED

export const EXIT_CODE_TABLE: readonly { code: ExitCode; meaning: string }[] = [
  { code: EXIT_OK, meaning: 'success' },
  {
    code: EXIT_FAILED,
    meaning: 'the operation failed (engine, registry, store, hook, restored container health...)'
  },
  { code: EXIT_USAGE, meaning: 'bad arguments or settings; nothing was touched' },
  {
    code: EXIT_UNTRUSTED,
    meaning:
      'verification failed: the snapshot cannot be trusted (damaged archive or manifest, failed check or drill)'
  },
  {
    code: EXIT_INTERRUPTED,
    meaning: 'interrupted (SIGINT or SIGTERM), after bringing paused or stopped containers back'
  }
]

/** Errors told apart by name, as the typed errors set it (a bundle may hold two copies of a class). */
const BY_NAME: Readonly<Record<string, ExitCode>> = {
  InvalidSettingsError: EXIT_USAGE,
  UsageError: EXIT_USAGE,
  ArchiveIntegrityError: EXIT_UNTRUSTED,
  ManifestError: EXIT_UNTRUSTED,
  InterruptedError: EXIT_INTERRUPTED
}

/** The exit code for a run that threw `error`. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof InvalidSettingsError) return EXIT_USAGE
  if (error instanceof Error && Object.hasOwn(BY_NAME, error.name)) return BY_NAME[error.name]
  return EXIT_FAILED
}
