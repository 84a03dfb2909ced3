import type { CompressorChoice } from '../archive/index.js'
import type { CopyMethodChoice } from '../docker/helper-image.js'
import type { RegistryTarget } from '../docker/registry.js'
import type { Consistency, ImageRecord, Manifest, Selection } from '../manifest/manifest.js'
import type { TransferListener } from '../shared/transfer.js'
import type { VolumeResult } from './copies.js'
import type { QuiesceAction } from './quiesce.js'
import type { SecretEnvReport } from './secret-env.js'

export type { VolumeResult }

/** What to snapshot and how, as the user chose it (Settings.snapshot holds these). */
export interface SnapshotChoices extends Selection {
  /** Volumes to take besides those the containers mount. */
  volumes: string[]
  excludeVolumes: string[]
  consistency: Consistency
  /** Commit each container's filesystem (a container's `docker-snapshot.commit` label overrides). */
  commit: boolean
  /** Leave the images this run commits or tags on the engine (else removed once stored). */
  keepImages: boolean
  /** Capture the contents of bind mounts too (they are always recorded). */
  captureBindMounts: boolean
  compression: CompressorChoice
  compressionLevel?: number
  /** How volumes are copied (default `auto`: a helper container when the engine is local). */
  copyMethod: CopyMethodChoice
  hookTimeoutMs: number
  /** Replace a snapshot of the same id once this one is whole; without it such an id is refused. */
  replaceExisting: boolean
}

export interface SnapshotOptions
  extends
    Omit<SnapshotChoices, keyof Selection | 'keepImages' | 'copyMethod'>,
    Partial<Pick<SnapshotChoices, 'keepImages' | 'copyMethod'>> {
  snapshotId: string
  selection: Selection
  /** Keep secret-looking environment values in the manifest (the store encrypts it). */
  keepSecretEnv?: boolean
  /** Where images go; without one they are saved into the store. */
  registry?: RegistryTarget
  toolVersion: string
  /** Told, before each pause or stop and after each resume, what would need undoing. */
  onQuiesce?: (actions: QuiesceAction[]) => void
  onTransfer?: TransferListener
  /** Stops the run at the next safe point (containers are brought back first). */
  signal?: AbortSignal
  /** How long to wait for another run to release a container (default five minutes). */
  holdWaitMs?: number
}

export interface SnapshotReport {
  manifest: Manifest
  /** Where the manifest is, as the store describes it. */
  manifestLocation: string
  codec: string
  seconds: number
  /** How long containers were paused or stopped. */
  quiescedSeconds: number
  volumes: VolumeResult[]
  images: { key: string; reference: string; location: ImageRecord['location'] }[]
  /** Where secret-looking environment values went: names only. */
  secretEnv: SecretEnvReport
}
