import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flagsOf } from '../../src/cli/args.js'
import { COMMAND_NAMES } from '../../src/cli/commands.js'
import { main } from '../../src/cli/main.js'
import {
  BUSYBOX,
  CLI,
  docker,
  finishedOf,
  inBusybox,
  removeByPrefix,
  runBundle,
  runBundleInterruptedAt,
  sleeper,
  type Finished,
  uniquePrefix,
  moveOnAfterSnapshot
} from './support.js'
import {
  layoutBlobs,
  layoutObjectFile,
  layoutObjects,
  layoutSnapshots,
  reachedBlobs
} from '../oci-layout.js'

const prefix = uniquePrefix('cli')
const volume = `${prefix}big`
const holder = `${prefix}holder`
let storeDir: string

/** Runs a shell command line inside a pseudo-terminal (util-linux `script`), capturing what it shows. */
function inPseudoTerminal(commandLine: string): Promise<Finished> {
  return finishedOf(
    spawn('script', ['-qfec', commandLine, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] })
  )
}

/** Runs main() in this process, capturing its output. */
async function runMain(args: string[]): Promise<Finished> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) }
  })
  return { code, stdout, stderr }
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`

beforeAll(async () => {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: build it with \`npm run package\` first`)
  }
  storeDir = await mkdtemp(join(tmpdir(), 'dst-cli-store-'))
  await docker('volume', 'create', volume)
  await inBusybox(['-v', `${volume}:/d`], 'head -c 300000000 /dev/urandom > /d/big')
})

afterAll(async () => {
  await removeByPrefix(prefix)
  if (storeDir) await rm(storeDir, { recursive: true, force: true })
})

describe('the bundled CLI', () => {
  it.each(COMMAND_NAMES)('%s --help exits 0 and lists its flags', async command => {
    const { code, stdout, stderr } = await runBundle([command, '--help'])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toContain(`Usage: docker-snapshot ${command} [flags]`)
    for (const flag of flagsOf(command))
      expect(stdout).toMatch(new RegExp(`--(\\[no-\\])?${flag}\\b`))
  })

  it.each([
    {
      args: ['snapshot', '--contaners', 'db'],
      message: 'unknown flag --contaners for snapshot; did you mean --containers?'
    },
    { args: ['restor'], message: "unknown command 'restor'; did you mean restore?" },
    { args: ['snapshot', '--store'], message: 'missing value for --store' },
    {
      args: ['restore', '--start=maybe'],
      message: "Invalid start 'maybe'. Expected true or false."
    },
    { args: ['prune'], message: 'Expected keep (a count), older-than (a duration), or both.' }
  ])('$args exits 2 with the specific message', async ({ args, message }) => {
    const { code, stdout, stderr } = await runBundle(args)
    expect(code).toBe(2)
    expect(stderr).toContain(message)
    expect(stdout).toBe('')
  })

  it('names near matches for a container that does not exist (exit 2), and a missing snapshot (exit 1)', async () => {
    await docker('create', '--name', `${prefix}web`, BUSYBOX, 'true')
    const ghost = await runBundle(['snapshot', '--containers', `${prefix}wbe`, '--store', storeDir])
    expect(ghost.code).toBe(2)
    // Another run's container on the same engine may be suggested too: ours must be.
    expect(ghost.stderr).toMatch(
      new RegExp(`error: No container named ${prefix}wbe\\. Did you mean [^?]*'${prefix}web'`)
    )
    const missing = await runBundle([
      'verify',
      '--snapshot-id',
      `${prefix}none`,
      '--store',
      storeDir
    ])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(`error: No snapshot ${prefix}none in directory ${storeDir}.`)
  })

  it('shows live progress in a terminal: redraws in place with a rate', async () => {
    const id = `${prefix}pty`
    const commandLine = [
      'stty cols 120;',
      quote(process.execPath),
      quote(CLI),
      'snapshot',
      '--volumes',
      quote(volume),
      '--store',
      quote(storeDir),
      '--snapshot-id',
      quote(id),
      // The archive API reports each chunk it reads; a helper container only its start and end.
      '--copy-method',
      'archive'
    ].join(' ')
    const { code, stdout: screen } = await inPseudoTerminal(commandLine)
    expect(code, screen).toBe(0)

    // Live lines are redrawn in place: carriage return, clear line, new status.
    const redraws = screen
      .split('\r\x1b[2K')
      .slice(1)
      .filter(segment => segment.startsWith(`volume ${volume}: `) && !segment.includes('\n'))
    const withRate = redraws.filter(segment =>
      /[\d.]+ (KiB|MiB|GiB), [\d.]+ (KiB|MiB|GiB)\/s/.test(segment)
    )
    expect(withRate.length, screen.slice(0, 2000)).toBeGreaterThanOrEqual(2)
    // The finished transfer leaves one summary line, and the run its summary.
    expect(screen).toMatch(
      new RegExp(`volume ${volume}: 286\\.\\d MiB in [\\d.]+ s \\([\\d.]+ MiB/s\\)`)
    )
    expect(screen).toContain(`snapshot ${id} taken in`)
    expect(Object.keys(await layoutObjects(storeDir, id))).toContain('manifest.json')
  })
})

