import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXIT_FAILED, EXIT_USAGE } from '../../src/cli/exit-codes.js'
import { BUSYBOX, CLI, docker, runBundle, uniquePrefix, type Finished } from './support.js'
import { layoutObjectFile } from '../oci-layout.js'

// A second engine in a network namespace (scripts/remote-engine.sh), reached by the bundle users
// run over TLS, over ssh and through a Docker context made by the real docker CLI.
const SCRIPT = resolve('scripts/remote-engine.sh')
const prefix = uniquePrefix('remote')
const run = promisify(execFile)

interface Remote {
  addr: string
  socket: string
  tls: string
  ssh: string
}
let remote: Remote
let work: string

/** The bundle, with only the given Docker/ssh settings and a HOME of the test's own. */
function runRemote(args: string[], env: Record<string, string>, home: string): Promise<Finished> {
  const dockerSettings = /^(DOCKER_(HOST|TLS|TLS_VERIFY|CERT_PATH|CONTEXT|CONFIG)|SSH_AUTH_SOCK)$/
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !dockerSettings.test(name))
  )
  return runBundle(args, { env: { ...base, HOME: home, ...env } })
}

/** The docker CLI against the second engine's unix socket: an observer apart from our code. */
async function remoteDocker(...args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${remote.socket}` }
  delete env.DOCKER_CONTEXT
  const { stdout } = await run('docker', args, { env, maxBuffer: 16 * 1024 * 1024 })
  return stdout.trim()
}

/** A HOME with the given TLS files as ~/.docker/{ca,cert,key}.pem and ssh files in ~/.ssh. */
async function makeHome(files: { docker?: Record<string, string>; ssh?: Record<string, string> }) {
  const home = await mkdtemp(join(work, 'home-'))
  await mkdir(join(home, '.docker'), { recursive: true })
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 })
  for (const [name, from] of Object.entries(files.docker ?? {})) {
    await copyFile(from, join(home, '.docker', name))
  }
  for (const [name, from] of Object.entries(files.ssh ?? {})) {
    await copyFile(from, join(home, '.ssh', name))
  }
  return home
}

/** A network, a volume holding a file, and a running container on the second engine. */
async function createRemoteStack(label: string) {
  const names = {
    network: `${prefix}${label}-net`,
    volume: `${prefix}${label}-data`,
    container: `${prefix}${label}-app`,
    content: `${label} ${randomBytes(8).toString('hex')}`
  }
  await remoteDocker('network', 'create', names.network)
  await remoteDocker('volume', 'create', names.volume)
  await remoteDocker(
    'run',
    '-d',
    '--name',
    names.container,
    '--network',
    names.network,
    '-v',
    `${names.volume}:/data`,
    BUSYBOX,
    'sh',
    '-c',
    `printf '%s' '${names.content}' > /data/file; exec sleep 3600`
  )
  // Written by the container itself: wait until it has.
  for (let tries = 0; tries < 50; tries++) {
    const written = await remoteDocker('exec', names.container, 'cat', '/data/file').catch(() => '')
    if (written === names.content) return names
    await new Promise(resolveWait => setTimeout(resolveWait, 100))
  }
  throw new Error(`${names.container} did not write /data/file on the remote engine`)
}

async function destroyRemoteStack(names: { network: string; volume: string; container: string }) {
  await remoteDocker('rm', '-f', names.container)
  await remoteDocker('volume', 'rm', names.volume)
  await remoteDocker('network', 'rm', names.network)
}

/** Whether the main engine has an object of that name (it never should: all is remote). */
async function onMainEngine(kind: 'container' | 'volume', name: string): Promise<boolean> {
  try {
    await docker(kind, 'inspect', name)
    return true
  } catch {
    return false
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build it with \`npm run package\``)
  const out = execFileSync('bash', [SCRIPT, 'up'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const value = (name: string) => {
    const match = new RegExp(`^${name}=(.*)$`, 'm').exec(out)
    if (!match) throw new Error(`${SCRIPT} up did not print ${name}:\n${out}`)
    return match[1]
  }
  remote = {
    addr: value('DOCKER_SNAPSHOT_REMOTE_ADDR'),
    socket: value('DOCKER_SNAPSHOT_REMOTE_SOCKET'),
    tls: value('DOCKER_SNAPSHOT_REMOTE_TLS'),
    ssh: value('DOCKER_SNAPSHOT_REMOTE_SSH')
  }
  work = await mkdtemp(join(tmpdir(), 'dst-remote-'))
})

afterAll(async () => {
  // The whole second engine goes, with everything the tests made on it.
  execFileSync('bash', [SCRIPT, 'down'], { stdio: 'inherit' })
  if (work) await rm(work, { recursive: true, force: true })
  expect(existsSync(remote?.socket ?? '/nonexistent')).toBe(false)
})

