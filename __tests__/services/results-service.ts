import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse
} from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Azurite } from './azurite.js'

/**
 * A local stand-in for GitHub's results service and the few REST calls around it, so that the
 * unmodified `@actions/artifact` and `@actions/cache` clients run against it. Blobs live in
 * Azurite; the URLs handed out point at this server, which passes blob traffic through to
 * Azurite unchanged (the SAS signature is Azurite's to check) so faults can hit an upload midway.
 * State is in memory. Loopback only.
 */

const ARTIFACT_SERVICE = 'github.actions.results.api.v1.ArtifactService'
const CACHE_SERVICE = 'github.actions.results.api.v1.CacheService'
const CONTAINER = 'actions-results'
/** JSON bodies of the Twirp and REST calls are small; anything bigger is refused. */
const MAX_JSON_BODY = 1024 * 1024

/** Every call the service answers, by name: the Twirp methods, the REST calls, the blob calls. */
export type Endpoint =
  | 'CreateArtifact'
  | 'FinalizeArtifact'
  | 'ListArtifacts'
  | 'GetSignedArtifactURL'
  | 'DeleteArtifact'
  | 'CreateCacheEntry'
  | 'FinalizeCacheEntryUpload'
  | 'GetCacheEntryDownloadURL'
  | 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts'
  | 'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip'
  | 'DELETE /repos/{owner}/{repo}/actions/artifacts/{artifact_id}'
  | 'GET /repos/{owner}/{repo}/actions/runs/{run_id}'
  | 'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs'
  | 'blob PUT block'
  | 'blob PUT block list'
  | 'blob PUT'
  | 'blob GET'
  | 'blob HEAD'

const TWIRP_ENDPOINTS: Record<string, readonly Endpoint[]> = {
  [ARTIFACT_SERVICE]: [
    'CreateArtifact',
    'FinalizeArtifact',
    'ListArtifacts',
    'GetSignedArtifactURL',
    'DeleteArtifact'
  ],
  [CACHE_SERVICE]: ['CreateCacheEntry', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL']
}

/**
 * How a faulty call is answered: an HTTP status with an error in the endpoint's own format
 * (a Twirp error, a REST `message`, an Azure storage XML error), or a dropped connection.
 */
export type FaultAnswer = { status: number; code: string; message: string } | 'disconnect'

export interface Fault {
  endpoint: Endpoint
  /** The first call that fails, counting the endpoint's calls from when the fault is added (1 = next). */
  nth?: number
  /** How many calls fail from there on (default 1; `Infinity` until the fault is cleared). */
  times?: number
  answer: FaultAnswer
}

/** The answer GitHub gives when the artifact storage quota is used up. */
export const QUOTA_EXCEEDED: FaultAnswer = {
  status: 429,
  code: 'resource_exhausted',
  message: 'insufficient usage to create artifact'
}

/** One workflow run's identities: the REST API's number and the results service's ids. */
export interface RunIds {
  runId: number
  workflowRunBackendId: string
  workflowJobRunBackendId: string
  /** The workflow the run belongs to (its REST id). */
  workflowId: number
  /** When the run was registered: the REST API lists a workflow's runs newest first by it. */
  createdAt: Date
}

export interface StoredArtifact {
  id: number
  runId: number
  workflowRunBackendId: string
  workflowJobRunBackendId: string
  name: string
  /** The blob's name in Azurite's container. */
  blob: string
  mimeType: string
  size: number
  /** `sha256:<hex>` as the client reported it at finalize. */
  digest: string | undefined
  createdAt: Date
  finalized: boolean
}

export interface StoredCacheEntry {
  id: number
  key: string
  version: string
  blob: string
  size: number
  createdAt: Date
  finalized: boolean
}

export interface ResultsService {
  /** `http://127.0.0.1:PORT`: ACTIONS_RESULTS_URL and GITHUB_API_URL both point here. */
  readonly url: string
  readonly repository: string
  /** The only token the REST calls accept (what `findBy.token` / `github-token` must be). */
  readonly token: string
  /**
   * Registers (or returns) the run with this `GITHUB_RUN_ID`, of workflow `workflowId` (1 unless
   * given), and gives its backend ids.
   */
  run(runId: number, workflowId?: number): RunIds
  /** Makes calls fail as described; returns a function that clears the fault. */
  fail(fault: Fault): () => void
  clearFaults(): void
  /** How many times each endpoint has been called (faulty calls included). */
  calls(endpoint: Endpoint): number
  artifacts(): readonly StoredArtifact[]
  cacheEntries(): readonly StoredCacheEntry[]
  stop(): Promise<void>
}

export interface ResultsServiceOptions {
  azurite: Azurite
  /** `owner/name` of the one repository the REST calls know. */
  repository: string
  token: string
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string
  ) {
    super(message)
    this.name = 'HttpError'
  }
}

