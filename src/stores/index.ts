import { type RegistryCredentials, dockerCredentials } from '../docker/credentials.js'
import type { StoreSpec } from './spec.js'
import { DirectoryStore } from './directory/store.js'
import { RegistryStore } from './registry/store.js'
import type { SnapshotStore } from './store.js'

/** The registry-username and registry-password inputs, for a store whose spec says `inputs`. */
export interface GivenCredentials {
  username?: string
  password?: string
  /** Told each secret found in the Docker config or a credential helper, to mask it. */
  onSecret?: (secret: string) => void
}

/**
 * Opens the store a setting names, failing early when it cannot be used: for `write` (a
 * snapshot) it is created if missing, after `beforeCreate` (the run's own checks) passed, so a
 * refused run leaves no store behind; for `read` (everything else) it must exist. A registry
 * store takes `given` credentials when its spec says so, else the Docker config's. The GitHub
 * stores' clients load only when one is used (they take a second or more to load).
 */
export async function openStore(
  spec: StoreSpec,
  access: 'read' | 'write',
  beforeCreate?: () => Promise<void>,
  given: GivenCredentials = {}
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
    case 'registry': {
      const { username, password, onSecret } = given
      const credentials = async (): Promise<RegistryCredentials | undefined> => {
        if (spec.credentials === 'inputs') {
          return {
            username,
            password,
            source: 'the registry-username and registry-password inputs'
          }
        }
        const found = await dockerCredentials(spec.host)
        for (const secret of [found?.password, found?.identityToken]) if (secret) onSecret?.(secret)
        return found
      }
      return new RegistryStore(spec.host, spec.repository, credentials).open(
        access === 'write',
        beforeCreate
      )
    }
  }
}
