import type { StoreSpec } from './spec.js'
import { DirectoryStore } from './directory/store.js'
import type { SnapshotStore } from './store.js'

/**
 * Opens the store a setting names, failing early when it cannot be used: for `write` (a
 * snapshot) it is created if missing, after `beforeCreate` (the run's own checks) passed, so a
 * refused run leaves no store behind; for `read` (everything else) it must exist.
 */
export function openStore(
  spec: StoreSpec,
  access: 'read' | 'write',
  beforeCreate?: () => Promise<void>
): Promise<SnapshotStore> {
  return DirectoryStore.open(spec.path, access === 'write', beforeCreate)
}