interface ActiveFault {
  endpoint: Endpoint
  from: number
  until: number
  answer: FaultAnswer
}

type Json = Record<string, unknown>

export async function startResultsService(options: ResultsServiceOptions): Promise<ResultsService> {
  const { azurite, repository, token } = options
  const azuriteUrl = new URL(azurite.accountUrl)
  const accountPath = azuriteUrl.pathname
  await azurite.blobs.getContainerClient(CONTAINER).createIfNotExists()

  const runs = new Map<number, RunIds>()
  const artifacts: StoredArtifact[] = []
  const cacheEntries: StoredCacheEntry[] = []
  const callCounts = new Map<Endpoint, number>()
  let faults: ActiveFault[] = []
  let nextArtifactId = 1001
  let nextCacheEntryId = 501
  let baseUrl = ''

  const count = (endpoint: Endpoint): number => {
    const n = (callCounts.get(endpoint) ?? 0) + 1
    callCounts.set(endpoint, n)
    return n
  }
  const faultFor = (endpoint: Endpoint, n: number): FaultAnswer | undefined =>
    faults.find(f => f.endpoint === endpoint && n >= f.from && n < f.until)?.answer

  /** The blob URL handed to the clients: this server's address, Azurite's path and signature. */
  const signedUrl = (blob: string, access: 'read' | 'write', fileName?: string): string => {
    const contentDisposition =
      fileName === undefined
        ? undefined
        : `attachment; filename="${fileName.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(fileName)}`
    const url = new URL(azurite.signedBlobUrl(CONTAINER, blob, { access, contentDisposition }))
    return `${baseUrl}${url.pathname}${url.search}`
  }

  /** The run and job a Twirp call's bearer token speaks for (its `Actions.Results` scope). */
  const caller = (req: IncomingMessage): RunIds => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    if (!bearer) throw new HttpError(401, 'unauthenticated', 'no bearer token')
    let scopes: unknown
    try {
      const payload = JSON.parse(Buffer.from(bearer.split('.')[1] ?? '', 'base64url').toString())
      scopes = (payload as Json).scp
    } catch {
      throw new HttpError(401, 'unauthenticated', 'the token is not a JWT')
    }
    const scope =
      typeof scopes === 'string' ? /Actions\.Results:([^: ]+):([^: ]+)/.exec(scopes) : null
    const run = scope && [...runs.values()].find(r => r.workflowRunBackendId === scope[1])
    if (!run || run.workflowJobRunBackendId !== scope[2]) {
      throw new HttpError(401, 'unauthenticated', 'the token names no known run')
    }
    return run
  }

  /** Refuses a call about another run's artifacts (or, for uploads, another job's). */
  const sameRun = (run: RunIds, body: Json, sameJob: boolean): void => {
    if (
      body.workflow_run_backend_id !== run.workflowRunBackendId ||
      (sameJob && body.workflow_job_run_backend_id !== run.workflowJobRunBackendId)
    ) {
      throw new HttpError(403, 'permission_denied', 'the token is for another run or job')
    }
  }

  const finalizedArtifact = (workflowRunBackendId: unknown, name: unknown): StoredArtifact => {
    const artifact = artifacts.find(
      a => a.finalized && a.workflowRunBackendId === workflowRunBackendId && a.name === name
    )
    if (!artifact) throw new HttpError(404, 'not_found', `no artifact named ${String(name)}`)
    return artifact
  }

  const twirp: Record<string, (body: Json, req: IncomingMessage) => Promise<Json>> = {
    async CreateArtifact(body, req) {
      const run = caller(req)
      sameRun(run, body, true)
      const name = text(body, 'name')
      if (artifacts.some(a => a.finalized && a.runId === run.runId && a.name === name)) {
        throw new HttpError(
          409,
          'already_exists',
          `an artifact named ${name} already exists in this run`
        )
      }
      const mimeType = typeof body.mime_type === 'string' ? body.mime_type : 'application/zip'
      const id = nextArtifactId++
      const blob = `artifacts/${run.workflowRunBackendId}/${id}/${name}`
      const pending = artifacts.findIndex(
        a => !a.finalized && a.runId === run.runId && a.name === name
      )
      if (pending >= 0) artifacts.splice(pending, 1)
      artifacts.push({
        id,
        runId: run.runId,
        workflowRunBackendId: run.workflowRunBackendId,
        workflowJobRunBackendId: run.workflowJobRunBackendId,
        name,
        blob,
        mimeType,
        size: 0,
        digest: undefined,
        createdAt: new Date(),
        finalized: false
      })
      return { ok: true, signed_upload_url: signedUrl(blob, 'write') }
    },
    async FinalizeArtifact(body, req) {
      const run = caller(req)
      sameRun(run, body, true)
      const name = text(body, 'name')
      const artifact = artifacts.find(a => !a.finalized && a.runId === run.runId && a.name === name)
      if (!artifact) throw new HttpError(404, 'not_found', `no upload of an artifact named ${name}`)
      const stored = await blobSize(azurite, artifact.blob)
      if (stored === undefined) {
        throw new HttpError(404, 'not_found', `nothing was uploaded for artifact ${name}`)
      }
      artifact.size = stored
      artifact.digest = typeof body.hash === 'string' ? body.hash : undefined
      artifact.finalized = true
      return { ok: true, artifact_id: String(artifact.id) }
    },
    async ListArtifacts(body, req) {
      sameRun(caller(req), body, false)
      const found = artifacts.filter(
        a =>
          a.finalized &&
          a.workflowRunBackendId === body.workflow_run_backend_id &&
          (body.name_filter === undefined || a.name === body.name_filter) &&
          (body.id_filter === undefined || String(a.id) === String(body.id_filter))
      )
      return {
        artifacts: found.map(a => ({
          workflow_run_backend_id: a.workflowRunBackendId,
          workflow_job_run_backend_id: a.workflowJobRunBackendId,
          database_id: String(a.id),
          name: a.name,
          size: String(a.size),
          created_at: a.createdAt.toISOString(),
          ...(a.digest === undefined ? {} : { digest: a.digest })
        }))
      }
    },
    async GetSignedArtifactURL(body, req) {
      sameRun(caller(req), body, false)
      const artifact = finalizedArtifact(body.workflow_run_backend_id, body.name)
      return { signed_url: signedUrl(artifact.blob, 'read', downloadName(artifact)) }
    },
    async DeleteArtifact(body, req) {
      sameRun(caller(req), body, false)
      const artifact = finalizedArtifact(body.workflow_run_backend_id, body.name)
      await removeArtifact(artifact)
      return { ok: true, artifact_id: String(artifact.id) }
    },
    async CreateCacheEntry(body, req) {
      caller(req)
      const key = text(body, 'key')
      const version = text(body, 'version')
      if (cacheEntries.some(e => e.key === key && e.version === version)) {
        throw new HttpError(409, 'already_exists', `cache entry ${key} already exists`)
      }
      const id = nextCacheEntryId++
      const blob = `caches/${id}`
      cacheEntries.push({
        id,
        key,
        version,
        blob,
        size: 0,
        createdAt: new Date(),
        finalized: false
      })
      return { ok: true, signed_upload_url: signedUrl(blob, 'write') }
    },
    async FinalizeCacheEntryUpload(body, req) {
      caller(req)
      const key = text(body, 'key')
      const version = text(body, 'version')
      const entry = cacheEntries.find(e => !e.finalized && e.key === key && e.version === version)
      if (!entry) throw new HttpError(404, 'not_found', `no reserved cache entry ${key}`)
      const stored = await blobSize(azurite, entry.blob)
      if (stored === undefined)
        throw new HttpError(404, 'not_found', `nothing was uploaded for ${key}`)
      entry.size = stored
      entry.finalized = true
      return { ok: true, entry_id: String(entry.id) }
    },
    async GetCacheEntryDownloadURL(body, req) {
      caller(req)
      const version = text(body, 'version')
      const restoreKeys = Array.isArray(body.restore_keys) ? body.restore_keys.map(String) : []
      const entry = matchCacheEntry(
        cacheEntries.filter(e => e.finalized && e.version === version),
        text(body, 'key'),
        restoreKeys
      )
      if (!entry) return { ok: false }
      return {
        ok: true,
        signed_download_url: signedUrl(entry.blob, 'read'),
        matched_key: entry.key
      }
    }
  }

  const removeArtifact = async (artifact: StoredArtifact): Promise<void> => {
    artifacts.splice(artifacts.indexOf(artifact), 1)
    await azurite.blobs.getContainerClient(CONTAINER).deleteBlob(artifact.blob)
  }

  const restArtifact = (a: StoredArtifact): Json => ({
    id: a.id,
    name: a.name,
    size_in_bytes: a.size,
    url: `${baseUrl}/repos/${repository}/actions/artifacts/${a.id}`,
    archive_download_url: `${baseUrl}/repos/${repository}/actions/artifacts/${a.id}/zip`,
    expired: false,
    digest: a.digest ?? null,
    created_at: a.createdAt.toISOString(),
    updated_at: a.createdAt.toISOString(),
    workflow_run: { id: a.runId }
  })

  /** Accepts the REST token for the one repository the service knows. */
  const authorizeRest = (req: IncomingMessage, repo: string) => {
    const given = /^(?:token|Bearer) (.+)$/i.exec(req.headers.authorization ?? '')?.[1]
    if (given !== token) throw new HttpError(401, 'unauthenticated', 'Bad credentials')
    if (decodeURIComponent(repo) !== repository) throw new HttpError(404, 'not_found', 'Not Found')
  }

  const restRun = (r: RunIds): Json => ({
    id: r.runId,
    workflow_id: r.workflowId,
    status: 'completed',
    created_at: r.createdAt.toISOString()
  })

  /** A run (for its workflow) and a workflow's runs, newest first, as the REST API gives them. */
  const workflowRest = (
    req: IncomingMessage,
    url: URL,
    [, repo, runId, workflowId]: RegExpExecArray
  ): [Endpoint, () => Promise<[number, Json]>] => {
    if (runId !== undefined) {
      return [
        'GET /repos/{owner}/{repo}/actions/runs/{run_id}',
        async () => {
          authorizeRest(req, repo!)
          const run = runs.get(Number(runId))
          if (!run) throw new HttpError(404, 'not_found', 'Not Found')
          return [200, restRun(run)]
        }
      ]
    }
    return [
      'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs',
      async () => {
        authorizeRest(req, repo!)
        const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, 100)
        const all = [...runs.values()]
          .filter(r => String(r.workflowId) === workflowId)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.runId - a.runId)
        return [200, { total_count: all.length, workflow_runs: all.slice(0, perPage).map(restRun) }]
      }
    ]
  }

  /** The REST calls: `[endpoint, handler]` for a method and path, or undefined if none fits. */
  const rest = (
    req: IncomingMessage,
    url: URL
  ): [Endpoint, () => Promise<[number, Json, Record<string, string>?]>] | undefined => {
    const workflowCall =
      /^\/repos\/([^/]+\/[^/]+)\/actions\/(?:runs\/(\d+)|workflows\/(\d+)\/runs)$/.exec(
        url.pathname
      )
    if (req.method === 'GET' && workflowCall) return workflowRest(req, url, workflowCall)
    const m =
      /^\/repos\/([^/]+\/[^/]+)\/actions\/(?:runs\/(\d+)\/artifacts|artifacts\/(\d+)(\/zip)?)$/.exec(
        url.pathname
      )
    if (!m) return undefined
    const [, repo, runId, artifactId, zip] = m
    const authorize = () => authorizeRest(req, repo!)
    const artifactById = () => {
      const artifact = artifacts.find(a => a.finalized && String(a.id) === artifactId)
      if (!artifact) throw new HttpError(404, 'not_found', 'Not Found')
      return artifact
    }
    if (req.method === 'GET' && runId !== undefined) {
      return [
        'GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts',
        async () => {
          authorize()
          const name = url.searchParams.get('name')
          const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, 100)
          const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1)
          const all = artifacts.filter(
            a => a.finalized && String(a.runId) === runId && (name === null || a.name === name)
          )
          const slice = all.slice((page - 1) * perPage, page * perPage)
          return [200, { total_count: all.length, artifacts: slice.map(restArtifact) }]
        }
      ]
    }
    if (req.method === 'GET' && zip !== undefined) {
      return [
        'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip',
        async () => {
          authorize()
          const artifact = artifactById()
          const location = signedUrl(artifact.blob, 'read', downloadName(artifact))
          return [302, {}, { location }]
        }
      ]
    }
    if (req.method === 'DELETE' && artifactId !== undefined && zip === undefined) {
      return [
        'DELETE /repos/{owner}/{repo}/actions/artifacts/{artifact_id}',
        async () => {
          authorize()
          await removeArtifact(artifactById())
          return [204, {}]
        }
      ]
    }
    return undefined
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', baseUrl)
    if (url.pathname.startsWith(`${accountPath}/`)) {
      const endpoint = blobEndpoint(req.method ?? '', url)
      const fault = faultFor(endpoint, count(endpoint))
      if (fault) return answerFault(req, res, fault, 'blob')
      return passToAzurite(req, res, azuriteUrl)
    }
    const twirpCall = /^\/twirp\/([\w.]+)\/(\w+)$/.exec(url.pathname)
    if (req.method === 'POST' && twirpCall) {
      const [, service, method] = twirpCall
      const endpoint = TWIRP_ENDPOINTS[service!]?.find(e => e === method)
      if (!endpoint) return sendJson(res, 404, { code: 'bad_route', msg: `no method ${method}` })
      const fault = faultFor(endpoint, count(endpoint))
      if (fault) return answerFault(req, res, fault, 'twirp')
      try {
        const body = await readJson(req)
        return sendJson(res, 200, await twirp[endpoint]!(body, req))
      } catch (error) {
        if (!(error instanceof HttpError)) throw error
        return sendJson(res, error.status, { code: error.code, msg: error.message })
      }
    }
    const restCall = rest(req, url)
    if (restCall) {
      const [endpoint, answer] = restCall
      const fault = faultFor(endpoint, count(endpoint))
      if (fault) return answerFault(req, res, fault, 'rest')
      try {
        const [status, body, headers] = await answer()
        if (status === 204) {
          res.writeHead(204).end()
          return
        }
        return sendJson(res, status, body, headers)
      } catch (error) {
        if (!(error instanceof HttpError)) throw error
        return sendJson(res, error.status, { message: error.message })
      }
    }
    return sendJson(res, 404, { message: 'Not Found' })
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      sendJson(res, 500, {
        code: 'internal',
        msg: error instanceof Error ? error.message : String(error)
      })
    })
  })
  server.requestTimeout = 120_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: baseUrl,
    repository,
    token,
    run(runId, workflowId = 1) {
      let ids = runs.get(runId)
      if (!ids) {
        ids = {
          runId,
          workflowRunBackendId: randomUUID(),
          workflowJobRunBackendId: randomUUID(),
          workflowId,
          createdAt: new Date()
        }
        runs.set(runId, ids)
      }
      return ids
    },
    fail({ endpoint, nth = 1, times = 1, answer }) {
      const from = (callCounts.get(endpoint) ?? 0) + nth
      const fault: ActiveFault = { endpoint, from, until: from + times, answer }
      faults.push(fault)
      return () => {
        faults = faults.filter(f => f !== fault)
      }
    },
    clearFaults() {
      faults = []
    },
    calls: endpoint => callCounts.get(endpoint) ?? 0,
    artifacts: () => artifacts.map(a => ({ ...a })),
    cacheEntries: () => cacheEntries.map(e => ({ ...e })),
    async stop() {
      const closed = once(server, 'close')
      server.close()
      server.closeAllConnections()
      await closed
    }
  }
}

