import { afterAll, beforeAll, expect, test } from 'vitest'
import { PassThrough } from 'node:stream'
import {
  REGISTRY,
  createStack,
  docker,
  removeByPrefix,
  treeListing,
  uniquePrefix,
  type Stack
} from './support.js'
import type { main as Main } from '../../src/cli/main.js'
import { startGitHubServices, withEnv, type GitHubServices } from '../services/github-services.js'

/**
 * End to end through the CLI's main (the source, in this process: the dist bundle is being
 * rebuilt elsewhere) as jobs of workflow runs against the stand-in services: run A snapshots a
 * stack into its artifacts with its images pushed to the registry; the stack and its local
 * images are removed; run B restores it by run-id, and later runs find `latest` across the
 * workflow's runs.
 */

const RUN_A = 7101
const RUN_B = 7102
const RUN_C = 7103
const RUN_D = 7104
const prefix = uniquePrefix('ghstores')
const repository = `${prefix}images`

let github: GitHubServices
let stack: Stack
let main: typeof Main
/** What this process wrote to its real stdout: the clients log there through @actions/core. */
let processStdout = ''
const stdoutWrite = process.stdout.write.bind(process.stdout)

beforeAll(async () => {
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    processStdout += String(chunk)
    return (stdoutWrite as (...args: unknown[]) => boolean)(chunk, ...rest)
  }) as typeof process.stdout.write
  github = await startGitHubServices()
  for (const run of [RUN_A, RUN_B, RUN_C, RUN_D]) github.runEnv(run)
  const back = await withEnv(github.runEnv(RUN_A))
  try {
    // @actions/artifact fixes GITHUB_API_URL when first imported: import the CLI after the env
    ;({ main } = await import('../../src/cli/main.js'))
  } finally {
    back()
  }
  stack = await createStack(prefix)
})

afterAll(async () => {
  process.stdout.write = stdoutWrite
  await removeByPrefix(prefix)
  await github?.stop()
})

/** Runs the CLI as a job of `runId`; resolves with its exit code and output. */
async function cli(runId: number, args: string[]) {
  const back = await withEnv(github.runEnv(runId))
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
  try {
    const code = await main(args, { stdout, stderr, env: process.env })
    return { code, stdout: out, stderr: err }
  } finally {
    back()
  }
}

const readFrom = (runId?: number) => [
  '--store',
  'artifact',
  ...(runId === undefined ? [] : ['--run-id', String(runId)]),
  '--github-token',
  github.token
]

/** The CLI arguments that snapshot the stack into this run's artifacts as `id`. */
const snapshotArgs = (id: string) => [
  'snapshot',
  '--labels',
  `dst-stack=${prefix}`,
  '--store',
  'artifact',
  '--snapshot-id',
  id,
  '--registry',
  REGISTRY,
  '--repository',
  repository
]

test('run A snapshots into its artifacts; run B restores it by run-id after the stack is gone', async () => {
  const before = await Promise.all(stack.volumes.map(treeListing))
  const taken = await cli(RUN_A, snapshotArgs('nightly-1'))
  expect(taken.stderr).not.toMatch(/error/i)
  expect(taken.code).toBe(0)
  const names = github.service
    .artifacts()
    .filter(a => a.runId === RUN_A)
    .map(a => a.name)
  expect(names).toEqual(
    expect.arrayContaining([
      `nightly-1.volumes.${prefix}data.tar.zst`,
      `nightly-1.volumes.${prefix}conf.tar.zst`,
      'nightly-1.manifest.json'
    ])
  )
  expect(names.at(-1)).toBe('nightly-1.oci-manifest.json')

  await removeByPrefix(prefix)
  expect(await docker('volume', 'ls', '-q', '--filter', `name=^${prefix}`)).toBe('')

  const restored = await cli(RUN_B, [
    'restore',
    ...readFrom(RUN_A),
    '--snapshot-id',
    'nightly-1',
    '--registry',
    REGISTRY
  ])
  expect(restored.stderr).not.toContain(github.token)
  expect(restored.code).toBe(0)
  expect(await Promise.all(stack.volumes.map(treeListing))).toEqual(before)
  expect(await docker('inspect', '-f', '{{.State.Running}}', ...stack.containers)).toBe(
    'true\ntrue'
  )
})

test('a later run restores latest across the workflow’s runs; ls lists them', async () => {
  // run C changes the data and snapshots again
  await docker('exec', `${prefix}db`, 'sh', '-c', 'echo "changed in run C" > /data/www/index.html')
  const taken = await cli(RUN_C, snapshotArgs('nightly-2'))
  expect(taken.code).toBe(0)
  const afterC = await treeListing(`${prefix}data`)
  await removeByPrefix(prefix)

  const listed = await cli(RUN_D, ['ls', ...readFrom(), '--json'])
  expect(listed.code).toBe(0)
  // stdout is the result channel: only JSON lines, nothing the clients print
  for (const line of listed.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()
  const result = JSON.parse(listed.stdout.trim().split('\n').at(-1)!) as {
    result: { snapshots: { snapshotId: string; status: string }[] }
  }
  expect(result.result.snapshots.map(s => [s.snapshotId, s.status])).toEqual([
    ['nightly-2', 'complete'],
    ['nightly-1', 'complete']
  ])

  const restored = await cli(RUN_D, [
    'restore',
    ...readFrom(),
    '--snapshot-id',
    'latest',
    '--registry',
    REGISTRY
  ])
  expect(restored.code).toBe(0)
  expect(await treeListing(`${prefix}data`)).toBe(afterC)
  expect(
    await docker('exec', `${prefix}db`, 'cat', '/data/www/index.html').catch(() => 'not running')
  ).toBe('changed in run C')
})

test('prune keeps the newest and deletes the older snapshot’s artifacts in its run', async () => {
  const pruned = await cli(RUN_D, ['prune', ...readFrom(), '--keep', '1'])
  expect(pruned.code).toBe(0)
  const left = github.service
    .artifacts()
    .filter(a => a.finalized)
    .map(a => a.name)
  expect(left.filter(name => name.startsWith('nightly-1.'))).toEqual([])
  expect(left).toContain('nightly-2.oci-manifest.json')
})

test('the clients’ own output went to stderr, never to stdout', () => {
  expect(processStdout).not.toMatch(
    /::debug::|Uploading artifact|Artifact download|Found \d+ artifact/
  )
})

test('a wrong token is a specific error that does not show it', async () => {
  const refused = await cli(RUN_D, [
    'ls',
    '--store',
    'artifact',
    '--run-id',
    String(RUN_A),
    '--github-token',
    'ghs_not-the-right-token'
  ])
  expect(refused.code).not.toBe(0)
  expect(refused.stderr).toMatch(/workflow artifacts: .*github-token was refused/)
  expect(refused.stderr + refused.stdout).not.toContain('ghs_not-the-right-token')
})
