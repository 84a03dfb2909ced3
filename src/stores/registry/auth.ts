/**
 * Registry authentication as the distribution spec describes it: a 401 carries a
 * `WWW-Authenticate` challenge, `Basic` (send the credentials) or `Bearer realm=…,service=…,
 * scope=…` (get a token for that scope from the realm, with the credentials, and send it). Tokens
 * are reused per scope until they expire. Secrets stay in headers, never in messages.
 */
import type { RegistryCredentials } from '../../docker/credentials.js'
import { StoreError } from '../../shared/errors.js'

/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lower case: `basic`, `bearer`. */
  scheme: string
  /** Parameter names in lower case. */
  params: Record<string, string>
}

/**
 * The challenges of a `WWW-Authenticate` header (RFC 9110: `scheme param=value, param="quoted
 * \" value"`, several challenges separated by commas).
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = []
  const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/
  let rest = header.trim()
  while (rest) {
    const scheme = token.exec(rest)
    if (!scheme) break
    const challenge: Challenge = { scheme: scheme[0].toLowerCase(), params: {} }
    challenges.push(challenge)
    rest = rest.slice(scheme[0].length).trimStart()
    for (;;) {
      const param = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*/.exec(rest)
      if (!param) break
      rest = rest.slice(param[0].length)
      let value: string
      if (rest.startsWith('"')) {
        const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest)
        if (!quoted) throw new Error(`unterminated quoted value in ${JSON.stringify(header)}`)
        value = quoted[1].replace(/\\(.)/g, '$1')
        rest = rest.slice(quoted[0].length)
      } else {
        const bare = /^[^,\s]*/.exec(rest)?.[0] ?? ''
        value = bare
        rest = rest.slice(bare.length)
      }
      challenge.params[param[1].toLowerCase()] = value
      rest = rest.trimStart()
      if (!rest.startsWith(',')) break
      rest = rest.slice(1).trimStart()
      // A comma may also end the challenge: the next word followed by a space is a scheme.
      if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s+[^=\s]|\s*$)/.test(rest)) break
    }
    rest = rest.replace(/^[\s,]+/, '')
  }
  return challenges
}

/** Where a request goes, for the messages: `registry 127.0.0.1:5000, repository team/snaps`. */
export interface Place {
  host: string
  repository: string
}

interface CachedToken {
  value: string
  expiresAt: number
}

/** The token server's rule: a token without `expires_in` lives 60 s. */
const DEFAULT_TOKEN_SECONDS = 60

/**
 * Authorizes requests to one registry: learns the challenge from the first 401, then adds
 * `Authorization` to every request. `credentials` is asked once, when a challenge first needs it.
 */
export class Authenticator {
  private challenge: Challenge | undefined
  private credentials: Promise<RegistryCredentials | undefined> | undefined
  private readonly tokens = new Map<string, CachedToken>()

  constructor(
    private readonly place: Place,
    private readonly findCredentials: () => Promise<RegistryCredentials | undefined>
  ) {}

  /** Where the credentials came from, for messages: `anonymous access` when none. */
  async credentialSource(): Promise<string> {
    return (await this.ownCredentials())?.source ?? 'anonymous access (no credentials found)'
  }

  /** The `Authorization` header for a request needing `scope`, if the registry asked for one. */
  async header(scope: string): Promise<string | undefined> {
    if (!this.challenge) return undefined
    if (this.challenge.scheme === 'basic') {
      const credentials = await this.ownCredentials()
      if (credentials?.username === undefined && credentials?.password === undefined) {
        return undefined
      }
      const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`
      return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`
    }
    if (this.challenge.scheme === 'bearer') {
      const cached = this.tokens.get(scope)
      if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`
      return `Bearer ${await this.fetchToken(this.challenge, scope)}`
    }
    return undefined
  }

  /**
   * Takes in a 401's challenge. Resolves with whether a retry can succeed: false when the same
   * challenge already failed with what this has to offer (the credentials were refused).
   */
  async learn(header: string | null, scope: string): Promise<boolean> {
    const challenges = header ? parseChallenges(header) : []
    const usable =
      challenges.find(c => c.scheme === 'bearer') ?? challenges.find(c => c.scheme === 'basic')
    if (!usable) {
      throw new StoreError(
        `Registry ${this.place.host} refused access to repository ${this.place.repository} ` +
          `(401) without a challenge this tool understands (${header ? shownSchemes(challenges) : 'no WWW-Authenticate header'}).`
      )
    }
    const before = this.challenge
    this.challenge = usable
    // A new token may carry what the old one lacked; the caller retries once only.
    if (usable.scheme === 'bearer') {
      this.tokens.delete(scope)
      return true
    }
    const credentials = await this.ownCredentials()
    const hasCredentials =
      credentials?.username !== undefined || credentials?.password !== undefined
    // Credentials already sent with Basic were refused: sending them again cannot help.
    return before?.scheme !== 'basic' && hasCredentials
  }

  private ownCredentials(): Promise<RegistryCredentials | undefined> {
    this.credentials ??= this.findCredentials()
    return this.credentials
  }

  /** Asks the challenge's realm for a token for `scope` (space-separated scopes). */
  private async fetchToken(challenge: Challenge, scope: string): Promise<string> {
    const { realm, service } = challenge.params
    const where = `registry ${this.place.host} (repository ${this.place.repository})`
    if (!realm || !/^https?:\/\//i.test(realm)) {
      throw new StoreError(`The token realm ${JSON.stringify(realm ?? '')} of ${where} is no URL.`)
    }
    const credentials = await this.ownCredentials()
    const url = new URL(realm)
    const headers: Record<string, string> = { accept: 'application/json' }
    let init: RequestInit
    if (credentials?.identityToken) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: credentials.identityToken,
        client_id: 'docker-snapshot'
      })
      for (const each of scope.split(' ')) form.append('scope', each)
      if (service) form.set('service', service)
      headers['content-type'] = 'application/x-www-form-urlencoded'
      init = { method: 'POST', headers, body: form.toString() }
    } else {
      if (service) url.searchParams.set('service', service)
      for (const each of scope.split(' ')) url.searchParams.append('scope', each)
      if (credentials?.username !== undefined || credentials?.password !== undefined) {
        const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`
        headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`
      }
      init = { method: 'GET', headers }
    }
    let response: Response
    try {
      response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) })
    } catch (error) {
      throw new StoreError(
        `The token server ${url.origin} of ${where} did not answer: ${causeOf(error)}. Check that it is reachable.`,
        { cause: error }
      )
    }
    if (response.status === 401 || response.status === 403) {
      throw new StoreError(
        `The token server ${url.origin} of ${where} refused the credentials from ` +
          `${await this.credentialSource()} (${response.status}) for ${scope}. Check the ` +
          'registry-username and registry-password inputs or docker login, and that the account may use this repository.'
      )
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>
    const value = typeof body.token === 'string' ? body.token : body.access_token
    if (!response.ok || typeof value !== 'string' || !value) {
      throw new StoreError(
        `The token server ${url.origin} of ${where} gave no token for ${scope} (${response.status}). Try again later, or check the registry.`
      )
    }
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : DEFAULT_TOKEN_SECONDS
    // Renewed a little early, so that a long upload never starts with a token about to expire.
    this.tokens.set(scope, { value, expiresAt: Date.now() + Math.max(seconds - 10, 1) * 1000 })
    return value
  }
}

function shownSchemes(challenges: Challenge[]): string {
  return challenges.length ? `offered: ${challenges.map(c => c.scheme).join(', ')}` : 'unreadable'
}

export function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
}
