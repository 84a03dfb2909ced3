/** The ssh options of an ssh:// engine address: keys to offer and the hosts to trust. */
import { createHmac } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type Docker from 'dockerode'

type SshOptions = NonNullable<Docker.DockerOptions['sshOptions']>
/** ssh2's auth methods; the library's type names only their common fields. */
type SshAuth = Extract<NonNullable<SshOptions['authHandler']>, object[]>[number]

/** The identities OpenSSH tries by default, in its order, under ~/.ssh. */
const SSH_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ed25519']

/**
 * What OpenSSH would use without a config file: the agent at SSH_AUTH_SOCK, then the default
 * identities in ~/.ssh; and it accepts only a host whose key is in ~/.ssh/known_hosts.
 */
export function sshOptions(
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
