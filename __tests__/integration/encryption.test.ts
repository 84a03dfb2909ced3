import { execFile, spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { layoutObjectFile } from '../oci-layout.js'
import {
  BUSYBOX,
  REGISTRY,
  docker,
  inBusybox,
  removeByPrefix,
  runBundle,
  uniquePrefix,
  type Finished
} from './support.js'

// Encrypted snapshots end to end, through the bundles users run: the `age` tool opens what the
// store holds, a restore brings back a container's secret environment without `env`, a missing
// or wrong key stops a restore before it touches anything, and no secret given to a run (registry
// password, passphrase, identity) nor a container's secret value reaches any output, file or
// spawned process.
const run = promisify(execFile)
const prefix = uniquePrefix('encrypt')
const PASSPHRASE = 'passphrase-in-the-clear-7x'
const REGISTRY_PASSWORD = 'registry-password-in-the-clear-9q'
const ENV_SECRET = 'container-secret-in-the-clear-4k'
const CONTENT = 'volume-content-in-the-clear-2m'
const AGE_MAGIC = 'age-encryption.org/v1'

let work: string
let store: string
let keyFile: string
let identity: string
let recipient: string
/** A directory first on PATH whose `zstd` writes its environment down, then runs the real one. */
let spy: string
const container = `${prefix}db`
const volume = `${prefix}data`

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dst-encrypt-'))
  store = join(work, 'store')
  keyFile = join(work, 'key.txt')
  await run('age-keygen', ['-o', keyFile])
  identity = (await readFile(keyFile, 'utf8')).split('\n').find(l => l.startsWith('AGE-'))!
  recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim()
  spy = join(work, 'bin')
  await mkdir(join(work, 'environments'))
  await mkdir(spy)
  const zstd = (await run('sh', ['-c', 'command -v zstd'])).stdout.trim()
  // Node, not sh: a shell drops variables whose names hold '-', as the action's INPUT_* do.
  await writeFile(
    join(spy, 'zstd'),
    [
      `#!${process.execPath}`,
      "const { writeFileSync } = require('node:fs')",
      `writeFileSync(${JSON.stringify(join(work, 'environments'))} + '/zstd-' + process.pid, ` +
        'JSON.stringify(process.env))',
      "const { status } = require('node:child_process')",
      `  .spawnSync(${JSON.stringify(zstd)}, process.argv.slice(2), { stdio: 'inherit' })`,
      'process.exit(status ?? 1)',
      ''
    ].join('\n')
  )
  await chmod(join(spy, 'zstd'), 0o755)

  await docker('volume', 'create', volume)
  await inBusybox(['-v', `${volume}:/data`], `echo ${CONTENT} > /data/file`)
  await docker(
    'run',
    '-d',
    '--init',
    '--name',
    container,
    '-e',
    `DB_PASSWORD=${ENV_SECRET}`,
    '-v',
    `${volume}:/data`,
    BUSYBOX,
    'sleep',
    '3600'
  )
})

afterAll(async () => {
  await removeByPrefix(`copy-${prefix}`)
  await removeByPrefix(`again-${prefix}`)
  await removeByPrefix(prefix)
  await rm(work, { recursive: true, force: true })
})

/** The CLI bundle with the spying zstd first on PATH and `env` added. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return runBundle(args, {
    env: { PATH: `${spy}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? '', ...env }
  })
}

/** Every file under `dir`, with its bytes. */
async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const files: { path: string; bytes: Buffer }[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    files.push({ path, bytes: await readFile(path) })
  }
  return files
}

/** Each secret that `text` holds. */
function leaked(text: string | Buffer, secrets: string[]): string[] {
  return secrets.filter(secret => text.includes(secret))
}

const action = parse(await readFile('action.yml', 'utf8')) as { runs: Record<string, string> }

