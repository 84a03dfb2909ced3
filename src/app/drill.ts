/**
 * A disaster-recovery drill: snapshot a compose project, prove the snapshot sound, destroy the
 * project (or leave it and restore beside it), restore, and check that the same questions get
 * the same answers afterwards. With `demo`, it first brings up and seeds the bundled demo stack.
 */
import type { Engine } from '../docker/engine.js'
import { plural } from '../shared/format.js'
import { ConflictError, InvalidSettingsError, SnapshotError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import type { Manifest } from '../manifest/manifest.js'
import type { RestoreReport } from '../restore/index.js'
import type { VerifyReport } from '../verify/index.js'
import { describeBindMount } from '../restore/index.js'
import { removeRestored, throwawayPrefix } from '../verify/index.js'
import type { SnapshotReport } from '../snapshot/snapshot.js'
import type { Answer, DrillCheck } from './drill-checks.js'
import { DEMO_CHECKS, DEMO_PROJECT, ask, bringUpDemo } from './drill-checks.js'

export type { DrillCheck }

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
  /**
   * Stops the drill before its next step, never before removing a copy it restored; a step
   * under way stops as the command it shares (snapshot, verify, restore) does.
   */
  signal?: AbortSignal
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
  checks: DrillComparison[]
  verdict: string
}

export interface DrillComparison {
  description: string
  before: string
  after: string
  same: boolean
  /** The containers that answered, by name: the original's, then the restored one's. */
  askedBefore: string
  askedAfter: string
}

/**
 * Refuses, before anything is removed, when a container outside the snapshot uses one of its
 * volumes or networks (the engine would refuse to remove those halfway through), or when a
 * container's name now names another container than the one the snapshot took.
 */
async function checkRemovable(engine: Engine, manifest: Manifest): Promise<void> {
  const ours = new Set(manifest.containers.map(c => c.id))
  const blockers: string[] = []
  for (const container of manifest.containers) {
    const now = await engine.findContainer(container.name)
    if (now?.Id !== container.id) {
      blockers.push(
        `container ${container.name} is ${now ? 'another container' : 'gone'} since the snapshot`
      )
    }
  }
  const users = async (kind: 'volume' | 'network', name: string) => {
    for (const container of await engine.listContainers({ [kind]: [name] })) {
      if (ours.has(container.Id)) continue
      const user = container.Names[0]?.replace(/^\//, '') ?? container.Id
      blockers.push(
        `${kind} ${name} is used by container ${user} (${container.State}), outside the project`
      )
    }
  }
  for (const volume of manifest.volumes) await users('volume', volume.name)
  for (const network of manifest.networks) await users('network', network.name)
  if (blockers.length > 0) {
    throw new ConflictError(
      `Not destroying project ${manifest.selection.composeProject ?? manifest.snapshotId}: ` +
        `${blockers.join('; ')}. Nothing was removed; snapshot ` +
        `${manifest.snapshotId} is in the store. Stop and remove those containers (or drill again, ` +
        'for one re-created meanwhile), or drill without --destroy to restore beside the original.'
    )
  }
}

/** Removes what the snapshot took: its containers, then volumes and networks; all or nothing. */
async function destroy(engine: Engine, manifest: Manifest, log: Logger): Promise<void> {
  await checkRemovable(engine, manifest)
  for (const container of manifest.containers) {
    log.info(`removing container ${container.name}`)
    await engine.removeContainer(container.id, { force: true })
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
  const timed = async <T>(name: string, fn: () => Promise<T>, detail: (value: T) => string) => {
    const started = Date.now()
    const value = await log.group(`Drill: ${name}`, fn)
    steps.push({ name, seconds: (Date.now() - started) / 1000, detail: detail(value) })
    return value
  }
  // Before each step is a safe point for an interrupt; the removal of a copy is never skipped.
  const step = <T>(name: string, fn: () => Promise<T>, detail: (value: T) => string) => {
    options.signal?.throwIfAborted()
    return timed(name, fn, detail)
  }

  if (options.demo)
    await step(
      'start the demo stack',
      () => bringUpDemo(log),
      () => 'seeded'
    )
  const before = await step(
    'ask the questions',
    () => Promise.all(checks.map(check => ask(engine, project, '', check))),
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
        ` in ${(report.durationMs / 1000).toFixed(1)} s` +
        report.bindMounts.map(mount => `; bind mount ${describeBindMount(mount)}`).join('')
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
  let after: Answer[]
  try {
    after = await step(
      'ask again',
      () => Promise.all(checks.map(check => ask(engine, targetProject, prefix, check))),
      answers => plural(answers.length, 'answer')
    )
  } finally {
    if (!inPlace) {
      await timed(
        'remove the copy',
        () => removeRestored(engine, restored),
        left => (left.length ? `left behind: ${left.join(', ')}` : 'removed')
      )
    }
  }
  const compared = checks.map((check, index): DrillComparison => {
    const [first, second] = [before[index], after[index]]
    // The same container answering twice would prove nothing about the restore.
    if (first.container.id === second.container.id) {
      throw new SnapshotError(
        `drill check "${check.description}" was answered by ${first.container.name} both ` +
          'before and after the restore, so the restored copy was never asked'
      )
    }
    return {
      description: check.description,
      before: first.text,
      after: second.text,
      same: first.text === second.text,
      askedBefore: first.container.name,
      askedAfter: second.container.name
    }
  })
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
