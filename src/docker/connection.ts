/**
 * Which engine to talk to and how, resolved the way the Docker CLI does (docker-host input,
 * DOCKER_HOST, Docker contexts, the default socket); address parsing, TLS files and ssh options
 * live in address.ts, tls-files.ts and ssh.ts.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import type Docker from 'dockerode'
import { InvalidSettingsError, describeError } from '../shared/errors.js'
import { parseAddress } from './address.js'
import { sshOptions } from './ssh.js'
import type { TlsMaterial, TlsSource } from './tls-files.js'
import { readTls } from './tls-files.js'

const DEFAULT_SOCKET = 'unix:///var/run/docker.sock'

/** How to reach the engine: what to tell the user, and what the client library needs. */
export interface EngineConnection {
  /** The engine's address (no secrets: URLs with a password are refused). */
  address: string
  /** Where the address came from: "the docker-host input", "DOCKER_HOST", "Docker context \"x\"". */
  source: string
  tls?: TlsSource
  /** Every option of the client library that it would otherwise fill from the environment. */
  options: Docker.DockerOptions
}

/** The process environment and home directory that the Docker CLI would read. */
export interface ConnectionEnvironment {
  env: NodeJS.ProcessEnv
  home: string
}

const processEnvironment = (): ConnectionEnvironment => ({ env: process.env, home: os.homedir() })

/** Throws InvalidSettingsError unless `address` is an engine address we can dial. */
export function checkEngineAddress(address: string, source = 'docker-host'): void {
  parseAddress(address, source)
}

/**
 * Resolves the engine to talk to the way the Docker CLI does: an explicit address (the
 * docker-host input, like `-H`), else DOCKER_HOST, else the Docker context named by
 * DOCKER_CONTEXT or by `currentContext` in config.json, else the default socket. TLS for tcp
 * comes from DOCKER_TLS_VERIFY / DOCKER_TLS and DOCKER_CERT_PATH, or from the context's files.
 */
export function resolveConnection(
  explicit: string | undefined,
  { env, home }: ConnectionEnvironment = processEnvironment()
): EngineConnection {
  const configDir = env.DOCKER_CONFIG || path.join(home, '.docker')
  if (explicit) return fromEnvironmentTls(explicit, 'docker-host', env, configDir, home)
  if (env.DOCKER_HOST)
    return fromEnvironmentTls(env.DOCKER_HOST, 'DOCKER_HOST', env, configDir, home)
  const context = currentContext(env, configDir)
  if (context && context.name !== 'default') return fromContext(context, configDir, home, env)
  return connect(DEFAULT_SOCKET, 'the default socket', undefined, home, env)
}

interface ContextChoice {
  name: string
  /** Where the name came from, for messages. */
  from: string
}

function currentContext(env: NodeJS.ProcessEnv, configDir: string): ContextChoice | undefined {
  if (env.DOCKER_CONTEXT) return { name: env.DOCKER_CONTEXT, from: 'DOCKER_CONTEXT' }
  const configFile = path.join(configDir, 'config.json')
  if (!existsSync(configFile)) return undefined
  let config: { currentContext?: unknown }
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8')) as { currentContext?: unknown }
  } catch (error) {
    throw new InvalidSettingsError(
      `Cannot read the Docker CLI configuration ${configFile}: ${unreadableJson(error)}. ` +
        `Fix the file, or set DOCKER_HOST to the engine's address.`
    )
  }
  if (typeof config.currentContext !== 'string' || !config.currentContext) return undefined
  return { name: config.currentContext, from: `currentContext in ${configFile}` }
}

/**
 * Why a JSON file could not be read, without the parser's excerpt of it: config.json holds
 * registry credentials (`auths`), which a syntax error's message would quote.
 */
function unreadableJson(error: unknown): string {
  if (!(error instanceof SyntaxError)) return describeError(error)
  const position = /at position \d+/.exec(error.message)?.[0]
  return `it is not valid JSON${position ? ` (${position})` : ''}`
}

