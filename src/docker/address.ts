/** Parsing an engine address (unix socket, tcp or ssh URL) and naming it without secrets. */
import { InvalidSettingsError } from '../shared/errors.js'

const ACCEPTED = 'unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]'

export interface ParsedAddress {
  scheme: 'unix' | 'tcp' | 'ssh'
  socketPath?: string
  host?: string
  port?: number
  username?: string
}

/** Throws InvalidSettingsError naming `source` unless `address` is one we can dial. */
export function parseAddress(address: string, source: string): ParsedAddress {
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
