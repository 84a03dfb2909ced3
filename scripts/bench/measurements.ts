// The shape of the bench's results, as written to bench-results.json.
import type { Baselines } from './baselines.js'
import type { Stages } from './stages.js'
import type { Summary } from './stats.js'
import type { TreeDescription } from './volumes.js'

export interface SnapshotSummary extends Summary {
  tarBytes: number
  storedBytes: number
  codec: string
  copySecondsMedian?: number | null
  sizeMib?: number
}

export interface RestoreSummary extends Summary {
  tarBytes: number
  correct: boolean
  steps: Record<string, number | null>
  restoredTree: TreeDescription[]
}

export interface Measurements extends Baselines {
  snapshotZstd: SnapshotSummary
  snapshotGzip: SnapshotSummary
  /** Zstd, encrypted to an age public key (see src/stores/encrypted.ts). */
  snapshotZstdEncrypted?: SnapshotSummary
  snapshotZstdSmall?: SnapshotSummary
  restore: RestoreSummary
  stages?: Stages
}

export interface Target {
  name: string
  value: number
  limit: number
  pass: boolean
  detail: string
}
