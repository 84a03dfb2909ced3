import { InvalidSettingsError, invalidInput, shownValue } from '../shared/errors.js'

/** Where a run reads another workflow run's artifacts, and with what token. */
export interface OtherRun {
  /** Empty: this run (and, with a token, the earlier runs of its workflow). */
  runId?: number
  /** `owner/name`; empty: this run's repository. */
  repository?: string
  /** A secret: never logged, kept out of the action's state (see withoutSecrets). */
  token?: string
}

/**
 * Which store a run uses, as the `store` input (and the inputs that go with it) name it. A
 * registry store names where its credentials come from, never the secret itself (the spec is
 * logged and saved in the action's state).
 */
export type StoreSpec =
  | { kind: 'directory'; path: string }
  | ({ kind: 'artifact'; retentionDays?: number } & OtherRun)
  | { kind: 'cache'; key: string }
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

/** The inputs a store spec is read from (a subset of the action's inputs). */
export type StoreInputName =
  'store' | 'retention-days' | 'run-id' | 'run-repository' | 'github-token' | 'cache-key'

/** The store used when the `store` input is empty: workflow artifacts inside GitHub Actions. */
export const DEFAULT_DIRECTORY = '.docker-snapshots'

/** `name`, `name:port`, `[v6]:port`: a registry host as image references write it. */
const REGISTRY_HOST =
  /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d{1,5})?$/
/** The distribution spec's repository name: lowercase path components. */
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/

/**
 * Reads the `store` input: `artifact`, `cache`, `oci://HOST[:PORT]/REPOSITORY`, a directory
 * path, or `dir:PATH`; empty is `artifact` inside GitHub Actions (GITHUB_ACTIONS=true) and
 * `.docker-snapshots` elsewhere.
 */
export function parseStoreSpec(value: string, env: NodeJS.ProcessEnv = process.env): StoreSpec {
  if (value === '') {
    return env.GITHUB_ACTIONS === 'true'
      ? { kind: 'artifact' }
      : { kind: 'directory', path: DEFAULT_DIRECTORY }
  }
  if (value === 'artifact') return { kind: 'artifact' }
  if (value === 'cache') return { kind: 'cache', key: DEFAULT_CACHE_KEY }
  if (value.startsWith('oci:')) return parseRegistrySpec(value)
  const explicit = /^([a-z][a-z0-9+.-]*):(.*)$/.exec(value)
  if (explicit && explicit[1] !== 'dir' && explicit[1].length > 1) {
    throw invalidInput(
      'store',
      value,
      `'${explicit[1]}:' is no kind of store this tool has: expected artifact, cache, a ` +
        'directory path, dir:PATH or oci://HOST[:PORT]/REPOSITORY.'
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

export const DEFAULT_CACHE_KEY = 'docker-snapshot'

/**
 * The store spec from the `store` input and those that go with its kind; an input given for
 * another kind of store is an error (it would be silently ignored). `read` gives an input's
 * value as given, '' when not given (the `store` input's own default is not applied).
 */
export function readStoreSpec(
  read: (name: StoreInputName) => string,
  env: NodeJS.ProcessEnv = process.env
): StoreSpec {
  const spec = parseStoreSpec(read('store').trim(), env)
  const given = (name: StoreInputName) => read(name).trim()
  const only = (kind: StoreSpec['kind'], names: StoreInputName[]) => {
    if (spec.kind === kind) return
    const stray = names.find(name => given(name))
    if (stray) {
      // the token is a secret: never shown
      const value = stray === 'github-token' ? '' : ` ${shownValue(given(stray))}`
      throw new InvalidSettingsError(
        `${stray}${value} is set, but the store is ${spec.kind === 'directory' ? `the directory ${spec.path}` : spec.kind}: ` +
          `${stray} is for store: ${kind}. Expected store: ${kind}, or no ${stray}.`
      )
    }
  }
  only('artifact', ['retention-days', 'run-id', 'run-repository', 'github-token'])
  only('cache', ['cache-key'])
  if (spec.kind === 'artifact') {
    const days = given('retention-days')
    if (days) {
      if (!/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 90) {
        throw invalidInput('retention-days', days, 'Expected a whole number of days from 1 to 90.')
      }
      spec.retentionDays = Number(days)
    }
    const runId = given('run-id')
    if (runId) {
      if (!/^\d+$/.test(runId) || !Number.isSafeInteger(Number(runId)) || Number(runId) < 1) {
        throw invalidInput('run-id', runId, 'Expected a workflow run id: a positive whole number.')
      }
      spec.runId = Number(runId)
    }
    const repository = given('run-repository')
    if (repository) {
      if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) {
        throw invalidInput('run-repository', repository, 'Expected owner/name, like octo-org/app.')
      }
      spec.repository = repository
    }
    const token = given('github-token')
    if (token) spec.token = token
  }
  if (spec.kind === 'cache') {
    const key = given('cache-key')
    if (key) {
      if (key.length > 200 || /[,\s]/.test(key)) {
        throw invalidInput(
          'cache-key',
          key,
          'Expected a key of at most 200 characters without commas or white space.'
        )
      }
      spec.key = key
    }
  }
  return spec
}

/** The secrets a spec holds, to be masked wherever output goes. */
export function secretsOf(spec: StoreSpec): string[] {
  return spec.kind === 'artifact' && spec.token ? [spec.token] : []
}

/** The spec without its secrets: what may be saved (the action's state) or shown. */
export function withoutSecrets(spec: StoreSpec): StoreSpec {
  if (spec.kind !== 'artifact' || spec.token === undefined) return spec
  const copy = { ...spec }
  delete copy.token
  return copy
}
