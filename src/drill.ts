/**
 * A disaster-recovery drill: snapshot a compose project, prove the snapshot sound, destroy the
 * project (or leave it and restore beside it), restore, and check that the same questions get
 * the same answers afterwards. With `demo`, it first brings up and seeds the bundled demo stack.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Engine } from './docker/engine.js'
import { plural } from './format.js'
import { InvalidSettingsError, SnapshotError, describeError } from './errors.js'
import type { Logger } from './log.js'
import type { Manifest } from './manifest.js'
import type { RestoreReport, VerifyReport } from './restore/index.js'
import { removeRestored, throwawayPrefix } from './restore/index.js'
import type { SnapshotReport } from './snapshot/snapshot.js'

const run = promisify(execFile)

export const DEMO_PROJECT = 'docker-snapshot-demo'
const COMPOSE_PROJECT = 'com.docker.compose.project'
const COMPOSE_SERVICE = 'com.docker.compose.service'

/** A question asked of the stack before and after: its answer must not change. */
export interface DrillCheck {
  /** Compose service (or container name) to ask. */
  service: string
  command: string[]
  description: string
}

export interface DrillOptions {
  demo: boolean
  /** Destroy the project before restoring it (always for the demo); otherwise restore beside it. */
  destroy: boolean
  composeProject?: string
  checks: DrillCheck[]
  /** The steps a drill shares with the other commands, bound to the run's settings. */
  snapshot: (composeProject: string) => Promise<SnapshotReport>
  verify: (snapshotId: string) => Promise<VerifyReport>
  restore: (snapshotId: string, prefix: string) => Promise<RestoreReport>
}

export interface DrillStep {
  name: string
  seconds: number
  detail: string
}

export interface DrillReport {
  ok: boolean
  composeProject: string
  snapshotId: string
  inPlace: boolean
  steps: DrillStep[]
  checks: { description: string; before: string; after: string; same: boolean }[]
  verdict: string
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

async function bringUpDemo(log: Logger): Promise<void> {
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

/** The container that answers for a service of the project (or has that name). */
async function containerFor(engine: Engine, project: string, service: string): Promise<string> {
  const found = await engine.listContainers({
    label: [`${COMPOSE_PROJECT}=${project}`, `${COMPOSE_SERVICE}=${service}`],
    status: ['running']
  })
  if (found[0]) return found[0].Id
  const byName = await engine.findContainer(service)
  if (byName) return byName.Id
  throw new SnapshotError(`no running container for service ${service} of project ${project}`)
}

async function ask(engine: Engine, project: string, check: DrillCheck): Promise<string> {
  const id = await containerFor(engine, project, check.service)
  const result = await engine.exec(id, check.command, 60_000)
  if (result.exitCode !== 0) {
    throw new SnapshotError(
      `drill check "${check.description}" exited with ${result.exitCode}: ${result.output.trim()}`
    )
  }
  return result.output.trim()
}

/** Removes what the snapshot took: its containers, then volumes and networks. */
async function destroy(engine: Engine, manifest: Manifest, log: Logger): Promise<void> {
  for (const container of manifest.containers) {
    log.info(`removing container ${container.name}`)
    await engine.removeContainer(container.name, { force: true })
  }
  for (const volume of manifest.volumes) {
    log.info(`removing volume ${volume.name}`)
    await engine.removeVolume(volume.name)
  }
  for (const network of manifest.networks) {
    log.info(`removing network ${network.name}`)
    await engine.removeNetwork(network.name)
  }
}

export async function runDrill(
  engine: Engine,
  options: DrillOptions,
  log: Logger
): Promise<DrillReport> {
  const project = options.demo ? DEMO_PROJECT : options.composeProject
  if (!project) {
    throw new InvalidSettingsError(
      'drill needs --compose-project NAME, or --demo for the demo stack.'
    )
  }
  const inPlace = options.demo || options.destroy
  const checks = options.demo ? [...DEMO_CHECKS, ...options.checks] : options.checks
  const steps: DrillStep[] = []
  const step = async <T>(name: string, fn: () => Promise<T>, detail: (value: T) => string) => {
    const started = Date.now()
    const value = await log.group(`Drill: ${name}`, fn)
    steps.push({ name, seconds: (Date.now() - started) / 1000, detail: detail(value) })
    return value
  }

  if (options.demo)
    await step(
      'start the demo stack',
      () => bringUpDemo(log),
      () => 'seeded'
    )
  const before = await step(
    'ask the questions',
    () => Promise.all(checks.map(check => ask(engine, project, check))),
    answers => plural(answers.length, 'answer')
  )
  const snapshot = await step(
    'snapshot',
    () => options.snapshot(project),
    report =>
      `${report.manifest.snapshotId}: ${plural(report.manifest.containers.length, 'container')}, ` +
      `${plural(report.manifest.volumes.length, 'volume')} in ${report.seconds.toFixed(1)} s`
  )
  const snapshotId = snapshot.manifest.snapshotId
  const verified = await step(
    'verify the snapshot',
    () => options.verify(snapshotId),
    report => `${report.checks.filter(c => c.ok).length}/${report.checks.length} checks passed`
  )
  if (!verified.ok) {
    const failed = verified.checks.filter(c => !c.ok).map(c => `${c.subject}: ${c.detail}`)
    throw new SnapshotError(
      `the snapshot failed verification, so nothing was destroyed: ${failed.join('; ')}`
    )
  }
  const prefix = inPlace ? '' : throwawayPrefix()
  if (inPlace) {
    await step(
      'destroy the project',
      () => destroy(engine, snapshot.manifest, log),
      () => 'containers, volumes and networks removed'
    )
  }
  let restored: RestoreReport
  try {
    restored = await step(
      inPlace ? 'restore' : `restore beside the original (prefix ${prefix})`,
      () => options.restore(snapshotId, prefix),
      report =>
        report.containers.map(c => `${c.target} ${c.state}`).join(', ') +
        ` in ${(report.durationMs / 1000).toFixed(1)} s`
    )
  } catch (error) {
    if (inPlace) {
      log.warn(
        `the restore failed; snapshot ${snapshotId} is intact in the store: restore it with ` +
          `\`docker-snapshot restore --snapshot-id ${snapshotId}\` once the cause is fixed`
      )
    }
    throw error
  }
  const targetProject = `${prefix}${project}`
  const after = await step(
    'ask again',
    () => Promise.all(checks.map(check => ask(engine, targetProject, check))),
    answers => plural(answers.length, 'answer')
  )
  if (!inPlace) {
    await step(
      'remove the copy',
      () => removeRestored(engine, restored),
      left => (left.length ? `left behind: ${left.join(', ')}` : 'removed')
    )
  }
  const compared = checks.map((check, index) => ({
    description: check.description,
    before: before[index],
    after: after[index],
    same: before[index] === after[index]
  }))
  const ok = compared.every(c => c.same)
  const total = steps.reduce((sum, s) => sum + s.seconds, 0)
  const verdict = ok
    ? `PASS: ${project} was snapshotted, ${inPlace ? 'destroyed and restored' : 'restored beside itself'} ` +
      `in ${total.toFixed(1)} s; every check gives the same answer`
    : `FAIL: ${compared
        .filter(c => !c.same)
        .map(c => c.description)
        .join(', ')} changed after the restore`
  return { ok, composeProject: project, snapshotId, inPlace, steps, checks: compared, verdict }
}