/** The action's main step as a runner runs it, with INPUT_* variables and its command files. */
async function runAction(name: string, inputs: Record<string, string>) {
  const files = {
    GITHUB_OUTPUT: join(work, `${name}-output`),
    GITHUB_STATE: join(work, `${name}-state`),
    GITHUB_STEP_SUMMARY: join(work, `${name}-summary`)
  }
  for (const file of Object.values(files)) await writeFile(file, '')
  const env = Object.fromEntries(
    Object.entries(inputs).map(([input, value]) => [`INPUT_${input.toUpperCase()}`, value])
  )
  const child = spawn(process.execPath, [action.runs.main], {
    env: {
      PATH: `${spy}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '',
      ...files,
      ...env
    }
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  const written = await Promise.all(Object.values(files).map(file => readFile(file, 'utf8')))
  return { code, output, files: written.join('\n'), outputFile: written[0] }
}

describe('encrypted snapshots', () => {
  it('open with the age tool and restore secret env without env; keys are checked first', async () => {
    const passphraseEnv = { DOCKER_SNAPSHOT_ENCRYPTION_PASSPHRASE: PASSPHRASE }
    const taken = await cli(
      [
        'snapshot',
        '--containers',
        container,
        '--store',
        store,
        '--snapshot-id',
        `${prefix}cli`,
        '--encryption-recipients',
        recipient
      ],
      passphraseEnv
    )
    expect(taken.code, taken.stderr).toBe(0)
    expect(taken.stdout).toContain(
      `Secret-looking environment values kept in the encrypted manifest (${container}: ` +
        'DB_PASSWORD): a restore needs no env setting for them.'
    )

    // Every object is an age file that the age tool opens with the identity alone.
    const files = await filesUnder(store)
    const encrypted = files.filter(
      f => f.bytes.subarray(0, AGE_MAGIC.length).toString() === AGE_MAGIC
    )
    // The snapshot's key file is encrypted to the passphrase, not to the identity.
    const keyBlob = await layoutObjectFile(store, `${prefix}cli`, 'snapshot-key.age')
    const opened: string[] = []
    for (const { path } of encrypted) {
      if (path === keyBlob) continue
      const { stdout } = await run('age', ['-d', '-i', keyFile, path], {
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024
      })
      opened.push(stdout.toString('latin1'))
    }
    const manifest = opened.find(text => text.includes(`"snapshotId": "${prefix}cli"`))
    expect(manifest, 'a manifest among the files age opened').toBeDefined()
    expect(manifest).toContain(`DB_PASSWORD=${ENV_SECRET}`)
    // Volume archive and the committed image: zstd frames once opened.
    expect(opened.filter(text => text.startsWith('\u0028\u00b5\u002f\u00fd')).length).toBe(2)
    for (const { bytes } of files)
      expect(leaked(bytes, [ENV_SECRET, CONTENT, PASSPHRASE])).toEqual([])

    // Without a key: ls shows it encrypted; restore and verify name the inputs and touch nothing.
    const listed = await cli(['ls', '--store', store])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toMatch(new RegExp(`${prefix}cli\\s+encrypted`))
    const keyless = await cli(['restore', '--store', store, '--prefix', 'copy-'])
    expect(keyless.code).toBe(2)
    expect(keyless.stderr).toContain(
      `error: Snapshot ${prefix}cli in directory ${store} is encrypted: give the ` +
        'encryption-identity (an age private key or key file) or encryption-passphrase it was ' +
        'taken with. Nothing was touched.'
    )
    const wrongKey = join(work, 'wrong.txt')
    await run('age-keygen', ['-o', wrongKey])
    const wrong = await cli([
      'verify',
      '--store',
      store,
      '--snapshot-id',
      `${prefix}cli`,
      '--encryption-identity',
      wrongKey
    ])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain(
      `error: Snapshot ${prefix}cli in directory ${store} is encrypted, and the ` +
        'encryption-identity given does not open manifest.json.'
    )
    expect(await docker('ps', '-aq', '--filter', `name=^/copy-${prefix}`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=^copy-${prefix}`)).toBe('')

    // With the key file: the copy gets the secret value back, with no env given.
    const restored = await cli([
      'restore',
      '--store',
      store,
      '--snapshot-id',
      `${prefix}cli`,
      '--prefix',
      'copy-',
      '--ports',
      'none',
      '--encryption-identity',
      keyFile
    ])
    expect(restored.code, restored.stderr).toBe(0)
    const env = JSON.parse(
      await docker('inspect', '--format', '{{json .Config.Env}}', `copy-${container}`)
    ) as string[]
    expect(env).toContain(`DB_PASSWORD=${ENV_SECRET}`)
    expect(await inBusybox(['-v', `copy-${volume}:/data:ro`], 'cat /data/file')).toBe(CONTENT)
    // The passphrase alone opens it too (its key object), in ls as everywhere.
    const byPassphrase = await cli(['ls', '--store', store], passphraseEnv)
    expect(byPassphrase.stdout).toMatch(new RegExp(`${prefix}cli\\s+complete`))

    for (const result of [taken, listed, keyless, wrong, restored, byPassphrase]) {
      expect(leaked(result.stdout + result.stderr, [ENV_SECRET, PASSPHRASE, identity])).toEqual([])
    }
  })

  it('keeps every secret out of outputs, state, summary, store and spawned processes', async () => {
    const actionStore = join(work, 'action-store')
    const secrets = [REGISTRY_PASSWORD, PASSPHRASE, identity]
    const taken = await runAction('snapshot', {
      containers: container,
      store: actionStore,
      'snapshot-id': `${prefix}action`,
      registry: REGISTRY,
      repository: `${prefix}repo`,
      'registry-password': REGISTRY_PASSWORD,
      'encryption-passphrase': PASSPHRASE,
      'encryption-identity': identity
    })
    expect(taken.code, taken.output).toBe(0)
    expect(taken.files).toContain(`${prefix}action`)
    const restored = await runAction('restore', {
      mode: 'restore',
      store: actionStore,
      'snapshot-id': `${prefix}action`,
      prefix: 'again-',
      ports: 'none',
      registry: REGISTRY,
      'registry-password': REGISTRY_PASSWORD,
      'encryption-identity': identity
    })
    expect(restored.code, restored.output).toBe(0)
    const env = JSON.parse(
      await docker('inspect', '--format', '{{json .Config.Env}}', `again-${container}`)
    ) as string[]
    expect(env).toContain(`DB_PASSWORD=${ENV_SECRET}`)

    for (const step of [taken, restored]) {
      // The runner reads `::add-mask::` commands and shows no log line that holds the value.
      const masks = step.output.split('\n').filter(line => line.startsWith('::add-mask::'))
      expect(masks.sort()).toEqual(
        secrets
          .filter(secret => step !== restored || secret !== PASSPHRASE)
          .map(s => `::add-mask::${s}`)
          .sort()
      )
      const logged = step.output
        .split('\n')
        .filter(line => !line.startsWith('::add-mask::'))
        .join('\n')
      expect(leaked(logged, [...secrets, ENV_SECRET])).toEqual([])
      expect(leaked(step.files, [...secrets, ENV_SECRET])).toEqual([])
    }
    for (const { path, bytes } of await filesUnder(actionStore)) {
      expect(leaked(bytes, [...secrets, ENV_SECRET]), path).toEqual([])
    }
    // zstd ran for the volume in both runs (and in the CLI's): none had a secret to inherit.
    const environments = await filesUnder(join(work, 'environments'))
    expect(environments.length).toBeGreaterThanOrEqual(2)
    for (const { path, bytes } of environments) {
      expect(leaked(bytes, [...secrets, ENV_SECRET]), path).toEqual([])
    }
  })
})
