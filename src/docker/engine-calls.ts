/**
 * The connection to the Docker engine and the one choke point every request goes through, with
 * the helpers the concern modules share (upload a stream, follow a push/pull/load progress).
 */
import Docker from 'dockerode'
import type { Readable } from 'node:stream'
import {
  EngineError,
  EngineUnavailableError,
  NotFoundError,
  RegistryError,
  SnapshotError,
  errorMessage
} from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { silentLogger } from '../shared/log.js'
import type { ConnectionEnvironment, EngineConnection } from './connection.js'
import { resolveConnection } from './connection.js'
import { explainConnectionError } from './connection-errors.js'
import { parseProgress } from './progress.js'
import type { EngineInfo } from './types.js'

export interface EngineErrorShape {
  statusCode?: number
  code?: string
  json?: { message?: string } | string | null
  message?: string
}

/** The message the engine gave, without dockerode's "(HTTP code N) unexpected - " prefix. */
export function engineMessage(error: unknown): string {
  const e = error as EngineErrorShape
  if (e.json && typeof e.json === 'object' && e.json.message) return e.json.message
  if (typeof e.json === 'string' && e.json.trim()) return e.json.trim()
  const message = errorMessage(error)
  return message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim()
}

function connectionFailed(error: unknown): boolean {
  const code = (error as EngineErrorShape).code
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOENT' ||
    code === 'EACCES' ||
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ETIMEDOUT'
  )
}

/**
 * Sends `source` as a request body with `send`; a failing source (a bad decompression, a store
 * read error) aborts the request and rejects with the source's error instead of leaving the
 * engine waiting for more bytes.
 */
export function upload<T>(source: Readable, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // A source that failed before the request began (an abort) would never send its error.
  if (source.errored) return Promise.reject(source.errored)
  if (source.destroyed)
    return Promise.reject(new SnapshotError('the upload was closed before it began'))
  const abort = new AbortController()
  const sourceFailed = new Promise<never>((_resolve, reject) => {
    source.once('error', (error: Error) => {
      abort.abort()
      reject(error)
    })
  })
  return Promise.race([send(abort.signal), sourceFailed])
}

/** Streams the events of a push, pull or load, failing on the first error reported in-band. */
export async function followProgress(stream: NodeJS.ReadableStream, what: string) {
  let text = ''
  for await (const chunk of stream as AsyncIterable<Buffer | string>) text += chunk.toString()
  const progress = parseProgress(text)
  if (progress.error) throw new RegistryError(`${what}: ${progress.error}`)
  return progress
}

/**
 * The bottom layer of the Engine: the connection and `call`, which every request goes through;
 * it logs the request and turns the engine's failures into typed errors that name the object
 * and the next step.
 */
export class EngineCalls {
  /** The engine's address, as resolved from the docker-host input, DOCKER_HOST or a context. */
  readonly host: string
  protected readonly connection: EngineConnection
  protected readonly docker: Docker
  protected readonly log: Logger

  /**
   * Throws InvalidSettingsError when the address, context or TLS files cannot be used; no
   * request is made before the first call.
   */
  constructor(
    options: { host?: string; logger?: Logger; environment?: ConnectionEnvironment } = {}
  ) {
    this.connection = resolveConnection(options.host, options.environment)
    this.host = this.connection.address
    this.docker = new Docker(this.connection.options)
    this.log = options.logger ?? silentLogger
  }

  protected async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.log.debug(`engine: ${what}`)
    try {
      return await fn()
    } catch (error) {
      throw this.translate(what, error)
    }
  }

  private translate(what: string, error: unknown): Error {
    // Already typed (ours, or a source stream's integrity error): keep its type and message.
    if (error instanceof SnapshotError) return error
    const explained = explainConnectionError(this.connection, error)
    if (explained) return new EngineUnavailableError(explained, { cause: error })
    if (connectionFailed(error)) {
      const { address, source } = this.connection
      return new EngineUnavailableError(
        `No Docker engine answers at ${address} (from ${source}; ${engineMessage(error)}). ` +
          `Start the engine, or set DOCKER_HOST (or the docker-host input) to the address of a ` +
          `running one.`,
        { cause: error }
      )
    }
    const status = (error as EngineErrorShape).statusCode
    if (status === 404) {
      return new NotFoundError(`${what}: ${engineMessage(error)}`, { cause: error })
    }
    return new EngineError(`${what} failed: ${engineMessage(error)}`, { cause: error })
  }

  /** What `lookup` resolves to, or undefined when the engine has no such object (a 404). */
  protected async unlessMissing<T>(lookup: () => Promise<T>): Promise<T | undefined> {
    try {
      return await lookup()
    } catch (error) {
      if (error instanceof NotFoundError) return undefined
      throw error
    }
  }

  async info(): Promise<EngineInfo> {
    const version = await this.call('read engine version', () => this.docker.version())
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch
    }
  }
}
