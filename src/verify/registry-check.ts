/**
 * Whether a registry still holds a manifest, asked with one HEAD request of the distribution API
 * (`/v2/<repo>/manifests/<digest>`), answering a Basic or Bearer challenge when there is one.
 */
import { askRegistry } from '../docker/registry.js'
import type { RegistryAuth } from '../docker/types.js'
import { RegistryError, errorMessage } from '../shared/errors.js'
import { IMAGE_INDEX_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE } from '../stores/oci/format.js'

/** Docker Hub's name in references, and where its API answers. */
const DOCKER_HUB = 'docker.io'

const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  IMAGE_MANIFEST_MEDIA_TYPE,
  IMAGE_INDEX_MEDIA_TYPE
].join(', ')

export interface ImageLocation {
  /** `host[:port]`; `docker.io` for Docker Hub. */
  registry: string
  /** Repository path, e.g. `team/snapshots` (`library/busybox` on Docker Hub). */
  repository: string
}

/** Where `reference` (`[host[:port]/]path[:tag][@digest]`) lives, as the engine reads it. */
export function locateImage(reference: string): ImageLocation {
  const at = reference.indexOf('@')
  let name = at >= 0 ? reference.slice(0, at) : reference
  const colon = name.lastIndexOf(':')
  if (colon > name.lastIndexOf('/')) name = name.slice(0, colon)
  const slash = name.indexOf('/')
  const first = slash >= 0 ? name.slice(0, slash) : ''
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    return { registry: first, repository: name.slice(slash + 1) }
  }
  return { registry: DOCKER_HUB, repository: slash >= 0 ? name : `library/${name}` }
}

export type ManifestPresence =
  | { found: true; detail: string }
  | { found: false; detail: string }
  /** The registry cannot be asked this way (Docker Hub): ask the engine to pull instead. */
  | { found: undefined; detail: string }

export async function checkRegistryManifest(
  location: ImageLocation,
  digest: string,
  auth: RegistryAuth,
  timeoutMs = 15_000
): Promise<ManifestPresence> {
  if (location.registry === DOCKER_HUB) {
    return { found: undefined, detail: 'Docker Hub is checked by pulling' }
  }
  const path = `/v2/${location.repository}/manifests/${digest}`
  const headers = (authorization?: string): Record<string, string> =>
    authorization
      ? { Accept: MANIFEST_TYPES, Authorization: authorization }
      : { Accept: MANIFEST_TYPES }

  let response: Response
  try {
    // The scheme that answers first (https, else http as for an insecure registry) is kept.
    const first = await askRegistry(location.registry, path, {
      method: 'HEAD',
      headers: headers(basicAuthorization(auth)),
      timeoutMs
    })
    response = first.response
    if (response.status === 401) {
      const bearer = await bearerToken(response.headers.get('www-authenticate'), auth, timeoutMs)
      if (bearer !== undefined) {
        response = await fetch(`${first.base}${path}`, {
          method: 'HEAD',
          headers: headers(`Bearer ${bearer}`),
          signal: AbortSignal.timeout(timeoutMs)
        })
      }
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code
    return {
      found: false,
      detail:
        error instanceof RegistryError
          ? error.message
          : `registry ${location.registry} did not answer (${cause ?? errorMessage(error)})`
    }
  }
  if (response.ok) {
    const answered = response.headers.get('docker-content-digest')
    if (answered && answered !== digest) {
      return { found: false, detail: `registry answered with digest ${answered}, not ${digest}` }
    }
    return { found: true, detail: `${location.registry} has ${location.repository}@${digest}` }
  }
  if (response.status === 404) {
    return {
      found: false,
      detail: `${location.registry} no longer has ${location.repository}@${digest} (404)`
    }
  }
  if (response.status === 401 || response.status === 403) {
    return {
      found: false,
      detail:
        `${location.registry} refused access to ${location.repository} (${response.status}); ` +
        'give registry credentials that can pull it'
    }
  }
  return { found: false, detail: `${location.registry} answered ${response.status}` }
}

function basicAuthorization(auth: RegistryAuth): string | undefined {
  if (!auth.username) return undefined
  const token = Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')
  return `Basic ${token}`
}

/** A token from the realm a `Bearer realm=...,service=...,scope=...` challenge names. */
async function bearerToken(
  challenge: string | null,
  auth: RegistryAuth,
  timeoutMs: number
): Promise<string | undefined> {
  if (!challenge || !/^bearer\s/i.test(challenge)) return undefined
  const parameters = new Map<string, string>()
  for (const match of challenge.matchAll(/(\w+)="([^"]*)"/g)) parameters.set(match[1]!, match[2]!)
  const realm = parameters.get('realm')
  if (!realm) return undefined
  const url = new URL(realm)
  for (const key of ['service', 'scope']) {
    const value = parameters.get(key)
    if (value) url.searchParams.set(key, value)
  }
  const authorization = basicAuthorization(auth)
  const response = await fetch(url, {
    headers: authorization ? { Authorization: authorization } : {},
    signal: AbortSignal.timeout(timeoutMs)
  })
  if (!response.ok) return undefined
  const body = (await response.json()) as { token?: string; access_token?: string }
  return body.token ?? body.access_token
}
