import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import type { Logger } from '../../src/shared/log.js'

const run = promisify(execFile)

export const REGISTRY = process.env.DOCKER_SNAPSHOT_TEST_REGISTRY ?? '127.0.0.1:5000'
export const BUSYBOX = 'docker-snapshot-test/busybox:1'
export const POSTGRES = 'docker-snapshot-test/postgres:15'

/** A name prefix unique to one test, so tests never touch each other's (or a user's) objects. */
export function uniquePrefix(label: string): string {
  return `dst-${label}-${randomBytes(3).toString('hex')}-`
}

/**
 * The docker CLI, used by tests as an independent observer (and to set up scenes), apart from
 * the engine code under test.
 */
export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })
  return stdout.trim()
}

/** The bundle users run (rebuilt by `npm run package`): proves what esbuild made of the source. */
export const CLI = resolve('dist/cli.js')

/** How a child process ended, with all it wrote. */
export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Collects a piped child's output until it closes; `onStderr` sees stderr so far as it arrives. */
export function finishedOf(
  child: ChildProcess,
  onStderr?: (text: string, child: ChildProcess) => void
): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', code => resolvePromise({ code, stdout, stderr }))
  })
}

/**
 * Runs the bundle with `node` (in `cwd`, with `env` in place of this process's environment, both
 * when given); `onStderr` sees stderr so far as it arrives, with the child, to interrupt it midway.
 */
export function runBundle(
  args: string[],
  options: {
    cwd?: string
    env?: NodeJS.ProcessEnv
    onStderr?: (text: string, child: ChildProcess) => void
  } = {}
): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return finishedOf(child, options.onStderr)
}

/** A run of the bundle that was to be interrupted midway: how it ended, and whether it was. */
export interface Interrupted extends Finished {
  interrupted: boolean
}

/**
 * Runs the bundle and sends it SIGINT once its stderr first contains `when`; `interrupted` is
 * false when it finished before that.
 */
export async function runBundleInterruptedAt(args: string[], when: string): Promise<Interrupted> {
  let interrupted = false
  const run = await runBundle(args, {
    onStderr: (text, child) => {
      if (!interrupted && text.includes(when)) {
        interrupted = true
        child.kill('SIGINT')
      }
    }
  })
  return { ...run, interrupted }
}

/** Runs `sh -c script` in a throwaway busybox container with the given extra docker args. */
export function inBusybox(dockerArgs: string[], script: string): Promise<string> {
  return docker('run', '--rm', ...dockerArgs, BUSYBOX, 'sh', '-c', script)
}

/** Starts container `name` in the background under an init (so it stops at once): `docker run -d`. */
export function detached(name: string, ...dockerArgs: string[]): Promise<string> {
  return docker('run', '-d', '--init', '--name', name, ...dockerArgs)
}

/** Starts a busybox container `name` that sleeps for an hour, with extra `docker run` arguments. */
export function sleeper(name: string, ...dockerArgs: string[]): Promise<string> {
  return detached(name, ...dockerArgs, BUSYBOX, 'sleep', '3600')
}

/**
 * Removes every container, volume and network whose name starts with `prefix`, then every image
 * whose repository or tag carries it (commits, pushed and pulled copies, tags given back by a
 * restore): containers first, so that no image is left untagged but in use.
 */
export async function removeByPrefix(prefix: string): Promise<void> {
  const containers = (await docker('ps', '-aq', '--filter', `name=^/${prefix}`)).split('\n')
  if (containers[0]) await docker('rm', '-f', '-v', ...containers)
  const volumes = (await docker('volume', 'ls', '-q', '--filter', `name=^${prefix}`)).split('\n')
  if (volumes[0]) await docker('volume', 'rm', '-f', ...volumes)
  const networks = (await docker('network', 'ls', '-q', '--filter', `name=^${prefix}`)).split('\n')
  if (networks[0]) await docker('network', 'rm', ...networks)
  await removeImagesByPrefix(prefix)
}

/**
 * Removes every image whose repository or tag carries `prefix` (by tag, or by id when untagged),
 * and every untagged commit whose comment names it.
 */
async function removeImagesByPrefix(prefix: string): Promise<void> {
  const rows = (
    await docker('images', '--no-trunc', '--format', '{{.Repository}} {{.Tag}} {{.ID}}')
  )
    .split('\n')
    .map(row => row.split(' '))
    .filter(([repository, tag]) => `${repository}:${tag}`.includes(prefix))
  // Tags first: an untagged row may be an image that its last tag's removal already took.
  const tagged = rows.filter(([, tag]) => tag !== '<none>').map(([repo, tag]) => `${repo}:${tag}`)
  const untagged = rows.filter(([, tag]) => tag === '<none>').map(([, , id]) => id)
  // Commits that lost their tag: docker-snapshot's commit comment names the snapshot and container.
  const dangling = (await docker('images', '-q', '--no-trunc', '--filter', 'dangling=true'))
    .split('\n')
    .filter(Boolean)
  if (dangling.length > 0) {
    // Another test may remove one meanwhile; what is left, the next cleanup finds.
    const comments = await docker(
      'image',
      'inspect',
      '--format',
      '{{.Id}} {{.Comment}}',
      ...dangling
    ).catch(() => '')
    for (const line of comments.split('\n')) {
      const [id, ...comment] = line.split(' ')
      if (comment.join(' ').includes(prefix)) untagged.push(id)
    }
  }
  for (const reference of new Set([...tagged, ...untagged])) {
    // Gone already, or used by a container of another prefix: that one's cleanup takes it.
    await docker('rmi', '-f', reference).catch((error: unknown) => {
      if (!/No such image|being used by running container/.test(String(error))) throw error
    })
  }
}