/** Exact key first, then each restore key: exact, else the newest entry it prefixes (as GitHub). */
function matchCacheEntry(
  entries: StoredCacheEntry[],
  key: string,
  restoreKeys: string[]
): StoredCacheEntry | undefined {
  const newestFirst = [...entries].sort((a, b) => b.id - a.id)
  const exact = newestFirst.find(e => e.key === key)
  if (exact) return exact
  for (const prefix of restoreKeys) {
    const match =
      newestFirst.find(e => e.key === prefix) ?? newestFirst.find(e => e.key.startsWith(prefix))
    if (match) return match
  }
  return undefined
}

/** The file name a download is saved under: the artifact's name, or `name.zip` for a zip. */
function downloadName(artifact: StoredArtifact): string {
  return artifact.mimeType === 'application/zip' ? `${artifact.name}.zip` : artifact.name
}

function blobEndpoint(method: string, url: URL): Endpoint {
  const comp = url.searchParams.get('comp')
  if (method === 'PUT' && comp === 'block') return 'blob PUT block'
  if (method === 'PUT' && comp === 'blocklist') return 'blob PUT block list'
  if (method === 'PUT') return 'blob PUT'
  if (method === 'HEAD') return 'blob HEAD'
  return 'blob GET'
}

async function blobSize(azurite: Azurite, blob: string): Promise<number | undefined> {
  const client = azurite.blobs.getContainerClient(CONTAINER).getBlobClient(blob)
  if (!(await client.exists())) return undefined
  return (await client.getProperties()).contentLength ?? 0
}

