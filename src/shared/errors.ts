/**
 * Every failure the tool reports is one of these: a `name` to tell them apart, and a message that
 * says what went wrong and what to do next. Messages never carry secrets.
 */
export class SnapshotError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Settings or arguments that cannot work: nothing has been touched yet. */
export class InvalidSettingsError extends SnapshotError {}

/** A value as an error message shows it: quoted, control characters escaped, long ones cut. */
export function shownValue(value: string): string {
  const head = value.length > 60 ? `${value.slice(0, 40)}…` : value
  // eslint-disable-next-line no-control-regex
  const quoted = /[\u0000-\u001f\u007f]/.test(head) ? JSON.stringify(head) : `'${head}'`
  return value.length > 60 ? `${quoted} (${value.length} characters)` : quoted
}

/** The error for input `name` (an action input or CLI flag) whose value is not accepted. */
export function invalidInput(name: string, value: string, expected: string): InvalidSettingsError {
  return new InvalidSettingsError(`Invalid ${name} ${shownValue(value)}. ${expected}`)
}

/** No Docker engine answered at the address that was tried. */
export class EngineUnavailableError extends SnapshotError {}

/** The engine refused or failed a call (the message names the call and the object). */
export class EngineError extends SnapshotError {}

/** A container, volume, network or image named by the user does not exist. */
export class NotFoundError extends SnapshotError {}

/** A registry refused a push or pull, or could not be reached. */
export class RegistryError extends SnapshotError {}

/** The store could not write, read, list or delete (full disk, permissions, missing object). */
export class StoreError extends SnapshotError {}

/** A manifest is missing, malformed, of an unknown version, or was modified after it was written. */
export class ManifestError extends SnapshotError {}

/** An archive's bytes do not match what the manifest recorded, or the archive is unsafe to unpack. */
export class ArchiveIntegrityError extends SnapshotError {}

/** Restoring would overwrite something that exists, and the conflict policy forbids it. */
export class ConflictError extends SnapshotError {}

/** A user hook (pre/post exec, drill command) failed or timed out. */
export class HookError extends SnapshotError {}

/** A restored container did not become running or healthy in time. */
export class HealthError extends SnapshotError {}

/** Another docker-snapshot run holds a container this run needs, and did not release it in time. */
export class ContainerHeldError extends SnapshotError {}

/** The run stopped because the user (Ctrl-C) or the workflow runner (a cancel) asked it to. */
export class InterruptedError extends SnapshotError {}

/** What anything thrown says of itself: an Error's message, else its string form. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** One line for the user: the message, with the cause's message when it adds something. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return errorMessage(error)
  const cause = error.cause instanceof Error ? error.cause.message : undefined
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message
}
