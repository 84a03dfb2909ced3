export { restoreSnapshot, checkRestoreOptions } from './restore.js'
export { verifySnapshot, removeRestored, throwawayPrefix } from './verify.js'
export { describeBindMount } from './bind-mounts.js'
export {
  readManifest,
  resolveSnapshotId,
  listSnapshots,
  newestComplete,
  LATEST
} from './read-manifest.js'
export type { ListedSnapshot, SnapshotStatus } from './read-manifest.js'
export type {
  BindMountPolicy,
  ConflictPolicy,
  ContainerState,
  PortPolicy,
  RestoreOptions,
  RestoreReport,
  RestoreStep,
  RestoredBindMount,
  RestoredContainer,
  RestoredImage,
  RestoredNetwork,
  RestoredVolume,
  StepTiming,
  VerifyCheck,
  VerifyCheckKind,
  VerifyOptions,
  VerifyReport
} from './types.js'
