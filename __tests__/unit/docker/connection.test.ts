import { execFileSync } from 'node:child_process'
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { explainConnectionError } from '../../../src/docker/connection-errors.js'
import { resolveConnection } from '../../../src/docker/connection.js'
import { isKnownHost } from '../../../src/docker/ssh.js'
import { InvalidSettingsError } from '../../../src/shared/errors.js'

let root: string
/** A directory with a CA-less self-signed ca.pem, cert.pem and key.pem that belong together. */
let certs: string

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'dst-connection-'))
  certs = join(root, 'certs')
  mkdirSync(certs)
  execFileSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test',
    '-keyout',
    join(certs, 'key.pem'),
    '-out',
    join(certs, 'cert.pem')
  ])
  copyFileSync(join(certs, 'cert.pem'), join(certs, 'ca.pem'))
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

/** A fresh HOME; `config` becomes ~/.docker/config.json. */
function home(config?: object): string {
  const dir = mkdtempSync(join(root, 'home-'))
  mkdirSync(join(dir, '.docker'))
  if (config) writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify(config))
  return dir
}

/** A context as `docker context create` writes it, with its TLS files when `tls` is set. */
function addContext(homeDir: string, name: string, host: string, tls = false) {
  const id = createHash('sha256').update(name).digest('hex')
  const meta = join(homeDir, '.docker', 'contexts', 'meta', id)
  mkdirSync(meta, { recursive: true })
  const endpoint = { Host: host, SkipTLSVerify: false }
  writeFileSync(
    join(meta, 'meta.json'),
    JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: endpoint } })
  )
  if (!tls) return
  const dir = join(homeDir, '.docker', 'contexts', 'tls', id, 'docker')
  mkdirSync(dir, { recursive: true })
  for (const file of ['ca.pem', 'cert.pem', 'key.pem'])
    copyFileSync(join(certs, file), join(dir, file))
}

const message = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError)
    return (error as Error).message
  }
  throw new Error('expected an InvalidSettingsError')
}

