import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { flagsOf } from '../../src/cli/args.js'
import { COMMAND_NAMES } from '../../src/cli/commands.js'
import { main } from '../../src/cli/main.js'
import { docker, inBusybox, removeByPrefix, uniquePrefix, BUSYBOX } from './support.js'

// The bundle users run (rebuilt by `npm run package`): proves what ncc made of the source.
const CLI = resolve('dist/cli/index.js')
const prefix = uniquePrefix('cli')
const volume = `${prefix}big`
const holder = `${prefix}holder`
let storeDir: string

interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the bundle with `node`; `onStderr` sees stderr as it arrives, with the child. */
function runBundle(
  args: string[],
  onStderr?: (text: string, child: ReturnType<typeof spawn>) => void
): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      onStderr?.(stderr, child)
    })
    child.on('error', reject)
    child.on('close', code => resolvePromise({ code, stdout, stderr }))
  })
}

/** Runs a shell command line inside a pseudo-terminal (util-linux `script`), capturing what it shows. */
function inPseudoTerminal(commandLine: string): Promise<Finished> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('script', ['-qfec', commandLine, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', code => resolvePromise({ code, stdout, stderr }))
  })
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
    { args: ['prune'], message: 'prune needs keep (a count), older-than (a duration), or both.' }
  ])('$args exits 2 with the specific message', async ({ args, message }) => {
    const { code, stdout, stderr } = await runBundle(args)
    expect(code).toBe(2)
    expect(stderr).toContain(message)
    expect(stdout).toBe('')
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
      quote(id)
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
    expect(await readdir(join(storeDir, id))).toContain('manifest.json')
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

    const listed = await runMain(['ls', '--store', storeDir, '--json'])
    const result = JSON.parse(listed.stdout) as {
      result: { snapshots: { snapshotId: string; complete: boolean }[] }
    }
    expect(result.result.snapshots.map(s => s.snapshotId)).toContain(id)
    expect(result.result.snapshots.find(s => s.snapshotId === id)?.complete).toBe(true)

    const table = await runMain(['ls', '--store', storeDir])
    expect(table.stdout).toMatch(
      new RegExp(`^${id} +complete +\\d{4}-\\d\\d-\\d\\d [\\d:]+Z +[\\d.]+ MiB$`, 'm')
    )

    const pruned = await runMain(['prune', '--store', storeDir, '--keep', '1'])
    expect(pruned.code).toBe(0)
    const remaining = await readdir(storeDir)
    expect(remaining).toContain(id)
    expect(remaining).not.toContain(`${prefix}pty`)
  })

  it('on SIGINT finishes the step, brings the paused container back, and exits 130', async () => {
    await docker('run', '-d', '--name', holder, '-v', `${volume}:/d`, BUSYBOX, 'sleep', '3600')
    const id = `${prefix}interrupted`
    let sent = false
    const run = await runBundle(
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
      (text, child) => {
        // Interrupt while the volume is being copied, with the container paused.
        if (!sent && text.includes(`volume ${volume}: started`)) {
          sent = true
          child.kill('SIGINT')
        }
      }
    )
    expect(sent).toBe(true)
    expect(run.code, run.stderr).toBe(130)
    expect(run.stderr).toContain('received SIGINT: stopping at the next safe point')
    expect(run.stderr).toContain('==> Resuming containers')
    expect(run.stderr).toContain(
      'error: interrupted by SIGINT; no container is left paused or stopped'
    )
    expect(await docker('inspect', '--format', '{{.State.Status}}', holder)).toBe('running')
    // A snapshot cut short is removed from the store again.
    expect(existsSync(join(storeDir, id))).toBe(false)
  })

  it('on SIGTERM while restore --on-conflict replace writes a volume, puts the originals back', async () => {
    const original = `${prefix}replaced`
    const data = `${prefix}replaced-data`
    await docker('volume', 'create', data)
    await inBusybox(
      ['-v', `${data}:/d`],
      'head -c 200000000 /dev/urandom > /d/big && echo from the snapshot > /d/marker'
    )
    await docker(
      'run',
      '-d',
      '--init',
      '--name',
      original,
      '-v',
      `${data}:/d`,
      BUSYBOX,
      'sleep',
      '3600'
    )
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
    // The original moves on after the snapshot: its data, not the snapshot's, must come back.
    await docker(
      'exec',
      original,
      'sh',
      '-c',
      'echo the original > /d/marker && echo more >> /d/big'
    )
    const identity = () =>
      docker('inspect', '--format', '{{.Id}} {{.Name}} {{.State.Status}}', original)
    const before = await identity()
    const sum = await docker('exec', original, 'md5sum', '/d/big')

    let sent = false
    const run = await runBundle(
      ['restore', '--snapshot-id', id, '--store', storeDir, '--on-conflict', 'replace'],
      (text, child) => {
        // Interrupt while the snapshot's contents are being written into the volume (the write
        // of 200 MB takes seconds; the pause lets the upload begin).
        if (!sent && text.includes(`volume ${data}: writing`)) {
          sent = true
          setTimeout(() => child.kill('SIGTERM'), 500)
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
    expect(await identity()).toBe(before)
    expect(await docker('exec', original, 'cat', '/d/marker')).toBe('the original')
    expect(await docker('exec', original, 'md5sum', '/d/big')).toBe(sum)
    expect(await docker('ps', '-aq', '--filter', `name=^/${prefix}.*-aside-`)).toBe('')
    expect(await docker('volume', 'ls', '-q', '--filter', `name=^${prefix}.*-aside-`)).toBe('')
  })
})
