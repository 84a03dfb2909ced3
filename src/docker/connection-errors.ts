/** Explaining a failed TLS or ssh connection to the engine: what went wrong and what to fix. */
import type { EngineConnection } from './connection.js'

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
