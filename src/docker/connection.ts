import { X509Certificate, createHash, createHmac, createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import type Docker from 'dockerode'
import { InvalidSettingsError, describeError } from '../shared/errors.js'

type SshOptions = NonNullable<Docker.DockerOptions['sshOptions']>
/** ssh2's auth methods; the library's type names only their common fields. */
type SshAuth = Extract<NonNullable<SshOptions['authHandler']>, object[]>[number]

const DEFAULT_SOCKET = 'unix:///var/run/docker.sock'
/** The identities OpenSSH tries by default, in its order, under ~/.ssh. */
const SSH_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ed25519']
const ACCEPTED = 'unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]'

/** Where the TLS files of a tcp connection came from, to name them when the handshake fails. */
interface TlsSource {
  dir: string
  /** The setting that points at `dir`, e.g. DOCKER_CERT_PATH. */
  setting: string
}

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

interface TlsMaterial {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  verify: boolean
  source: TlsSource
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

/** Reads ca.pem, cert.pem and key.pem, failing up front on the ones that verification needs. */
function readTls(source: TlsSource, verify: boolean, what: string): TlsMaterial {
  const read = (file: string) => {
    const full = path.join(source.dir, file)
    return existsSync(full) ? readFileSync(full) : undefined
  }
  const material: TlsMaterial = {
    ca: read('ca.pem'),
    cert: read('cert.pem'),
    key: read('key.pem'),
    verify,
    source
  }
  const missing = [
    verify && !material.ca ? 'ca.pem' : undefined,
    !material.cert ? 'cert.pem' : undefined,
    !material.key ? 'key.pem' : undefined
  ].filter((f): f is string => f !== undefined)
  if (missing.length > 0) {
    throw new InvalidSettingsError(
      `TLS for ${what}: ${missing.join(', ')} missing in ${source.dir} (${source.setting}). ` +
        `Put the engine's CA certificate (ca.pem) and the client certificate and key ` +
        `(cert.pem, key.pem) there, or point ${source.setting.startsWith('DOCKER_') ? source.setting : 'DOCKER_CERT_PATH'} at the directory that has them.`
    )
  }
  if (material.cert && material.key && !keyMatches(material.cert, material.key)) {
    throw new InvalidSettingsError(
      `TLS for ${what}: key.pem does not belong to cert.pem (or is not a PEM key) in ${source.dir} ` +
        `(${source.setting}). Put the key that was made with the client certificate there.`
    )
  }
  return material
}

/** Whether `key` is the private key of the certificate `cert` (false when either is unreadable). */
function keyMatches(cert: Buffer, key: Buffer): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))
  } catch {
    return false
  }
}

interface ParsedAddress {
  scheme: 'unix' | 'tcp' | 'ssh'
  socketPath?: string
  host?: string
  port?: number
  username?: string
}

function parseAddress(address: string, source: string): ParsedAddress {
  const invalid = (why: string) =>
    new InvalidSettingsError(
      `Invalid ${source} '${redact(address)}': ${why}. Expected ${ACCEPTED}.`
    )
  if (address.startsWith('/')) return { scheme: 'unix', socketPath: address }
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length)
    if (!socketPath.startsWith('/')) throw invalid('the socket path must be absolute')
    return { scheme: 'unix', socketPath }
  }
  let url: URL
  try {
    url = new URL(address)
  } catch {
    throw invalid('not a URL')
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'ssh:') {
    throw invalid(`the scheme '${url.protocol.replace(/:$/, '')}' is not supported`)
  }
  if (!url.hostname) throw invalid('no host')
  if (url.pathname && url.pathname !== '/') throw invalid('a path after the host')
  const port = url.port ? Number(url.port) : undefined
  if (url.protocol === 'tcp:') {
    if (url.username || url.password) throw invalid('tcp addresses take no user')
    return { scheme: 'tcp', host: url.hostname, port }
  }
  if (url.password) throw invalid('a password in the address is not supported; use an ssh key')
  return { scheme: 'ssh', host: url.hostname, port, username: decodeURIComponent(url.username) }
}

