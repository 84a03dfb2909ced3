/**
 * Verify's last check: restore the snapshot under throwaway names (its bind mounts isolated
 * from the host's live files), run the drill command in the copy, and always remove it again.
 */
import { randomBytes } from 'node:crypto'
import type { Engine } from '../docker/engine.js'
import { type CleanupStep, tryEach } from '../shared/cleanup.js'
import type { Logger } from '../shared/log.js'
import type { Manifest } from '../manifest/manifest.js'
import type { SnapshotStore } from '../stores/store.js'
import { describeBindMount } from '../restore/bind-mounts.js'
import { restoreSnapshot } from '../restore/restore.js'
import type { RestoreReport } from '../restore/types.js'
import type { VerifyCheckKind, VerifyOptions, VerifyReport } from './types.js'

/** Throwaway copies are named `dsv-<random>-<name>`: easy to spot, never a user's name. */
export function throwawayPrefix(): string {
  return `dsv-${randomBytes(3).toString('hex')}-`
}

const DEFAULT_DRILL_TIMEOUT_MS = 5 * 60_000

/** Runs one check and records it in the report; its value, or undefined when it failed. */
export type RunCheck = <T>(
  kind: VerifyCheckKind,
  subject: string,
  fn: () => Promise<{ value: T; detail: string }>
) => Promise<T | undefined>

/** Restores under throwaway names, runs the drill, and always removes the copy. */
export async function restoreThrowaway(
  engine: Engine,
  store: SnapshotStore,
  options: VerifyOptions,
  log: Logger,
  manifest: Manifest,
  report: VerifyReport,
  check: RunCheck
): Promise<void> {
  const prefix = throwawayPrefix()
  report.prefix = prefix
  const restored = await check<RestoreReport>(
    'restore',
    `restore of snapshot ${manifest.snapshotId} as ${prefix}*`,
    async () => {
      const value = await restoreSnapshot(
        engine,
        store,
        {
          snapshotId: manifest.snapshotId,
          onConflict: 'fail',
          prefix,
          start: true,
          waitTimeoutMs: options.waitTimeoutMs,
          ports: options.ports ?? 'none',
          bindMounts: 'isolate',
          registryAuth: options.registryAuth,
          env: options.env ?? {},
          signal: options.signal
        },
        log
      )
      const states = value.containers.map(c => `${c.target} ${c.state}`).join(', ')
      const binds = value.bindMounts.map(describeBindMount).join('; ')
      return {
        value,
        detail:
          `restored in ${value.durationMs} ms: ${states || 'no containers'}` +
          (binds ? `; bind mounts: ${binds}` : '')
      }
    }
  )
  if (restored === undefined) return
  try {
    const drill = options.drill
    if (drill === undefined) return
    const target = restored.containers.find(c => c.name === drill.container)!
    const timeoutMs = options.drillTimeoutMs ?? DEFAULT_DRILL_TIMEOUT_MS
    await check(
      'drill',
      `drill in ${target.target}: ${JSON.stringify(drill.command)}`,
      async () => {
        // A container that was not running in the snapshot is started for the drill.
        if (target.state === 'created') await engine.startContainer(target.id!)
        const result = await engine.exec(target.id!, drill.command, timeoutMs)
        report.drill = { container: drill.container, command: drill.command, ...result }
        if (result.exitCode !== 0) {
          throw new Error(
            result.exitCode === -1
              ? `did not finish within ${timeoutMs} ms`
              : `exited with code ${result.exitCode}: ${lastLines(result.output)}`
          )
        }
        return { value: undefined, detail: `exited 0: ${lastLines(result.output)}` }
      }
    )
  } finally {
    await check('cleanup', `removal of the ${prefix}* copy`, async () => {
      const left = await removeRestored(engine, restored)
      if (left.length > 0)
        throw new Error(`could not remove ${left.join('; ')}; remove them by hand`)
      return { value: undefined, detail: 'containers, volumes and networks removed' }
    })
  }
}

function lastLines(output: string, lines = 5): string {
  const text = output.trim().split('\n').slice(-lines).join(' | ')
  return text === '' ? '(no output)' : text
}

/** Removes the containers, volumes and networks a restore created; returns what is left. */
export function removeRestored(engine: Engine, report: RestoreReport): Promise<string[]> {
  return tryEach(restoredParts(engine, report))
}

function* restoredParts(engine: Engine, report: RestoreReport): Generator<CleanupStep> {
  for (const container of [...report.containers].reverse()) {
    if (container.action === 'skipped' || container.id === undefined) continue
    const id = container.id
    yield {
      what: `container ${container.target}`,
      run: () => engine.removeContainer(id, { force: true, volumes: true })
    }
  }
  for (const volume of report.volumes) {
    if (volume.action === 'skipped') continue
    yield { what: `volume ${volume.target}`, run: () => engine.removeVolume(volume.target) }
  }
  for (const { volume } of report.bindMounts) {
    if (volume !== undefined)
      yield { what: `volume ${volume}`, run: () => engine.removeVolume(volume) }
  }
  for (const network of report.networks) {
    if (network.action !== 'created') continue
    yield { what: `network ${network.target}`, run: () => engine.removeNetwork(network.target) }
  }
}
