import type { StoreSpec } from './spec.js'
import { DirectoryStore } from './directory.js'
import type { SnapshotStore } from './store.js'

/**
 * Opens the store a setting names, failing early when it cannot be used: for `write` (a
 * snapshot) it is created if missing, after `beforeCreate` (the run's own checks) passed, so a
 * refused run leaves no store behind; for `read` (everything else) it must exist. The GitHub
 * stores' clients load only when one is used (they take a second or more to load).
 */
export async function openStore(
  spec: StoreSpec,
  access: 'read' | 'write',
  beforeCreate?: () => Promise<void>
): Promise<SnapshotStore> {
  switch (spec.kind) {
    case 'directory':
      return DirectoryStore.open(spec.path, access === 'write', beforeCreate)
    case 'artifact': {
      const { ArtifactStore } = await import('./github/artifact.js')
      return ArtifactStore.open(spec, access)
    }
    case 'cache': {
      const { CacheStore } = await import('./github/cache.js')
      return CacheStore.open(spec.key, access)
    }
  }
}