export interface Stack {
  network: string
  volumes: string[]
  containers: string[]
}

/**
 * Two services from a locally built image on a user-defined network (the first with alias
 * `database`), two named volumes holding files of several owners and modes, a symlink, a
 * hardlink and an empty directory.
 */
export async function createStack(prefix: string): Promise<Stack> {
  const network = `${prefix}net`
  const data = `${prefix}data`
  const conf = `${prefix}conf`
  await docker('network', 'create', '--label', 'purpose=test', network)
  await docker('volume', 'create', '--label', 'tier=data', data)
  await docker('volume', 'create', conf)
  await inBusybox(
    ['-v', `${data}:/data`, '-v', `${conf}:/conf`],
    [
      'mkdir -p /data/www /data/empty /data/private /conf/app.d',
      'echo "hello from the database" > /data/www/index.html',
      'head -c 300000 /dev/urandom > /data/private/blob.bin',
      'chown -R 1000:1000 /data/private && chmod 700 /data/private && chmod 640 /data/private/blob.bin',
      'ln /data/private/blob.bin /data/private/blob.hardlink',
      'ln -s www/index.html /data/current',
      'echo "mode=fast" > /conf/app.d/app.conf && chown 33:44 /conf/app.d/app.conf && chmod 604 /conf/app.d/app.conf',
      'touch -d "2021-03-04 05:06:07" /conf/app.d/app.conf /data/www',
      'chown 1000:1000 /conf && chmod 2775 /conf'
    ].join(' && ')
  )
  const db = `${prefix}db`
  const app = `${prefix}app`
  await docker(
    'run',
    '-d',
    '--name',
    db,
    '--init',
    '--network',
    network,
    '--network-alias',
    'database',
    '-v',
    `${data}:/data`,
    '-e',
    'DB_MODE=primary',
    '-e',
    'DB_PASSWORD=s3cret-value',
    '-l',
    'role=db',
    '-l',
    `dst-stack=${prefix}`,
    '-p',
    '127.0.0.1::8080',
    '--restart',
    'unless-stopped',
    '--health-cmd',
    'wget -q -O /dev/null http://127.0.0.1:8080/www/index.html',
    '--health-interval',
    '1s',
    '-w',
    '/data',
    BUSYBOX,
    'httpd',
    '-f',
    '-p',
    '8080',
    '-h',
    '/data'
  )
  await docker(
    'run',
    '-d',
    '--name',
    app,
    '--init',
    '--network',
    network,
    '-v',
    `${conf}:/conf:ro`,
    '-l',
    'role=app',
    '-l',
    `dst-stack=${prefix}`,
    '-l',
    `docker-snapshot.depends-on=${db}`,
    '--user',
    '1000:1000',
    '--hostname',
    'app-host',
    '-e',
    'APP_MODE=test',
    BUSYBOX,
    'sh',
    '-c',
    'while true; do sleep 1; done'
  )
  return { network, volumes: [conf, data], containers: [app, db] }
}

/** What a stack's `app` reads from the database's web page, asked by its network alias. */
export function askDatabase(app: string): Promise<string> {
  return docker('exec', app, 'wget', '-q', '-O', '-', 'http://database:8080/www/index.html')
}

/** A listing a user would compare: path, type, owner, mode, size, mtime, link target, link count. */
export function treeListing(volume: string): Promise<string> {
  return inBusybox(
    ['-v', `${volume}:/v:ro`],
    'cd /v && find . | sort | while read -r f; do ' +
      'stat -c "%n %F %u:%g %a %s %Y %h" "$f"; [ -L "$f" ] && readlink "$f"; ' +
      '[ -f "$f" ] && [ ! -L "$f" ] && md5sum "$f" | cut -d" " -f1; done; true'
  )
}

/** A logger that keeps what it was told, to assert on what the user reads. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    debug: () => undefined,
    info: message => lines.push(message),
    warn: message => lines.push(`warning: ${message}`),
    group: async (title, fn) => {
      lines.push(`## ${title}`)
      return fn()
    }
  }
}

/** All the bytes of a stream. */
export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}

/**
 * Moves `original` (a container with /d/big in its volume at /d) on after its snapshot: a replace
 * that fails must bring back this data, not the snapshot's. Resolves with the check that the
 * same container is back, in the same state, with this data.
 */
export async function moveOnAfterSnapshot(original: string): Promise<() => Promise<void>> {
  await docker('exec', original, 'sh', '-c', 'echo the original > /d/marker && echo more >> /d/big')
  const identity = () =>
    docker('inspect', '--format', '{{.Id}} {{.Name}} {{.State.Status}}', original)
  const before = await identity()
  const sum = await docker('exec', original, 'md5sum', '/d/big')
  return async () => {
    expect(await identity()).toBe(before)
    expect(await docker('exec', original, 'cat', '/d/marker')).toBe('the original')
    expect(await docker('exec', original, 'md5sum', '/d/big')).toBe(sum)
  }
}
