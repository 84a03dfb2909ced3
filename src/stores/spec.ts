import { InvalidSettingsError, invalidInput } from '../shared/errors.js'

/**
 * Which store a run uses, as the `store` input names it. A registry store names where its
 * credentials come from, never the secret itself (the spec is logged and saved in the action's
 * state).
 */
export type StoreSpec =
  | { kind: 'directory'; path: string }
  | {
      kind: 'registry'
      /** `host[:port]` */
      host: string
      repository: string
      /**
       * `inputs`: registry-username and registry-password; `docker-config`: the Docker config
       * and its credential helpers, as the Docker CLI finds them.
       */
      credentials: 'inputs' | 'docker-config'
    }

/** `name`, `name:port`, `[v6]:port`: a registry host as image references write it. */
const REGISTRY_HOST =
  /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d{1,5})?$/
/** The distribution spec's repository name: lowercase path components. */
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/

/** Reads the `store` input: a directory path, `dir:PATH`, or `oci://HOST[:PORT]/REPOSITORY`. */
export function parseStoreSpec(value: string): StoreSpec {
  if (value.startsWith('oci:')) return parseRegistrySpec(value)
  const explicit = /^([a-z][a-z0-9+.-]*):(.*)$/.exec(value)
  if (explicit && explicit[1] !== 'dir' && explicit[1].length > 1) {
    throw invalidInput(
      'store',
      value,
      `'${explicit[1]}:' is no kind of store this tool has: expected a directory path, dir:PATH ` +
        'or oci://HOST[:PORT]/REPOSITORY.'
    )
  }
  const path = explicit && explicit[1] === 'dir' ? explicit[2] : value
  if (!path.trim()) {
    throw invalidInput('store', value, 'The directory path is empty: expected dir:PATH or a path.')
  }
  return { kind: 'directory', path }
}

function parseRegistrySpec(value: string): StoreSpec {
  const expected = 'Expected oci://HOST[:PORT]/REPOSITORY, e.g. oci://ghcr.io/team/snapshots.'
  const match = /^oci:\/\/([^/]+)\/(.+)$/.exec(value)
  if (!match) throw invalidInput('store', value, `It names no registry and repository. ${expected}`)
  const [, host, repository] = match
  if (host.includes('@')) {
    // Shown without what comes before '@': that is a secret.
    throw new InvalidSettingsError(
      `Invalid store 'oci://…@${host.slice(host.lastIndexOf('@') + 1)}/${repository}'. ` +
        'Credentials do not belong in the store address: give registry-username and ' +
        `registry-password, or log in with docker login. ${expected}`
    )
  }
  if (!REGISTRY_HOST.test(host) || Number(/:(\d+)$/.exec(host)?.[1] ?? 1) > 65535) {
    throw invalidInput('store', value, `'${host}' is no registry host. ${expected}`)
  }
  if (/[:@]/.test(repository)) {
    throw invalidInput(
      'store',
      value,
      `The repository takes no tag or digest: each snapshot is tagged with its id. ${expected}`
    )
  }
  if (!REPOSITORY.test(repository) || repository.length > 255) {
    throw invalidInput(
      'store',
      value,
      `'${repository}' is no repository name: lowercase letters, digits and '.', '_', '-' ` +
        `between them, in path components separated by '/'. ${expected}`
    )
  }
  return { kind: 'registry', host, repository, credentials: 'docker-config' }
}
