/**
 * Registry credentials as the Docker CLI finds them in its config (`$DOCKER_CONFIG/config.json`
 * or `~/.docker/config.json`): a credential helper named for the host (`credHelpers`), else the
 * `auths` entry (`auth` = base64 `user:password`, or an `identitytoken`), else the default
 * helper (`credsStore`). A helper is `docker-credential-<name> get`, asked with the server on
 * stdin; secrets never go into its argv or environment, nor into any message.
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { RegistryError } from '../shared/errors.js'

/** Credentials for one registry host; the secrets are never logged. */
export interface RegistryCredentials {
  username?: string
  password?: string
  /** An OAuth refresh token (`identitytoken`), exchanged at the token endpoint. */
  identityToken?: string
  /** Where they came from, safe to show: `the registry-username input`, `credential helper pass`. */
  source: string
}

interface DockerConfig {
  auths?: Record<
    string,
    { auth?: string; identitytoken?: string; username?: string; password?: string }
  >
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** Environment variables a helper must not inherit: this tool's own secret inputs. */
const SECRET_VARIABLE = /^(DOCKER_SNAPSHOT_REGISTRY_PASSWORD|INPUT_.*)$/i
const HELPER_TIMEOUT_MS = 30_000

/** The Docker config's path for this environment. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json')
}

/** `host[:port]` of an auths key, which may be `https://host/v1/` or the like. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '')
}

/**
 * The Docker config's credentials for `host` (`host[:port]`), or undefined when it has none
 * (no config, no entry, or a helper that knows nothing of the host). A config that is not JSON
 * or a helper that fails otherwise is a RegistryError naming the file or the helper.
 */
export async function dockerCredentials(
  host: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<RegistryCredentials | undefined> {
  const path = dockerConfigPath(env)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return undefined
  }
  let config: DockerConfig
  try {
    config = JSON.parse(text) as DockerConfig
  } catch {
    // As the Docker CLI does with a broken config: carry on without it.
    return undefined
  }
  const helper = config.credHelpers?.[host]
  if (helper) return helperCredentials(helper, host, env)
  const keys = Object.keys(config.auths ?? {})
  const key = keys.includes(host) ? host : keys.find(candidate => hostOf(candidate) === host)
  const entry = key === undefined ? undefined : config.auths?.[key]
  const source = `${path} (auths ${key})`
  if (entry?.identitytoken) return { identityToken: entry.identitytoken, source }
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon > 0) {
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source }
    }
  }
  if (entry?.username) return { username: entry.username, password: entry.password, source }
  if (config.credsStore) return helperCredentials(config.credsStore, host, env, false)
  return undefined
}

/**
 * Asks `docker-credential-<name> get` for `host`; undefined when it has no credentials, or when
 * it is not installed and not `required` (a default `credsStore` of a desktop install).
 */
export async function helperCredentials(
  name: string,
  host: string,
  env: NodeJS.ProcessEnv = process.env,
  required = true
): Promise<RegistryCredentials | undefined> {
  const program = `docker-credential-${name}`
  const childEnv = Object.fromEntries(
    Object.entries(env).filter(([variable]) => !SECRET_VARIABLE.test(variable))
  )
  const { code, stdout, failure, missing } = await new Promise<{
    code: number | null
    stdout: string
    failure?: string
    missing?: boolean
  }>(resolve => {
    const child = spawn(program, ['get'], {
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: HELPER_TIMEOUT_MS
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')))
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: null, stdout: '', failure: error.message, missing: error.code === 'ENOENT' })
    )
    child.on('close', exitCode => resolve({ code: exitCode, stdout: out, failure: err.trim() }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(host)
  })
  const source = `credential helper ${program}`
  if (code !== 0) {
    if (missing && !required) return undefined
    // What helpers print when they hold nothing for the server (docker-credential-helpers).
    if (code !== null && /credentials not found/i.test(stdout + (failure ?? ''))) return undefined
    throw new RegistryError(
      `The ${source} (named in ${dockerConfigPath(env)}) failed for ${host}` +
        `${code === null ? '' : ` with exit code ${code}`}: ${firstLine(failure || stdout)}. ` +
        `Check that ${program} is on PATH and logged in (docker login ${host}), or give ` +
        'registry-username and registry-password.'
    )
  }
  let answer: { Username?: unknown; Secret?: unknown }
  try {
    answer = JSON.parse(stdout) as typeof answer
  } catch {
    throw new RegistryError(`The ${source} answered for ${host} with something that is not JSON.`)
  }
  if (typeof answer.Secret !== 'string' || !answer.Secret) return undefined
  // `<token>` is how helpers say the secret is an identity token.
  if (answer.Username === '<token>') return { identityToken: answer.Secret, source }
  return {
    username: typeof answer.Username === 'string' ? answer.Username : undefined,
    password: answer.Secret,
    source
  }
}

/** One line of a helper's complaint, cut short; helpers never print the secret on failure. */
function firstLine(text: string): string {
  const line = text.split('\n')[0]?.trim() || 'no message'
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}