describe.each([
  {
    transport: 'tcp with TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)',
    label: 'tls',
    setup: async () => ({
      env: {
        DOCKER_HOST: `tcp://${remote.addr}:2376`,
        DOCKER_TLS_VERIFY: '1',
        DOCKER_CERT_PATH: join(remote.tls, 'client')
      },
      home: await makeHome({})
    })
  },
  {
    transport: 'ssh (key in ~/.ssh, host in known_hosts)',
    label: 'ssh',
    setup: async () => ({
      env: { DOCKER_HOST: `ssh://root@${remote.addr}` },
      home: await makeHome({
        ssh: {
          id_ed25519: join(remote.ssh, 'id_ed25519'),
          known_hosts: join(remote.ssh, 'known_hosts')
        }
      })
    })
  },
  {
    transport: 'the current Docker context, made and selected by the docker CLI',
    label: 'context',
    setup: async () => {
      const home = await makeHome({})
      const cli: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(home, '.docker') }
      delete cli.DOCKER_HOST
      delete cli.DOCKER_CONTEXT
      const client = join(remote.tls, 'client')
      await run(
        'docker',
        [
          'context',
          'create',
          'far-away',
          '--docker',
          `host=tcp://${remote.addr}:2376,ca=${client}/ca.pem,cert=${client}/cert.pem,key=${client}/key.pem`
        ],
        { env: cli }
      )
      await run('docker', ['context', 'use', 'far-away'], { env: cli })
      return { env: {}, home }
    }
  }
])('a remote engine over $transport', ({ label, setup }) => {
  it('snapshots a stack there, and restores it there after it is destroyed', async () => {
    const { env, home } = await setup()
    const store = join(work, `store-${label}`)
    const stack = await createRemoteStack(label)
    expect(await onMainEngine('container', stack.container)).toBe(false)

    const snapshot = await runRemote(
      ['snapshot', '--containers', stack.container, '--store', store, '--snapshot-id', 'one'],
      env,
      home
    )
    expect(snapshot.code, snapshot.stderr).toBe(0)
    expect(existsSync(await layoutObjectFile(store, 'one', 'manifest.json'))).toBe(true)
    // Brought back running after the snapshot, on the remote engine.
    expect(await remoteDocker('inspect', '-f', '{{.State.Running}}', stack.container)).toBe('true')

    await destroyRemoteStack(stack)
    const restore = await runRemote(
      ['restore', '--store', store, '--snapshot-id', 'one'],
      env,
      home
    )
    expect(restore.code, restore.stderr).toBe(0)
    expect(await remoteDocker('inspect', '-f', '{{.State.Running}}', stack.container)).toBe('true')
    expect(await remoteDocker('exec', stack.container, 'cat', '/data/file')).toBe(stack.content)
    expect(
      await remoteDocker(
        'inspect',
        '-f',
        '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}',
        stack.container
      )
    ).toBe(stack.network)
    // The main engine got nothing: the snapshot and the restore really went to the remote one.
    expect(await onMainEngine('container', stack.container)).toBe(false)
    expect(await onMainEngine('volume', stack.volume)).toBe(false)
  })
})

