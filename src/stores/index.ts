import type { StoreSpec } from './spec.js'
import { DirectoryStore } from './directory.js'
import { ArtifactStore } from './github/artifact.js'
import { CacheStore } from './github/cache.js'
import type { SnapshotStore } from './store.js'

/**
 * Opens the store a setting names, failing early when it cannot be used: for `write` (a
 * snapshot) it is created if missing, after `beforeCreate` (the run's own checks) passed, so a
 * refused run leaves no store behind; for `read` (everything else) it must exist.
 */
export async function openStore(
  spec: StoreSpec,
  access: 'read' | 'write',
  beforeCreate?: () => Promise<void>
): Promise<SnapshotStore> {
  switch (spec.kind) {
    case 'directory':
      return DirectoryStore.open(spec.path, access === 'write', beforeCreate)
    case 'artifact':
      return ArtifactStore.open(spec, access)
    case 'cache':
      return CacheStore.open(spec.key, access)
  }
}
