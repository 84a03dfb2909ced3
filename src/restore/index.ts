export { restoreSnapshot } from './restore.js'
export { describeBindMount } from './bind-mounts.js'
export {
  readManifest,
  resolveSnapshotId,
  listSnapshots,
  newestComplete,
  LATEST
} from '../stores/catalog.js'
export type { ListedSnapshot, SnapshotStatus } from '../stores/catalog.js'
export type {
  BindMountPolicy,
  ConflictPolicy,
  ContainerState,
  PortPolicy,
  RestoreChoices,
  RestoreOptions,
  RestoreReport,
  RestoreStep,
  RestoredBindMount,
  RestoredContainer,
  RestoredImage,
  RestoredNetwork,
  RestoredVolume,
  StepTiming
} from './types.js'
