import type { RegistryAuth } from '../docker/types.js'
import type { CopyMethodChoice } from '../docker/helper-image.js'

export type ConflictPolicy = 'fail' | 'replace' | 'skip'
/**
 * What to do with published host ports: `keep` them, let the engine choose host ports
 * (`ephemeral`, for a copy beside the original), or publish `none`.
 */
export type PortPolicy = 'keep' | 'ephemeral' | 'none'
/**
 * What the restored containers' bind mounts mount: the recorded host paths as they are (`host`),
 * or (`isolate`, for a throwaway copy that must never write to the original's live files) a fresh
 * volume per writable bind mount, holding the contents the snapshot captured or empty when it
 * captured none; a read-only bind mount keeps its host path, read-only.
 */
export type BindMountPolicy = 'host' | 'isolate'

/** What to restore and how, as the user chose it (Settings.restore holds these). */
export interface RestoreChoices {
  /**
   * When a container or volume of the target name exists: `fail` before changing anything,
   * `replace` it (after every archive was verified), or `skip` it and restore the rest.
   */
  onConflict: ConflictPolicy
  /** Prepended to every container, volume and network name (and to the compose project label). */
  prefix: string
  /** Restore only these containers (names in the snapshot), with their volumes and networks. */
  containers?: string[]
  /** Restore these volumes; alone (without `containers`), only volumes are restored. */
  volumes?: string[]
  /** Start the containers that were running when the snapshot was taken. */
  start: boolean
  /** How long each started container may take to become healthy (or running, without a healthcheck). */
  waitTimeoutMs: number
  ports: PortPolicy
  /** Values for environment variables the snapshot left out as secret and the image does not set. */
  env: Record<string, string>
  /**
   * Keep what this run created when it fails (to read `docker logs` of a container that did not
   * become healthy). By default a failed restore removes what it created.
   */
  keepOnFailure: boolean
  /** How volumes are written: `auto` (a helper container when the engine is local), `helper`, `archive`. */
  copyMethod: CopyMethodChoice
}

export interface RestoreOptions
  extends
    Omit<RestoreChoices, 'keepOnFailure' | 'copyMethod'>,
    Partial<Pick<RestoreChoices, 'keepOnFailure' | 'copyMethod'>> {
  /** The snapshot to restore, or `latest` for the newest complete one in the store. */
  snapshotId: string
  /** `host` unless given. */
  bindMounts?: BindMountPolicy
  /** Credentials for pulling images recorded at a registry (`{}` for anonymous). */
  registryAuth: RegistryAuth
  /**
   * Aborted when the user asks the run to stop: the restore stops at once (a volume midway) and
   * unwinds as on a failure, putting back what it had set aside.
   */
  signal?: AbortSignal
  /**
   * How long on-conflict replace waits for another run (a snapshot) to release a container it
   * would stop (default five minutes).
   */
  holdWaitMs?: number
}

export type RestoreStep =
  'manifest' | 'plan' | 'verify' | 'images' | 'volumes' | 'networks' | 'containers' | 'start'

export interface StepTiming {
  step: RestoreStep
  durationMs: number
}

export interface RestoredImage {
  key: string
  /** The reference containers were created from (a tag, `repo@digest`, or the image id). */
  reference: string
  id: string
  action: 'present' | 'pulled' | 'loaded'
}

export interface RestoredVolume {
  /** Name in the snapshot. */
  name: string
  /** Name on the engine after the restore. */
  target: string
  action: 'created' | 'replaced' | 'skipped'
  /** Tar entries written below the root (0 when skipped). */
  entries: number
  /** Created empty: the snapshot left its contents out (exclude-volumes). */
  empty?: true
}

export interface RestoredNetwork {
  name: string
  target: string
  /** `reused`: it existed (or is built in) and was left as it was. */
  action: 'created' | 'reused'
}

export interface RestoredBindMount {
  /** The restored container's name. */
  container: string
  /** The host path the original mounted. */
  source: string
  destination: string
  /**
   * What the restored container got there: the host path (`host`), a fresh volume holding the
   * contents the snapshot captured (`captured`), an empty fresh volume (`empty`), or, where the
   * image has a file (a volume cannot stand in for one), the image's file in the container's own
   * layer (`image`).
   */
  given: 'host' | 'captured' | 'empty' | 'image'
  readOnly: boolean
  /** The fresh volume (`captured`, `empty`): created by the restore, removed with the copy. */
  volume?: string
}

export type ContainerState = 'healthy' | 'running' | 'created' | 'skipped'

export interface RestoredContainer {
  name: string
  target: string
  /** The new container's id; absent when skipped. */
  id?: string
  action: 'created' | 'replaced' | 'skipped'
  /** `created`: not started (it was not running, or `start` was off). */
  state: ContainerState
}

export interface RestoreReport {
  snapshotId: string
  prefix: string
  steps: StepTiming[]
  durationMs: number
  images: RestoredImage[]
  volumes: RestoredVolume[]
  networks: RestoredNetwork[]
  containers: RestoredContainer[]
  bindMounts: RestoredBindMount[]
  /**
   * Pre-existing containers and volumes replaced because `onConflict` was `replace` (kept aside
   * until the replacements were healthy, then removed).
   */
  replaced: string[]
}
