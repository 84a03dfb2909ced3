import { createHash } from 'node:crypto'
import { RegistryError } from '../shared/errors.js'
import { dockerCredentials } from './credentials.js'
import type { RegistryAuth } from './types.js'

/** Where images of a snapshot go: `address/repository:tag`. */
export interface RegistryTarget {
  /** Host and port, e.g. `127.0.0.1:5000` or `ghcr.io`. */
  address: string
  /** Repository path below the address, e.g. `team/snapshots`. */
  repository: string
  auth: RegistryAuth
}

/**
 * Credentials for `address`: the ones given, else the Docker config's as the Docker CLI finds
 * them (credential helpers included, see credentials.ts), else anonymous (`{}`, which the
 * engine still requires).
 */
export async function registryAuth(
  address: string,
  username?: string,
  password?: string
): Promise<RegistryAuth> {
  if (username || password) return { username, password, serveraddress: address }
  const found = await dockerCredentials(address)
  if (found?.identityToken) return { identitytoken: found.identityToken, serveraddress: address }
  if (found?.password !== undefined || found?.username !== undefined) {
    return { username: found.username, password: found.password, serveraddress: address }
  }
  return {}
}

/** The registry's base URL that answered, and its answer. */
export interface RegistryAnswer {
  /** `https://host:port` or `http://host:port`. */
  base: string
  response: Response
}

/**
 * Asks a registry's API (`path` below the address) as the engine reaches a registry: over https,
 * then over plain http when https gets no answer at all (refused, or not TLS), as for an insecure
 * registry. Snapshot's reachability check and verify's manifest check both ask this way, so a
 * registry a snapshot pushed to is verified over the same scheme. Throws RegistryError listing
 * each scheme's failure when neither answers; `headers` are sent over either scheme.
 */
export async function askRegistry(
  address: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; timeoutMs: number }
): Promise<RegistryAnswer> {
  const failures: string[] = []
  for (const scheme of ['https', 'http']) {
    const base = `${scheme}://${address}`
    try {
      const response = await fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        signal: AbortSignal.timeout(init.timeoutMs)
      })
      return { base, response }
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause
      failures.push(`${scheme}: ${cause?.code ?? cause?.message ?? (error as Error).message}`)
    }
  }
  throw new RegistryError(`Registry ${address} is unreachable (${failures.join('; ')}).`)
}

/**
 * Fails early, before any container is paused, when nothing answers at the registry's address.
 * Any HTTP answer (200, 401) counts: credentials are the engine's business at push time.
 */
export async function checkRegistryReachable(address: string, timeoutMs = 5000): Promise<void> {
  try {
    await askRegistry(address, '/v2/', { timeoutMs })
  } catch (error) {
    throw new RegistryError(
      `${(error as Error).message} Check the registry input and that the registry is running; ` +
        'nothing was paused or changed.',
      { cause: error }
    )
  }
}

/**
 * A tag a registry accepts (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). A longer one is cut and ends
 * with a digest of the whole, so that two long names never share a tag.
 */
export function imageTag(...parts: string[]): string {
  const tag = parts
    .join('-')
    .replace(/[^A-Za-z0-9_.-]/g, '_')
    .replace(/^[.-]+/, '')
  if (tag.length <= 128) return tag || 'untitled'
  return `${tag.slice(0, 115)}-${createHash('sha256').update(tag).digest('hex').slice(0, 12)}`
}