/** The address with any password replaced, for messages. */
function redact(address: string): string {
  return address.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@')
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

/**
 * What OpenSSH would use without a config file: the agent at SSH_AUTH_SOCK, then the default
 * identities in ~/.ssh; and it accepts only a host whose key is in ~/.ssh/known_hosts.
 */
function sshOptions(
  host: string,
  port: number,
  username: string,
  home: string,
  env: NodeJS.ProcessEnv
): SshOptions {
  const sshDir = path.join(home, '.ssh')
  const auth: SshAuth[] = []
  if (env.SSH_AUTH_SOCK) {
    const agent = { type: 'agent' as const, username, agent: env.SSH_AUTH_SOCK }
    auth.push(agent)
  }
  for (const name of SSH_IDENTITIES) {
    const file = path.join(sshDir, name)
    if (!existsSync(file)) continue
    const identity = { type: 'publickey' as const, username, key: readFileSync(file) }
    auth.push(identity)
  }
  const knownHosts = path.join(sshDir, 'known_hosts')
  return {
    agent: env.SSH_AUTH_SOCK,
    authHandler: auth,
    readyTimeout: 20_000,
    hostVerifier: (key: Buffer) => isKnownHost(knownHosts, host, port, key)
  }
}

/** Whether known_hosts lists `key` for the host, in plain or hashed (HashKnownHosts) form. */
export function isKnownHost(file: string, host: string, port: number, key: Buffer): boolean {
  if (!existsSync(file)) return false
  const name = port === 22 ? host : `[${host}]:${port}`
  const wanted = key.toString('base64')
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/)
    // Markers (@cert-authority, @revoked) and comments are not plain host keys.
    if (fields.length < 3 || fields[0].startsWith('#') || fields[0].startsWith('@')) continue
    if (fields[2] !== wanted) continue
    if (fields[0].split(',').some(pattern => hostMatches(pattern, name))) return true
  }
  return false
}

function hostMatches(pattern: string, name: string): boolean {
  const hashed = /^\|1\|([^|]+)\|(.+)$/.exec(pattern)
  if (!hashed) return pattern === name
  const digest = createHmac('sha1', Buffer.from(hashed[1], 'base64')).update(name).digest('base64')
  return digest === hashed[2]
}

interface ConnectionErrorShape {
  code?: string
  level?: string
  message?: string
}

const CERT_UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID'
])

/**
 * What went wrong reaching the engine and what to fix, when `error` is a TLS or ssh failure;
 * undefined for anything else. Never includes key material.
 */
export function explainConnectionError(
  connection: EngineConnection,
  error: unknown
): string | undefined {
  const e = (error ?? {}) as ConnectionErrorShape
  const code = e.code ?? ''
  const message = e.message ?? String(error)
  const at = `${connection.address} (from ${connection.source})`
  const tlsDir = connection.tls ? `${connection.tls.dir} (${connection.tls.setting})` : ''
  if (CERT_UNTRUSTED.has(code)) {
    return (
      `TLS verification of the engine at ${at} failed: ${message} (${code}). The engine's ` +
      `certificate is not signed by the ca.pem in ${tlsDir}, or does not name this address. ` +
      `Put the CA that signed the engine's certificate there.`
    )
  }
  if (/^ERR_SSL_.*ALERT/.test(code) || /alert (bad certificate|unknown ca)/i.test(message)) {
    return (
      `The engine at ${at} refused the TLS client certificate (${code || message}). Put a ` +
      `cert.pem and key.pem signed by the engine's CA in ${tlsDir}.`
    )
  }
  if (connection.options.protocol !== 'ssh') return undefined
  const username = connection.options.username ?? ''
  if (e.level === 'client-authentication') {
    return (
      `ssh authentication as ${username} to ${at} failed: no key was accepted. Load the key ` +
      `into ssh-agent (SSH_AUTH_SOCK) or put it in ~/.ssh (id_ed25519, id_ecdsa or id_rsa), and ` +
      `make sure the host's authorized_keys has its public half.`
    )
  }
  if (/Host denied/.test(message)) {
    return (
      `ssh to ${at}: the host's key is not in ~/.ssh/known_hosts, or differs from the one ` +
      `there. Check the host's key and add it (for example by connecting once with ssh).`
    )
  }
  if (e.level?.startsWith('client-')) {
    return `ssh to ${at} failed: ${message}. Check the address and that sshd answers there.`
  }
  return undefined
}
