/**
 * A throwaway copy (verify's restore check, the drill beside the original) never touches the
 * original's live data, the drill asks the copy and not the original, and `drill --destroy`
 * removes all of a project or nothing of it.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  BUSYBOX,
  detached,
  docker,
  removeByPrefix,
  runBundle,
  sleeper,
  uniquePrefix
} from './support.js'

const prefix = uniquePrefix('throwaway')
let work: string

/** The bundled CLI; resolves with its exit code and output. */
const cli = (...args: string[]) => runBundle(args)

/**
 * A running container that, whenever it starts, appends a line naming its hostname to a log in a
 * bind-mounted host directory (and, with `file`, to a bind-mounted host file), as a logger or a
 * database does with its files. Resolves with the host paths.
 */
async function appendingContainer(
  name: string,
  options: { file?: boolean; labels?: string[] } = {}
): Promise<{ logs: string; file?: string }> {
  const logs = join(work, `${name}-logs`)
  await mkdir(logs)
  const args = ['-v', `${logs}:/logs`]
  let file: string | undefined
  let script = 'echo "started in $(hostname)" >> /logs/app.log'
  if (options.file) {
    file = join(work, `${name}-single.log`)
    await writeFile(file, '')
    args.push('-v', `${file}:/single.log`)
    script += '; echo "started in $(hostname)" >> /single.log'
  }
  const labels = (options.labels ?? []).flatMap(label => ['-l', label])
  await detached(name, ...args, ...labels, BUSYBOX, 'sh', '-c', `${script}; exec sleep 3600`)
  const hostname = await docker('inspect', '--format', '{{.Config.Hostname}}', name)
  const expected = `started in ${hostname}\n`
  // The original wrote its line before anything else happens.
  for (let i = 0; i < 50; i++) {
    if ((await readFile(join(logs, 'app.log'), 'utf8').catch(() => '')) === expected) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  expect(await readFile(join(logs, 'app.log'), 'utf8')).toBe(expected)
  return file === undefined ? { logs } : { logs, file }
}

async function originalLine(name: string): Promise<string> {
  return `started in ${await docker('inspect', '--format', '{{.Config.Hostname}}', name)}\n`
}

/** What is left of throwaway copies of objects named with `name`. */
async function copiesLeft(name: string): Promise<string> {
  const containers = await docker('ps', '-aq', '--filter', `name=dsv-.*${name}`)
  const volumes = await docker('volume', 'ls', '-q', '--filter', `name=dsv-.*${name}`)
  return `${containers}${volumes}`
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dst-throwaway-'))
})

afterAll(async () => {
  await removeByPrefix(prefix)
  // Copies of this file's objects, if a run under test failed to remove them.
  const copies = (await docker('ps', '-aq', '--filter', `name=dsv-.*${prefix}`)).split('\n')
  if (copies[0]) await docker('rm', '-f', '-v', ...copies)
  const volumes = (await docker('volume', 'ls', '-q', '--filter', `name=dsv-.*${prefix}`)).split(
    '\n'
  )
  if (volumes[0]) await docker('volume', 'rm', '-f', ...volumes)
  await rm(work, { recursive: true, force: true })
})

