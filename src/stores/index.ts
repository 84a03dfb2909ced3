import type { StoreSpec } from '../settings.js'
import { DirectoryStore } from './directory.js'
import type { SnapshotStore } from './store.js'

/** Opens the store a setting names, failing early when it cannot be used. */
export function openStore(spec: StoreSpec): Promise<SnapshotStore> {
  return DirectoryStore.open(spec.path)
}