/** Streams one blob request to Azurite and its answer back, untouched but for the Host. */
function passToAzurite(req: IncomingMessage, res: ServerResponse, azurite: URL): void {
  const upstream = httpRequest(
    {
      host: azurite.hostname,
      port: azurite.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: azurite.host }
    },
    answer => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    }
  )
  upstream.on('error', () => res.destroy())
  req.on('error', () => upstream.destroy())
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy()
  })
  req.pipe(upstream)
}

function answerFault(
  req: IncomingMessage,
  res: ServerResponse,
  fault: FaultAnswer,
  style: 'twirp' | 'rest' | 'blob'
): void {
  if (fault === 'disconnect') {
    req.socket.destroy()
    return
  }
  // read the request first, so that the client sees the answer rather than a reset
  req.resume()
  req.on('end', () => {
    if (style === 'blob') {
      res.writeHead(fault.status, {
        'content-type': 'application/xml',
        'x-ms-error-code': fault.code
      })
      res.end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${fault.code}</Code><Message>${fault.message}</Message></Error>`
      )
    } else if (style === 'twirp') {
      sendJson(res, fault.status, { code: fault.code, msg: fault.message })
    } else {
      sendJson(res, fault.status, { message: fault.message })
    }
  })
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_JSON_BODY) throw new HttpError(400, 'invalid_argument', 'request body too large')
    chunks.push(chunk)
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString() || '{}')
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Json
  } catch {
    // answered below
  }
  throw new HttpError(400, 'malformed', 'the body is not a JSON object')
}

function text(body: Json, field: string): string {
  const value = body[field]
  if (typeof value !== 'string' || value === '') {
    throw new HttpError(400, 'invalid_argument', `${field} is required`)
  }
  return value
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: Json,
  headers: Record<string, string> = {}
): void {
  const data = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    ...headers
  })
  res.end(data)
}