describe('verify --restore-check', () => {
  it('gives the copy empty stand-ins for uncaptured bind mounts, never the live host files', async () => {
    const name = `${prefix}logger`
    const { logs, file } = await appendingContainer(name, { file: true })
    const store = join(work, 'store-record')
    const taken = await cli('snapshot', '--containers', name, '--store', store)
    expect(taken.code, taken.stderr).toBe(0)

    const verified = await cli('verify', '--store', store, '--restore-check')
    expect(verified.code, verified.stderr).toBe(0)
    const line = await originalLine(name)
    expect(await readFile(join(logs, 'app.log'), 'utf8')).toBe(line)
    expect(await readFile(file!, 'utf8')).toBe(line)
    // The summary says, per mount, what the copy got instead.
    expect(verified.stdout).toMatch(
      new RegExp(`/logs: empty volume dsv-[0-9a-f]{6}-${name}-bind-\\d, not the host path ${logs}`)
    )
    // A volume cannot stand in for a file: the copy writes to its own layer's file instead.
    expect(verified.stdout).toMatch(
      new RegExp(`/single.log: the image's own file there, .*not the host file ${file}`)
    )
    expect(await copiesLeft(name)).toBe('')
  })

  it('gives the copy the captured contents of a bind mount, and the host file keeps its lines', async () => {
    const name = `${prefix}captured`
    const { logs } = await appendingContainer(name)
    const store = join(work, 'store-capture')
    const taken = await cli(
      'snapshot',
      '--containers',
      name,
      '--store',
      store,
      '--bind-mounts',
      'capture'
    )
    expect(taken.code, taken.stderr).toBe(0)

    const verified = await cli(
      'verify',
      '--store',
      store,
      '--drill-container',
      name,
      '--drill-command',
      'sleep 1; cat /logs/app.log'
    )
    expect(verified.code, verified.stderr).toBe(0)
    const line = await originalLine(name)
    // The copy read the captured line, then appended its own: to its volume, not the host.
    const output = verified.stdout.split('drill command exited 0:\n')[1]!
    const lines = output.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(`${lines[0]}\n`).toBe(line)
    expect(`${lines[1]}\n`).not.toBe(line)
    expect(await readFile(join(logs, 'app.log'), 'utf8')).toBe(line)
    expect(verified.stdout).toMatch(/the snapshot's captured contents of .* in volume dsv-/)
    expect(await copiesLeft(name)).toBe('')
  })
})

describe('drill beside the original', () => {
  it('asks the copy, not the original, when given a container name, and spares the host files', async () => {
    const project = `${prefix}shop`
    const name = `${project}_app_1`
    const { logs } = await appendingContainer(name, {
      labels: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=app']
    })
    const original = (await docker('inspect', '--format', '{{.Config.Hostname}}', name)).trim()
    const store = join(work, 'store-drill')
    // A command line, one flag a line as prettier lays it out: alike to others, not a copy.
    const result = await cli(
      'drill',
      '--compose-project',
      project,
      '--store',
      store,
      '--drill-container',
      name,
      '--drill-command',
      'hostname'
    )
    // A restored copy has a hostname of its own: the same answer twice would mean the original
    // was asked twice.
    expect(result.code, result.stderr).toBe(3)
    const before = /before: (\S+) \(asked (\S+)\)/.exec(result.stdout)
    const after = /after: {2}(\S+) \(asked (\S+)\)/.exec(result.stdout)
    expect(before?.slice(1)).toEqual([original, name])
    expect(after?.[2]).toMatch(new RegExp(`^dsv-[0-9a-f]{6}-${name}$`))
    expect(after?.[1]).not.toBe(original)
    expect(await readFile(join(logs, 'app.log'), 'utf8')).toBe(await originalLine(name))
    expect(await docker('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
    expect(await copiesLeft(name)).toBe('')
  })

  it('fails and still removes the copy when asking the copy fails', async () => {
    const project = `${prefix}cafe`
    const name = `${project}_app_1`
    await appendingContainer(name, {
      labels: [`com.docker.compose.project=${project}`, 'com.docker.compose.service=app']
    })
    const original = await docker('inspect', '--format', '{{.Config.Hostname}}', name)
    const result = await cli(
      'drill',
      '--compose-project',
      project,
      '--store',
      join(work, 'store-drill-fail'),
      '--drill-container',
      name,
      '--drill-command',
      `test "$(hostname)" = ${original}`
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(new RegExp(`in dsv-[0-9a-f]{6}-${name} exited with 1`))
    expect(result.stdout + result.stderr).not.toMatch(/PASS/)
    expect(await copiesLeft(name)).toBe('')
    expect(await docker('inspect', '--format', '{{.State.Status}}', name)).toBe('running')
  })
})

describe('drill --destroy', () => {
  it('refuses, removing nothing, when a container outside the project shares its volume', async () => {
    const project = `${prefix}shared`
    const volume = `${prefix}shared-data`
    const member = `${project}_db_1`
    const outsider = `${prefix}outsider`
    await docker('volume', 'create', volume)
    for (const [name, labels] of [
      [
        member,
        ['-l', `com.docker.compose.project=${project}`, '-l', 'com.docker.compose.service=db']
      ],
      [outsider, []]
    ] as const) {
      await sleeper(name, '-v', `${volume}:/data`, ...labels)
    }
    const ids = await docker('inspect', '--format', '{{.Id}}', member, outsider)

    const result = await cli(
      'drill',
      '--compose-project',
      project,
      '--store',
      join(work, 'store-destroy'),
      '--destroy'
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`volume ${volume} is used by container ${outsider} (running)`)
    expect(result.stderr).toContain('Nothing was removed')
    // Everything is still there, the same containers, running.
    expect(await docker('inspect', '--format', '{{.Id}}', member, outsider)).toBe(ids)
    expect(await docker('inspect', '--format', '{{.State.Status}}', member, outsider)).toBe(
      'running\nrunning'
    )
    expect(await docker('volume', 'inspect', '--format', '{{.Name}}', volume)).toBe(volume)
  })
})