describe('resolveConnection: which engine, as the Docker CLI picks it', () => {
  it.each([
    {
      case: 'the docker-host input before DOCKER_HOST and contexts',
      explicit: 'unix:///run/a.sock',
      env: { DOCKER_HOST: 'unix:///run/b.sock', DOCKER_CONTEXT: 'far' },
      address: 'unix:///run/a.sock',
      source: 'docker-host'
    },
    {
      case: 'DOCKER_HOST before DOCKER_CONTEXT',
      env: { DOCKER_HOST: 'unix:///run/b.sock', DOCKER_CONTEXT: 'far' },
      address: 'unix:///run/b.sock',
      source: 'DOCKER_HOST'
    },
    {
      case: 'DOCKER_CONTEXT before currentContext',
      env: { DOCKER_CONTEXT: 'far' },
      address: 'tcp://far.example:2375',
      source: 'Docker context "far" (DOCKER_CONTEXT)'
    },
    {
      case: 'currentContext of config.json',
      env: {},
      address: 'ssh://deploy@near.example',
      source: expect.stringMatching(/^Docker context "near" \(currentContext in .*config\.json\)$/)
    },
    {
      case: 'the context named default: the default socket',
      env: { DOCKER_CONTEXT: 'default' },
      address: 'unix:///var/run/docker.sock',
      source: 'the default socket'
    }
  ])('$case', ({ explicit, env, address, source }) => {
    const dir = home({ currentContext: 'near' })
    addContext(dir, 'far', 'tcp://far.example:2375')
    addContext(dir, 'near', 'ssh://deploy@near.example')
    const connection = resolveConnection(explicit, { env, home: dir })
    expect(connection.address).toBe(address)
    expect(connection.source).toEqual(source)
  })

  it('sets every option the library would otherwise read from DOCKER_HOST itself', () => {
    const connection = resolveConnection('unix:///run/a.sock', {
      env: { DOCKER_HOST: 'tcp://other:2376' },
      home: home()
    })
    expect(connection.options).toMatchObject({ socketPath: '/run/a.sock' })
    for (const key of ['host', 'port', 'protocol', 'ca', 'cert', 'key', 'sshOptions']) {
      expect(Object.hasOwn(connection.options, key), key).toBe(true)
      expect(connection.options[key as keyof typeof connection.options]).toBeUndefined()
    }
  })

  it('speaks plain http to tcp without TLS settings, on 2375 by default', () => {
    const connection = resolveConnection(undefined, {
      env: { DOCKER_HOST: 'tcp://10.0.0.5' },
      home: home()
    })
    expect(connection.options).toMatchObject({ host: '10.0.0.5', port: 2375, protocol: 'http' })
  })

  it.each(['1', '0', 'true'])(
    'verifies TLS for any non-empty DOCKER_TLS_VERIFY (%s), as the Docker CLI does',
    verify => {
      const connection = resolveConnection(undefined, {
        env: { DOCKER_HOST: 'tcp://10.0.0.5', DOCKER_TLS_VERIFY: verify, DOCKER_CERT_PATH: certs },
        home: home()
      })
      expect(connection.options).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'https' })
      expect(Buffer.isBuffer(connection.options.ca)).toBe(true)
      expect(connection.tls).toEqual({ dir: certs, setting: 'DOCKER_CERT_PATH' })
    }
  )

  it('encrypts without verifying the engine for DOCKER_TLS alone, and needs no ca.pem', () => {
    const dir = mkdtempSync(join(root, 'no-ca-'))
    for (const file of ['cert.pem', 'key.pem']) copyFileSync(join(certs, file), join(dir, file))
    const connection = resolveConnection(undefined, {
      env: { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS: '1', DOCKER_CERT_PATH: dir },
      home: home()
    })
    expect(connection.options.protocol).toBe('https')
    const { agent } = connection.options as {
      agent?: { options: { rejectUnauthorized?: boolean } }
    }
    expect(agent?.options.rejectUnauthorized).toBe(false)
  })

  it('takes no TLS files for a unix socket, whatever DOCKER_TLS_VERIFY says', () => {
    const connection = resolveConnection('unix:///run/a.sock', {
      env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(root, 'nowhere') },
      home: home()
    })
    expect(connection.options).toMatchObject({ socketPath: '/run/a.sock', ca: undefined })
    expect(connection.tls).toBeUndefined()
  })

  it('reads the TLS files from ~/.docker when DOCKER_CERT_PATH is unset', () => {
    const dir = home()
    for (const file of ['ca.pem', 'cert.pem', 'key.pem']) {
      copyFileSync(join(certs, file), join(dir, '.docker', file))
    }
    const connection = resolveConnection(undefined, {
      env: { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1' },
      home: dir
    })
    expect(connection.options.protocol).toBe('https')
    expect(connection.tls?.dir).toBe(join(dir, '.docker'))
  })

  it.each([
    { files: ['cert.pem', 'key.pem'], missing: 'ca.pem' },
    { files: ['ca.pem', 'key.pem'], missing: 'cert.pem' },
    { files: ['ca.pem'], missing: 'cert.pem, key.pem' }
  ])('names $missing when it is missing, before dialing', ({ files, missing }) => {
    const dir = mkdtempSync(join(root, 'partial-'))
    for (const file of files) copyFileSync(join(certs, file), join(dir, file))
    expect(
      message(() =>
        resolveConnection(undefined, {
          env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir },
          home: home()
        })
      )
    ).toBe(
      `TLS for DOCKER_HOST: ${missing} missing in ${dir} (DOCKER_CERT_PATH). Put the engine's ` +
        `CA certificate (ca.pem) and the client certificate and key (cert.pem, key.pem) there, ` +
        `or point DOCKER_CERT_PATH at the directory that has them.`
    )
  })

  it('refuses a key.pem that is not the key of cert.pem, without showing either', () => {
    const dir = mkdtempSync(join(root, 'mismatch-'))
    copyFileSync(join(certs, 'ca.pem'), join(dir, 'ca.pem'))
    copyFileSync(join(certs, 'cert.pem'), join(dir, 'cert.pem'))
    execFileSync('openssl', ['genrsa', '-out', join(dir, 'key.pem'), '2048'], { stdio: 'ignore' })
    const text = message(() =>
      resolveConnection(undefined, {
        env: { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir },
        home: home()
      })
    )
    expect(text).toContain(`key.pem does not belong to cert.pem`)
    expect(text).not.toContain('PRIVATE KEY')
  })

  it("takes a context's TLS files from contexts/tls", () => {
    const dir = home({ currentContext: 'secure' })
    addContext(dir, 'secure', 'tcp://10.0.0.7:2376', true)
    const connection = resolveConnection(undefined, { env: {}, home: dir })
    expect(connection.options).toMatchObject({ host: '10.0.0.7', port: 2376, protocol: 'https' })
    expect(connection.tls?.dir).toMatch(/contexts\/tls\/[0-9a-f]{64}\/docker$/)
  })

  it('names a context that does not exist, and where it came from', () => {
    const dir = home({ currentContext: 'gone' })
    expect(message(() => resolveConnection(undefined, { env: {}, home: dir }))).toMatch(
      /^Docker context "gone" \(currentContext in .*config\.json\) not found: there is no .*meta\.json\. Create it \(`docker context create gone`\), pick an existing one/
    )
  })

  it.each([
    // A value where a string belongs: the parser quotes the text around it.
    '{"auths":{"registry.example":{"auth":dXNlcjpzM2NyZXQtcGFzcw==}}}',
    // A brace missing at the end.
    '{"auths":{"registry.example":{"auth":"dXNlcjpzM2NyZXQtcGFzcw=="}}'
  ])('says a broken config.json is not valid JSON without quoting its credentials', text => {
    const dir = home()
    writeFileSync(join(dir, '.docker', 'config.json'), text)
    const said = message(() => resolveConnection(undefined, { env: {}, home: dir }))
    expect(said).toMatch(
      /^Cannot read the Docker CLI configuration .*config\.json: it is not valid JSON[ .]/
    )
    expect(said).not.toMatch(/dXNlcj|auth/)
  })

  it('dials ssh with the agent and the default identities, checking known_hosts', () => {
    const dir = home()
    mkdirSync(join(dir, '.ssh'))
    writeFileSync(join(dir, '.ssh', 'id_ed25519'), 'not parsed here')
    const connection = resolveConnection('ssh://deploy@build-host:2222', {
      env: { SSH_AUTH_SOCK: '/run/agent.sock' },
      home: dir
    })
    expect(connection.options).toMatchObject({
      host: 'build-host',
      port: 2222,
      protocol: 'ssh',
      username: 'deploy'
    })
    const ssh = connection.options.sshOptions
    expect(ssh?.authHandler).toEqual([
      { type: 'agent', username: 'deploy', agent: '/run/agent.sock' },
      { type: 'publickey', username: 'deploy', key: Buffer.from('not parsed here') }
    ])
    expect(typeof ssh?.hostVerifier).toBe('function')
  })
})

