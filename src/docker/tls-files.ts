/** The TLS files (ca.pem, cert.pem, key.pem) of a tcp connection: reading and checking them. */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { InvalidSettingsError } from '../shared/errors.js'

/** Where the TLS files of a tcp connection came from, to name them when the handshake fails. */
export interface TlsSource {
  dir: string
  /** The setting that points at `dir`, e.g. DOCKER_CERT_PATH. */
  setting: string
}

export interface TlsMaterial {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  verify: boolean
  source: TlsSource
}

/** Reads ca.pem, cert.pem and key.pem, failing up front on the ones that verification needs. */
export function readTls(source: TlsSource, verify: boolean, what: string): TlsMaterial {
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
