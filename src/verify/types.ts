import type { RegistryAuth } from '../docker/types.js'
import type { PortPolicy } from '../restore/types.js'

/** A command to run in a restored container (its name in the snapshot). */
export interface DrillCommand {
  container: string
  command: string[]
}

export interface VerifyOptions {
  snapshotId: string
  registryAuth: RegistryAuth
  /**
   * Restore into throwaway names and run `command` in the restored `container` (its name in the
   * snapshot); the check passes when the command exits 0.
   */
  drill?: DrillCommand
  /** Restore into throwaway names and check every container comes up (implied by `drill`). */
  restoreCheck: boolean
  /** Ports of the throwaway copy: `none` (default) or `ephemeral`. */
  ports?: Extract<PortPolicy, 'none' | 'ephemeral'>
  /** Health wait per container of the throwaway copy. */
  waitTimeoutMs: number
  /** How long the drill command may run. */
  drillTimeoutMs?: number
  /** Values for redacted environment variables, as for restore. */
  env?: Record<string, string>
  /**
   * Aborted when the user asks the run to stop: the throwaway restore stops at once and removes
   * what it created, and the verify fails with the interrupt instead of reporting on it.
   */
  signal?: AbortSignal
}

export type VerifyCheckKind =
  'manifest' | 'config' | 'archive' | 'image' | 'restore' | 'drill' | 'cleanup'

export interface VerifyCheck {
  kind: VerifyCheckKind
  /** What was checked, e.g. `volume pgdata (volumes/pgdata.tar.zst)`. */
  subject: string
  ok: boolean
  /** What was found: the count of entries, the registry's answer, or what is wrong. */
  detail: string
  durationMs: number
}

export interface VerifyReport {
  snapshotId: string
  ok: boolean
  checks: VerifyCheck[]
  /** The throwaway copy's prefix, when one was restored. */
  prefix?: string
  drill?: DrillCommand & { exitCode: number; output: string }
  durationMs: number
}
