/**
 * A small client of the OCI distribution API for one repository: blobs (exists, mount, get),
 * manifests (put, get, head, delete) and the tag list. Uploads are in upload.ts. Every failure
 * is a StoreError naming the registry, the repository, the call and what to do.
 */
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { RegistryCredentials } from '../../docker/credentials.js'
import { StoreError } from '../../shared/errors.js'
import { Authenticator, type Place, causeOf } from './auth.js'
import { refusal } from './refusal.js'

const REQUEST_TIMEOUT_MS = 10 * 60_000
const TAGS_PAGE = 100

export interface RequestOptions {
  method?: string
  /** Scopes the call needs with a Bearer token, e.g. `repository:team/snaps:pull`. */
  scope: string
  headers?: Record<string, string>
  body?: Buffer
  /** Statuses that are answers, not failures. */
  expect: number[]
}

/** Whether `host` (`name[:port]`) is a loopback address, reached over plain http like the engine does. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name)
}

export class RegistryClient {
  readonly place: Place
  readonly auth: Authenticator
  private base: Promise<string> | undefined

  constructor(
    host: string,
    repository: string,
    credentials: () => Promise<RegistryCredentials | undefined>
  ) {
    this.place = { host, repository }
    this.auth = new Authenticator(this.place, credentials)
  }

  /** `registry HOST, repository REPO`, for messages. */
  get where(): string {
    return `registry ${this.place.host} (repository ${this.place.repository})`
  }

  get pullScope(): string {
    return `repository:${this.place.repository}:pull`
  }

  get pushScope(): string {
    return `repository:${this.place.repository}:pull,push`
  }

  /** The registry's base URL: https, or plain http for a loopback address that has no TLS. */
  baseUrl(): Promise<string> {
    this.base ??= this.findBase()
    return this.base
  }

  private async findBase(): Promise<string> {
    const https = `https://${this.place.host}`
    try {
      await fetch(`${https}/v2/`, { signal: AbortSignal.timeout(30_000) })
      return https
    } catch (error) {
      const httpsFailure = causeOf(error)
      if (!isLoopback(this.place.host)) {
        this.base = undefined
        throw new StoreError(
          `Registry ${this.place.host} did not answer over https (${httpsFailure}). Check the ` +
            'store address; only loopback registries are reached over plain http.',
          { cause: error }
        )
      }
      const http = `http://${this.place.host}`
      try {
        await fetch(`${http}/v2/`, { signal: AbortSignal.timeout(30_000) })
        return http
      } catch (second) {
        this.base = undefined
        throw new StoreError(
          `Registry ${this.place.host} did not answer (https: ${httpsFailure}; http: ` +
            `${causeOf(second)}). Check that it is running and the store address.`,
          { cause: second }
        )
      }
    }
  }

  /** `/v2/<repository>/<rest>` */
  path(rest: string): string {
    return `/v2/${this.place.repository}/${rest}`
  }

  /**
   * Sends one request (a path below the base, or an absolute URL the registry gave), answering
   * a 401's challenge once. Resolves with a response whose status is one of `expect`.
   */
  async request(call: string, target: string, options: RequestOptions): Promise<Response> {
    const url = /^https?:\/\//.test(target) ? target : `${await this.baseUrl()}${target}`
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...options.headers }
      const authorization = await this.auth.header(options.scope)
      if (authorization) headers.authorization = authorization
      let response: Response
      try {
        response = await fetch(url, {
          method: options.method ?? 'GET',
          headers,
          body: options.body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
        })
      } catch (error) {
        throw new StoreError(
          `${this.where} did not answer ${call}: ${causeOf(error)}. Check that the registry is running and reachable, then try again.`,
          { cause: error }
        )
      }
      if (
        response.status === 401 &&
        attempt === 0 &&
        (await this.auth.learn(response.headers.get('www-authenticate'), options.scope))
      ) {
        await response.body?.cancel()
        continue
      }
      if (options.expect.includes(response.status)) return response
      throw await this.failure(call, response)
    }
  }

  /** The StoreError for an unexpected answer to `call`. */
  async failure(call: string, response: Response): Promise<StoreError> {
    return refusal(this.where, this.place.host, call, response, await this.auth.credentialSource())
  }

  /** Whether the repository holds blob `digest`. */
  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.request(`HEAD blob ${digest}`, this.path(`blobs/${digest}`), {
      method: 'HEAD',
      scope: this.pullScope,
      expect: [200, 404]
    })
    return response.status === 200
  }

  /**
   * Mounts blob `digest` from repository `from` of the same registry, which uploads nothing.
   * Resolves with false when the registry did not mount it (it opened an upload instead, which is
   * cancelled).
   */
  async mountBlob(digest: string, from: string): Promise<boolean> {
    const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`
    const response = await this.request(
      `mount blob ${digest} from ${from}`,
      this.path(`blobs/uploads/${query}`),
      {
        method: 'POST',
        scope: `${this.pushScope} repository:${from}:pull`,
        headers: { 'content-length': '0' },
        expect: [201, 202]
      }
    )
    await response.body?.cancel()
    if (response.status === 201) return true
    const location = response.headers.get('location')
    if (location) {
      const url = new URL(location, await this.baseUrl()).toString()
      await this.request('cancel an unused upload', url, {
        method: 'DELETE',
        scope: this.pushScope,
        expect: [204, 404, 405]
      }).then(
        answer => answer.body?.cancel(),
        () => undefined
      )
    }
    return false
  }

  /** The bytes of blob `digest`, following redirects (to a storage service). */
  async getBlob(digest: string): Promise<Readable> {
    const response = await this.request(`GET blob ${digest}`, this.path(`blobs/${digest}`), {
      scope: this.pullScope,
      expect: [200]
    })
    if (!response.body) throw new StoreError(`${this.where} sent blob ${digest} without a body.`)
    return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)
  }

  /** Puts a manifest under `reference` (a tag or its digest); resolves with the digest the registry gives. */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const response = await this.request(
      `PUT manifest ${reference}`,
      this.path(`manifests/${reference}`),
      {
        method: 'PUT',
        scope: this.pushScope,
        headers: { 'content-type': mediaType },
        body: bytes,
        expect: [201]
      }
    )
    await response.body?.cancel()
    return response.headers.get('docker-content-digest') ?? ''
  }

  /** A manifest's bytes and the media type the registry gives; undefined when there is none. */
  async getManifest(
    reference: string,
    accept: string
  ): Promise<{ bytes: Buffer; mediaType: string } | undefined> {
    const response = await this.request(
      `GET manifest ${reference}`,
      this.path(`manifests/${reference}`),
      {
        scope: this.pullScope,
        headers: { accept },
        expect: [200, 404]
      }
    )
    if (response.status === 404) {
      await response.body?.cancel()
      return undefined
    }
    const bytes = Buffer.from(await response.arrayBuffer())
    return { bytes, mediaType: response.headers.get('content-type') ?? '' }
  }

  /** The digest of the manifest under `reference`; undefined when there is none. */
  async headManifest(reference: string, accept: string): Promise<string | undefined> {
    const response = await this.request(
      `HEAD manifest ${reference}`,
      this.path(`manifests/${reference}`),
      {
        method: 'HEAD',
        scope: this.pullScope,
        headers: { accept },
        expect: [200, 404]
      }
    )
    if (response.status === 404) return undefined
    return response.headers.get('docker-content-digest') ?? ''
  }

  /** Deletes the manifest `digest` (and with it every tag on it); false when it was gone already. */
  async deleteManifest(digest: string): Promise<boolean> {
    const response = await this.request(
      `DELETE manifest ${digest}`,
      this.path(`manifests/${digest}`),
      {
        method: 'DELETE',
        scope: `repository:${this.place.repository}:delete`,
        expect: [202, 200, 404]
      }
    )
    await response.body?.cancel()
    return response.status !== 404
  }

  /** Every tag of the repository, following the `Link` pagination; none when the repository is new. */
  async tags(): Promise<string[]> {
    const tags: string[] = []
    let next: string | undefined = this.path(`tags/list?n=${TAGS_PAGE}`)
    while (next) {
      const response: Response = await this.request('list tags', next, {
        scope: this.pullScope,
        expect: [200, 404]
      })
      if (response.status === 404) {
        await response.body?.cancel()
        return tags
      }
      const body = (await response.json().catch(() => ({}))) as { tags?: unknown }
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter(t => typeof t === 'string'))
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')
      next = link ? new URL(link[1], await this.baseUrl()).toString() : undefined
    }
    return tags
  }
}