describe('a remote engine reached with the wrong credentials', () => {
  let stack: Awaited<ReturnType<typeof createRemoteStack>>
  let store: string

  beforeAll(async () => {
    stack = await createRemoteStack('refused')
    store = join(work, 'store-refused')
  })

  /** A certificate directory holding `files` (name -> source), as DOCKER_CERT_PATH. */
  async function certDir(files: Record<string, string>) {
    const dir = await mkdtemp(join(work, 'certs-'))
    for (const [name, from] of Object.entries(files)) await copyFile(from, join(dir, name))
    return dir
  }

  async function snapshotWith(env: Record<string, string>, home: string) {
    return runRemote(
      ['snapshot', '--containers', stack.container, '--store', store, '--snapshot-id', 'refused'],
      env,
      home
    )
  }

  /** Nothing was touched: the container still runs unpaused; no snapshot, not even staged. */
  async function expectUntouched() {
    expect(await remoteDocker('inspect', '-f', '{{.State.Status}}', stack.container)).toBe(
      'running'
    )
    const entries = existsSync(store) ? await readdir(store, { recursive: true }) : []
    // The store's empty staging folder is all that opening it may leave.
    expect(entries.filter(entry => entry !== '.staging')).toEqual([])
  }

  const tlsEnv = (dir: string) => ({
    DOCKER_HOST: `tcp://${remote.addr}:2376`,
    DOCKER_TLS_VERIFY: '1',
    DOCKER_CERT_PATH: dir
  })

  it('fails with a TLS verification error naming the CA file when the CA is not the engine’s', async () => {
    const client = join(remote.tls, 'client')
    const dir = await certDir({
      'ca.pem': join(remote.tls, 'other-ca', 'ca.pem'),
      'cert.pem': join(client, 'cert.pem'),
      'key.pem': join(client, 'key.pem')
    })
    const result = await snapshotWith(tlsEnv(dir), await makeHome({}))
    expect(result.code, result.stderr).toBe(EXIT_FAILED)
    expect(result.stderr).toContain(
      `TLS verification of the engine at tcp://${remote.addr}:2376 (from DOCKER_HOST) failed`
    )
    expect(result.stderr).toContain(`not signed by the ca.pem in ${dir} (DOCKER_CERT_PATH)`)
    await expectUntouched()
  })

  it('fails before dialing, with exit 2, when the client certificate is missing', async () => {
    const client = join(remote.tls, 'client')
    const dir = await certDir({
      'ca.pem': join(client, 'ca.pem'),
      'key.pem': join(client, 'key.pem')
    })
    const result = await snapshotWith(tlsEnv(dir), await makeHome({}))
    expect(result.code, result.stderr).toBe(EXIT_USAGE)
    expect(result.stderr).toContain(
      `TLS for DOCKER_HOST: cert.pem missing in ${dir} (DOCKER_CERT_PATH)`
    )
    await expectUntouched()
  })

  it('fails with exit 2 when key.pem is not the client certificate’s key', async () => {
    const client = join(remote.tls, 'client')
    const dir = await certDir({
      'ca.pem': join(client, 'ca.pem'),
      'cert.pem': join(client, 'cert.pem'),
      'key.pem': join(remote.tls, 'other-ca', 'ca-key.pem')
    })
    const result = await snapshotWith(tlsEnv(dir), await makeHome({}))
    expect(result.code, result.stderr).toBe(EXIT_USAGE)
    expect(result.stderr).toContain(`key.pem does not belong to cert.pem`)
    expect(result.stderr).not.toContain('PRIVATE KEY')
    await expectUntouched()
  })

  it('fails when the engine refuses a client certificate its CA did not sign', async () => {
    // A certificate the other CA signed for the client, with its own key.
    const dir = await mkdtemp(join(work, 'certs-'))
    await copyFile(join(remote.tls, 'ca.pem'), join(dir, 'ca.pem'))
    const other = join(remote.tls, 'other-ca')
    await run('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=stranger',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'client.csr')
    ])
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      join(dir, 'client.csr'),
      '-CA',
      join(other, 'ca.pem'),
      '-CAkey',
      join(other, 'ca-key.pem'),
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      join(dir, 'cert.pem')
    ])
    const result = await snapshotWith(tlsEnv(dir), await makeHome({}))
    expect(result.code, result.stderr).toBe(EXIT_FAILED)
    expect(result.stderr).toContain(
      `The engine at tcp://${remote.addr}:2376 (from DOCKER_HOST) refused the TLS client certificate`
    )
    await expectUntouched()
  })

  it('fails with an ssh authentication error when the key is not authorized', async () => {
    const home = await makeHome({
      ssh: {
        id_ed25519: join(remote.ssh, 'other_id_ed25519'),
        known_hosts: join(remote.ssh, 'known_hosts')
      }
    })
    const result = await snapshotWith({ DOCKER_HOST: `ssh://root@${remote.addr}` }, home)
    expect(result.code, result.stderr).toBe(EXIT_FAILED)
    expect(result.stderr).toContain(
      `ssh authentication as root to ssh://root@${remote.addr} (from DOCKER_HOST) failed`
    )
    expect(result.stderr).not.toContain('OPENSSH PRIVATE KEY')
    await expectUntouched()
  })

  it('refuses an ssh host whose key is not in known_hosts', async () => {
    const home = await makeHome({ ssh: { id_ed25519: join(remote.ssh, 'id_ed25519') } })
    await writeFile(join(home, '.ssh', 'known_hosts'), '')
    const result = await snapshotWith({ DOCKER_HOST: `ssh://root@${remote.addr}` }, home)
    expect(result.code, result.stderr).toBe(EXIT_FAILED)
    expect(result.stderr).toContain('is not in ~/.ssh/known_hosts')
    await expectUntouched()
  })

  it('fails with exit 2 naming the context when DOCKER_CONTEXT names none', async () => {
    const result = await snapshotWith({ DOCKER_CONTEXT: 'nowhere' }, await makeHome({}))
    expect(result.code, result.stderr).toBe(EXIT_USAGE)
    expect(result.stderr).toContain('Docker context "nowhere" (DOCKER_CONTEXT) not found')
    await expectUntouched()
  })
})