describe('isKnownHost', () => {
  const key = randomBytes(51)
  const other = randomBytes(51)
  const hashed = (name: string) => {
    const salt = randomBytes(20)
    const digest = createHmac('sha1', salt).update(name).digest('base64')
    return `|1|${salt.toString('base64')}|${digest}`
  }
  it.each([
    { case: 'a plain entry', line: `10.0.0.5 ssh-ed25519 ${key.toString('base64')}`, known: true },
    {
      case: 'one of several names',
      line: `box,10.0.0.5 ssh-ed25519 ${key.toString('base64')}`,
      known: true
    },
    {
      case: 'a hashed entry',
      line: `${hashed('10.0.0.5')} ssh-ed25519 ${key.toString('base64')}`,
      known: true
    },
    {
      case: 'another key for the host',
      line: `10.0.0.5 ssh-ed25519 ${other.toString('base64')}`,
      known: false
    },
    {
      case: 'the key for another host',
      line: `10.0.0.6 ssh-ed25519 ${key.toString('base64')}`,
      known: false
    },
    {
      case: 'the host on port 22 when listed for another port',
      line: `[10.0.0.5]:2222 ssh-ed25519 ${key.toString('base64')}`,
      known: false
    },
    {
      case: 'a revoked key',
      line: `@revoked 10.0.0.5 ssh-ed25519 ${key.toString('base64')}`,
      known: false
    }
  ])('$case: $known', ({ line, known }) => {
    const file = join(mkdtempSync(join(root, 'kh-')), 'known_hosts')
    writeFileSync(file, `# comment\n${line}\n`)
    expect(isKnownHost(file, '10.0.0.5', 22, key)).toBe(known)
  })

  it('matches [host]:port for other ports, and nothing without a file', () => {
    const file = join(mkdtempSync(join(root, 'kh-')), 'known_hosts')
    writeFileSync(file, `${hashed('[10.0.0.5]:2222')} ssh-ed25519 ${key.toString('base64')}\n`)
    expect(isKnownHost(file, '10.0.0.5', 2222, key)).toBe(true)
    expect(isKnownHost(join(root, 'none'), '10.0.0.5', 22, key)).toBe(false)
  })
})

describe('explainConnectionError', () => {
  it.each([
    {
      error: Object.assign(new Error('unable to verify the first certificate'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
      }),
      says: /^TLS verification of the engine at tcp:\/\/10\.0\.0\.5:2376 \(from DOCKER_HOST\) failed/
    },
    {
      error: Object.assign(new Error('sslv3 alert bad certificate'), {
        code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'
      }),
      says: /refused the TLS client certificate/
    },
    {
      error: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      says: undefined
    }
  ])('$error.message', ({ error, says }) => {
    const text = explainConnectionError(tlsConnection(), error)
    if (says) expect(text).toMatch(says)
    else expect(text).toBeUndefined()
  })

  it.each([
    {
      error: Object.assign(new Error('All configured authentication methods failed'), {
        level: 'client-authentication'
      }),
      says: /^ssh authentication as deploy to ssh:\/\/deploy@box \(from DOCKER_HOST\) failed/
    },
    {
      error: Object.assign(new Error('Host denied (verification failed)'), { level: 'handshake' }),
      says: /the host's key is not in ~\/\.ssh\/known_hosts/
    }
  ])('ssh: $error.message', ({ error, says }) => {
    const ssh = resolveConnection(undefined, {
      env: { DOCKER_HOST: 'ssh://deploy@box' },
      home: home()
    })
    expect(explainConnectionError(ssh, error)).toMatch(says)
  })
})

function tlsConnection() {
  return resolveConnection(undefined, {
    env: { DOCKER_HOST: 'tcp://10.0.0.5:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs },
    home: home()
  })
}