describe('the CLI against the engine', () => {
  it('writes only JSON lines on stdout with --json, the result last; ls and prune see the store', async () => {
    const id = `${prefix}json`
    const { code, stdout } = await runMain([
      'snapshot',
      '--json',
      '--volumes',
      volume,
      '--store',
      storeDir,
      '--snapshot-id',
      id
    ])
    const events = stdout
      .trimEnd()
      .split('\n')
      .map(line => JSON.parse(line) as Record<string, unknown>)
    expect(code).toBe(0)
    expect(events.some(e => e.event === 'group')).toBe(true)
    expect(events.filter(e => e.event === 'transfer' && e.done === true)).toEqual([
      expect.objectContaining({ kind: 'volume', name: volume, bytes: expect.any(Number) })
    ])
    expect(events.at(-1)).toMatchObject({
      event: 'result',
      command: 'snapshot',
      ok: true,
      exitCode: 0,
      result: { mode: 'snapshot', snapshot: { manifest: { snapshotId: id } } }
    })

    // ls looks on the engine for what killed runs left first (debug events), then answers.
    const listed = await runMain(['ls', '--store', storeDir, '--json'])
    const result = JSON.parse(listed.stdout.trimEnd().split('\n').at(-1)!) as {
      result: { snapshots: { snapshotId: string; status: string }[] }
    }
    expect(result.result.snapshots.map(s => s.snapshotId)).toContain(id)
    expect(result.result.snapshots.find(s => s.snapshotId === id)?.status).toBe('complete')

    const table = await runMain(['ls', '--store', storeDir])
    expect(table.stdout).toMatch(
      new RegExp(`^${id} +complete +\\d{4}-\\d\\d-\\d\\d [\\d:]+Z +[\\d.]+ MiB$`, 'm')
    )

    const pruned = await runMain(['prune', '--store', storeDir, '--keep', '1'])
    expect(pruned.code).toBe(0)
    const remaining = Object.keys(await layoutSnapshots(storeDir))
    expect(remaining).toContain(id)
    expect(remaining).not.toContain(`${prefix}pty`)
  })

  it('on SIGINT finishes the step, brings the paused container back, and exits 130', async () => {
    await docker('run', '-d', '--name', holder, '-v', `${volume}:/d`, BUSYBOX, 'sleep', '3600')
    const id = `${prefix}interrupted`
    // Interrupt while the volume is being copied, with the container paused.
    const run = await runBundleInterruptedAt(
      [
        'snapshot',
        '--containers',
        holder,
        '--no-commit',
        '--consistency',
        'pause',
        '--store',
        storeDir,
        '--snapshot-id',
        id
      ],
      `volume ${volume}: started`
    )
    expect(run.interrupted).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    expect(run.stderr).toContain('received SIGINT: stopping at the next safe point')
    expect(run.stderr).toContain('==> Resuming containers')
    expect(run.stderr).toContain(
      'error: interrupted by SIGINT; no container is left paused or stopped'
    )
    expect(await docker('inspect', '--format', '{{.State.Status}}', holder)).toBe('running')
    // A snapshot cut short is removed from the store again.
    expect(existsSync(join(storeDir, id))).toBe(false)
    expect(Object.keys(await layoutSnapshots(storeDir))).not.toContain(id)
  })

  it('on SIGTERM while restore --on-conflict replace writes a volume, puts the originals back', async () => {
    const original = `${prefix}replaced`
    const data = `${prefix}replaced-data`
    await docker('volume', 'create', data)
    await inBusybox(
      ['-v', `${data}:/d`],
      'head -c 200000000 /dev/urandom > /d/big && echo from the snapshot > /d/marker'
    )
    await sleeper(original, '-v', `${data}:/d`)
    const id = `${prefix}replace`
    const taken = await runMain([
      'snapshot',
      '--containers',
      original,
      '--no-commit',
      '--store',
      storeDir,
      '--snapshot-id',
      id
    ])
    expect(taken.code, taken.stderr).toBe(0)
    const expectAsBefore = await moveOnAfterSnapshot(original)

    let sent = false
    const run = await runBundle(
      ['restore', '--snapshot-id', id, '--store', storeDir, '--on-conflict', 'replace'],
      {
        onStderr: (text, child) => {
          // Interrupt while the snapshot's contents are being written into the volume (the write
          // of 200 MB takes seconds; the pause lets the upload begin).
          if (!sent && text.includes(`volume ${data}: writing`)) {
            sent = true
            setTimeout(() => child.kill('SIGTERM'), 500)
          }
        }
      }
    )
    expect(sent).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    expect(run.stderr).toContain('received SIGTERM: stopping at the next safe point')
    expect(run.stderr).toContain(
      `The originals were put back as they were: volume ${data} (contents copied back), ` +
        `container ${original} (running).`
    )
    await expectAsBefore()
    expect(await docker('ps', '-aq', '--filter', `name=^/${prefix}.*-aside-`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=^${prefix}.*-aside-`)).toBe('')
  })
})

/** The bytes of `path`, or undefined when it is gone. */
async function bytesOf(path: string): Promise<Buffer | undefined> {
  return existsSync(path) ? readFile(path) : undefined
}

/** What `ls --json` says of each snapshot: status (and problem) by id. */
async function listed(store: string): Promise<Record<string, string>> {
  const { code, stdout } = await runBundle(['ls', '--store', store, '--json'])
  expect(code).toBe(0)
  const { result } = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    result: { snapshots: { snapshotId: string; status: string }[] }
  }
  return Object.fromEntries(result.snapshots.map(s => [s.snapshotId, s.status]))
}

describe('a store never loses a snapshot to a later run', () => {
  const app = `${prefix}app`
  const data = `${prefix}data`
  let store = ''

  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'dst-cli-keep-'))
    await docker('volume', 'create', data)
    await inBusybox(['-v', `${data}:/d`], 'echo first > /d/state')
    await docker('run', '-d', '--name', app, '-v', `${data}:/d`, BUSYBOX, 'sleep', '3600')
  })

  afterAll(async () => {
    if (store) await rm(store, { recursive: true, force: true })
  })

  const snapshot = (...args: string[]) =>
    runBundle(['snapshot', '--no-commit', '--store', store, '--snapshot-id', 'keep', ...args])

  it('refuses a reused id up front, whatever else is wrong, and keeps the snapshot', async () => {
    const first = await snapshot('--containers', app)
    expect(first.code, first.stderr).toBe(0)
    const manifest = () => layoutObjectFile(store, 'keep', 'manifest.json')
    const before = await bytesOf(await manifest())
    expect(before).toBeDefined()

    const refusal =
      `Snapshot id 'keep' is taken in directory ${store}: nothing was touched. Choose another ` +
      'snapshot id, or replace that snapshot with replace-snapshot: true (--replace-snapshot)'
    for (const args of [
      // Found only on the way (no registry listens there), after the id is refused.
      ['--containers', app, '--registry', '127.0.0.1:1'],
      ['--containers', `${app}-misspelled`],
      ['--containers', app]
    ]) {
      const run = await snapshot(...args)
      expect(run.code, run.stderr).toBe(2)
      expect(run.stderr).toContain(refusal)
      expect(await listed(store)).toEqual({ keep: 'complete' })
      expect(await bytesOf(await manifest())).toEqual(before)
      expect(await docker('inspect', '--format', '{{.State.Status}}', app)).toBe('running')
    }
  })

  it('with --replace-snapshot, a failed run leaves the old snapshot and a whole one replaces it', async () => {
    const manifest = () => layoutObjectFile(store, 'keep', 'manifest.json')
    const files = () => layoutObjects(store, 'keep')
    const before = await bytesOf(await manifest())
    const beforeFiles = await files()

    const misspelled = await snapshot('--replace-snapshot', '--containers', `${app}-misspelled`)
    expect(misspelled.code, misspelled.stderr).toBe(2)
    expect(await bytesOf(await manifest())).toEqual(before)

    // Cut short while the big volume is being written: the new snapshot was half there.
    const interrupted = await runBundleInterruptedAt(
      [
        'snapshot',
        '--no-commit',
        '--store',
        store,
        '--snapshot-id',
        'keep',
        '--replace-snapshot',
        '--containers',
        app,
        '--volumes',
        volume
      ],
      `volume ${volume}: started`
    )
    expect(interrupted.interrupted).toBe(true)
    expect(interrupted.code, interrupted.stderr).toBe(130)
    expect(await bytesOf(await manifest())).toEqual(before)
    expect(await files()).toEqual(beforeFiles)
    expect(await listed(store)).toEqual({ keep: 'complete' })
    expect(await readdir(join(store, '.staging'))).toEqual([])

    await inBusybox(['-v', `${data}:/d`], 'echo second > /d/state')
    const replaced = await snapshot('--replace-snapshot', '--containers', app)
    expect(replaced.code, replaced.stderr).toBe(0)
    const after = await bytesOf(await manifest())
    expect(after).not.toEqual(before)
    const volumeDigest = (text: Buffer | undefined) =>
      (
        JSON.parse(String(text)) as { volumes: { name: string; archive: { sha256: string } }[] }
      ).volumes.find(v => v.name === data)?.archive.sha256
    // The new content, not the old, is what `keep` holds now.
    expect(volumeDigest(after)).toBeDefined()
    expect(volumeDigest(after)).not.toBe(volumeDigest(before))
    expect(await listed(store)).toEqual({ keep: 'complete' })
    expect(await readdir(join(store, '.staging'))).toEqual([])
    // The replaced snapshot's blobs went with it: every blob left is one `keep` uses.
    expect(await layoutBlobs(store)).toEqual(await reachedBlobs(store))
  })
})

describe('prune and a damaged manifest', () => {
  let store = ''
  const snapshotVolume = (id: string) =>
    runBundle(['snapshot', '--volumes', volume, '--store', store, '--snapshot-id', id])

  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), 'dst-cli-prune-'))
  })

  afterAll(async () => {
    if (store) await rm(store, { recursive: true, force: true })
  })

  it('a truncated newest manifest is damaged, not latest, and prune --keep 1 keeps the valid one', async () => {
    for (const id of ['valid', 'truncated']) {
      const run = await snapshotVolume(id)
      expect(run.code, run.stderr).toBe(0)
    }
    execFileSync('truncate', [
      '-s',
      '100',
      await layoutObjectFile(store, 'truncated', 'manifest.json')
    ])

    expect(await listed(store)).toEqual({ truncated: 'damaged', valid: 'complete' })
    const table = await runBundle(['ls', '--store', store])
    expect(table.stdout).toMatch(/^truncated +damaged /m)
    expect(table.stdout).toContain('truncated: the manifest of snapshot truncated in')

    // A command line, one flag a line as prettier lays it out: alike to others, not a copy.
    const verified = await runBundle([
      'verify',
      '--store',
      store,
      '--snapshot-id',
      'latest',
      '--json'
    ])
    expect(verified.code, verified.stderr).toBe(0)
    expect(verified.stdout).toContain('"snapshotId":"valid"')

    const pruned = await runBundle(['prune', '--store', store, '--keep', '1'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).toContain(
      'left truncated: damaged, left for you to inspect and remove by hand'
    )
    expect(pruned.stderr).toContain('truncated is damaged')
    expect(await listed(store)).toEqual({ truncated: 'damaged', valid: 'complete' })
  })

  it('prune leaves a snapshot that a verify is reading, and says so', async () => {
    const run = await snapshotVolume('newest')
    expect(run.code, run.stderr).toBe(0)
    // `valid` is now beyond --keep 1; it is being verified while prune runs.
    let prune: Promise<Finished> | undefined
    const verified = await runBundle(['verify', '--store', store, '--snapshot-id', 'valid'], {
      onStderr: text => {
        if (!prune && text.includes('==> Verify: archives')) {
          prune = runBundle(['prune', '--store', store, '--keep', '1'])
        }
      }
    })
    expect(prune).toBeDefined()
    const pruned = await prune!
    expect(verified.code, verified.stderr).toBe(0)
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stdout).toContain(
      'left valid: a restore or verify is reading it now; run prune again later'
    )
    expect(Object.keys(await listed(store)).sort()).toEqual(['newest', 'truncated', 'valid'])

    // Once nobody reads it, it goes.
    const again = await runBundle(['prune', '--store', store, '--keep', '1'])
    expect(again.code, again.stderr).toBe(0)
    expect(await listed(store)).toEqual({ newest: 'complete', truncated: 'damaged' })
  })

  it('a killed snapshot is never listed, and prune removes what it left half written', async () => {
    let killedPid = 0
    const killed = await runBundle(
      ['snapshot', '--volumes', volume, '--store', store, '--snapshot-id', 'killed'],
      {
        onStderr: (text, child) => {
          if (!killedPid && text.includes(`volume ${volume}: started`)) {
            killedPid = child.pid!
            child.kill('SIGKILL')
          }
        }
      }
    )
    expect(killedPid).not.toBe(0)
    expect(killed.code).toBeNull()
    // The carrier the killed run was copying through is its own; repairing it is another matter.
    const carrier = `label=docker-snapshot.carrier=${hostname()}:${killedPid}`
    const carriers = (await docker('ps', '-aq', '--filter', carrier)).split('\n').filter(Boolean)
    if (carriers.length > 0) await docker('rm', '-f', ...carriers)

    expect(await readdir(join(store, '.staging'))).toHaveLength(1)
    expect(await listed(store)).toEqual({ newest: 'complete', truncated: 'damaged' })
    expect(Object.keys(await layoutSnapshots(store)).sort()).toEqual(['newest', 'truncated'])
    const pruned = await runBundle(['prune', '--store', store, '--keep', '5'])
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(pruned.stderr).toContain(
      'removed an unfinished snapshot killed left by a run that is gone'
    )
    expect(await readdir(join(store, '.staging'))).toEqual([])
    expect(await listed(store)).toEqual({ newest: 'complete', truncated: 'damaged' })
    // Nothing the killed run wrote is left: every blob is one a listed snapshot uses.
    expect(await layoutBlobs(store)).toEqual(await reachedBlobs(store))
  })
})