/** A context's endpoint and TLS files, where `docker context create` writes them. */
function fromContext(
  context: ContextChoice,
  configDir: string,
  home: string,
  env: NodeJS.ProcessEnv
): EngineConnection {
  const id = createHash('sha256').update(context.name).digest('hex')
  const metaFile = path.join(configDir, 'contexts', 'meta', id, 'meta.json')
  const source = `Docker context "${context.name}" (${context.from})`
  if (!existsSync(metaFile)) {
    throw new InvalidSettingsError(
      `${source} not found: there is no ${metaFile}. Create it (\`docker context create ` +
        `${context.name}\`), pick an existing one (\`docker context ls\`), or set DOCKER_HOST ` +
        `instead.`
    )
  }
  let endpoint: { Host?: unknown; SkipTLSVerify?: unknown } | undefined
  try {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as {
      Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } }
    }
    endpoint = meta.Endpoints?.docker
  } catch (error) {
    throw new InvalidSettingsError(
      `${source}: cannot read ${metaFile}: ${unreadableJson(error)}. Recreate the context.`
    )
  }
  if (!endpoint || typeof endpoint.Host !== 'string' || !endpoint.Host) {
    throw new InvalidSettingsError(
      `${source} has no Docker endpoint host in ${metaFile}. Recreate it ` +
        `(\`docker context create ${context.name}\`) with the engine's address.`
    )
  }
  const tlsDir = path.join(configDir, 'contexts', 'tls', id, 'docker')
  const tlsSource = { dir: tlsDir, setting: `the TLS files of ${source}` }
  const hasTls = ['ca.pem', 'cert.pem', 'key.pem'].some(f => existsSync(path.join(tlsDir, f)))
  const verify = endpoint.SkipTLSVerify !== true
  const tls = hasTls || !verify ? readTls(tlsSource, verify, source) : undefined
  return connect(endpoint.Host, source, tls, home, env)
}

function fromEnvironmentTls(
  address: string,
  source: string,
  env: NodeJS.ProcessEnv,
  configDir: string,
  home: string
): EngineConnection {
  // As the Docker CLI: any non-empty DOCKER_TLS_VERIFY (even "0") verifies; DOCKER_TLS encrypts.
  const verify = Boolean(env.DOCKER_TLS_VERIFY)
  const useTls = verify || Boolean(env.DOCKER_TLS)
  if (!useTls || !/^tcp:\/\//.test(address)) return connect(address, source, undefined, home, env)
  const tlsSource = env.DOCKER_CERT_PATH
    ? { dir: env.DOCKER_CERT_PATH, setting: 'DOCKER_CERT_PATH' }
    : { dir: configDir, setting: 'the default certificate directory (DOCKER_CERT_PATH unset)' }
  return connect(address, source, readTls(tlsSource, verify, source), home, env)
}

function connect(
  address: string,
  source: string,
  tls: TlsMaterial | undefined,
  home: string,
  env: NodeJS.ProcessEnv
): EngineConnection {
  const parsed = parseAddress(address, source)
  // Set every option the library would otherwise take from DOCKER_HOST and DOCKER_CERT_PATH.
  const base: Docker.DockerOptions = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    username: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    sshOptions: undefined
  }
  if (parsed.scheme === 'unix') {
    return { address, source, options: { ...base, socketPath: parsed.socketPath } }
  }
  if (parsed.scheme === 'tcp') {
    if (!tls) {
      const options = {
        ...base,
        host: parsed.host,
        port: parsed.port ?? 2375,
        protocol: 'http' as const
      }
      return { address, source, options }
    }
    const options: Docker.DockerOptions = {
      ...base,
      host: parsed.host,
      port: parsed.port ?? 2376,
      protocol: 'https',
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key
    }
    // The library has no switch for an unverified server certificate; its agent option does.
    const agent = tls.verify ? undefined : new https.Agent({ rejectUnauthorized: false })
    return {
      address,
      source,
      tls: tls.source,
      options: agent ? ({ ...options, agent } as Docker.DockerOptions) : options
    }
  }
  const username = parsed.username || os.userInfo().username
  const host = parsed.host as string
  const port = parsed.port ?? 22
  return {
    address,
    source,
    options: {
      ...base,
      host,
      port,
      protocol: 'ssh',
      username,
      sshOptions: sshOptions(host, port, username, home, env)
    }
  }
}
