/**
 * The drill's questions: asked of a compose project before the snapshot and of what was
 * restored after it, by the running container that answers for each service. With `demo`, the
 * bundled demo stack is brought up and seeded first, and asked its own questions.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Engine } from '../docker/engine.js'
import { InvalidSettingsError, SnapshotError, describeError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { COMPOSE_LABEL } from '../snapshot/targets.js'

const run = promisify(execFile)

export const DEMO_PROJECT = 'docker-snapshot-demo'

/** A question asked of the stack before and after: its answer must not change. */
export interface DrillCheck {
  /**
   * Compose service to ask, or the name of a container of the project (after a restore beside,
   * the copy of that container is asked).
   */
  service: string
  command: string[]
  description: string
}

/** The demo's questions: its orders table and its web page. */
export const DEMO_CHECKS: DrillCheck[] = [
  {
    service: 'db',
    command: [
      'psql',
      '-X',
      '-At',
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      "SELECT count(*) || ' rows, md5 ' || md5(string_agg(id || ':' || item || ':' || qty, ',' ORDER BY id)) FROM orders"
    ],
    description: 'orders table (row count and checksum)'
  },
  {
    service: 'web',
    command: ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'],
    description: 'web page served by the web container'
  }
]

/** Where the bundled demo lives: beside src/ or dist/, whichever this code runs from. */
export function demoDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let level = 0; level < 3; level++) {
    if (existsSync(join(dir, 'demo', 'docker-compose.yml'))) return join(dir, 'demo')
    dir = dirname(dir)
  }
  throw new InvalidSettingsError(
    'The demo stack (demo/docker-compose.yml) is not beside this docker-snapshot; run the ' +
      'drill from a clone of the repository.'
  )
}

export async function bringUpDemo(log: Logger): Promise<void> {
  const dir = demoDirectory()
  const compose = ['-p', DEMO_PROJECT, '-f', join(dir, 'docker-compose.yml')]
  log.info(`starting the demo stack (compose project ${DEMO_PROJECT})`)
  try {
    await run('docker-compose', [...compose, 'down', '-v', '--remove-orphans'])
    await run('docker-compose', [...compose, 'up', '-d'])
    const seeded = await run('bash', [join(dir, 'seed.sh'), DEMO_PROJECT])
    log.info(seeded.stdout.trim())
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim()
    throw new SnapshotError(
      `could not start the demo stack: ${stderr || describeError(error)}. It needs docker-compose ` +
        'and the local images from `bash scripts/testbed.sh up`.'
    )
  }
}

export interface Answerer {
  id: string
  name: string
}

export interface Answer {
  text: string
  container: Answerer
}

/**
 * The running container that answers for a service of `project`, or else the project's container
 * named `service` with the restore's prefix before it: a copy is asked as itself, never the original.
 */
async function containerFor(
  engine: Engine,
  project: string,
  prefix: string,
  service: string
): Promise<Answerer> {
  const found = await engine.listContainers({
    label: [`${COMPOSE_LABEL.project}=${project}`, `${COMPOSE_LABEL.service}=${service}`],
    status: ['running']
  })
  if (found[0])
    return { id: found[0].Id, name: found[0].Names[0]?.replace(/^\//, '') ?? found[0].Id }
  const name = `${prefix}${service}`
  const byName = await engine.findContainer(name)
  if (byName?.Config.Labels?.[COMPOSE_LABEL.project] === project && byName.State.Running) {
    return { id: byName.Id, name }
  }
  throw new SnapshotError(
    `no running container of project ${project} for service ${service} (nor named ${name})`
  )
}

export async function ask(
  engine: Engine,
  project: string,
  prefix: string,
  check: DrillCheck
): Promise<Answer> {
  const container = await containerFor(engine, project, prefix, check.service)
  const result = await engine.exec(container.id, check.command, 60_000)
  if (result.exitCode !== 0) {
    throw new SnapshotError(
      `drill check "${check.description}" in ${container.name} exited with ` +
        `${result.exitCode}: ${result.output.trim()}`
    )
  }
  return { text: result.output.trim(), container }
}
