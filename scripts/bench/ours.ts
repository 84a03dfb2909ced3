// The measured runs of docker-snapshot itself: a snapshot of a volume, a restore of it.
import type { Engine } from './project.js'
import type { CliRun, CliRunner, RestoreResult, SnapshotResult } from './cli-runs.js'
import { BenchError, type Cleanups } from './process.js'
import { round } from './stats.js'
import { describeTree, LABEL, removeRunVolume, type TreeDescription } from './volumes.js'

export interface SnapshotRun extends CliRun {
  /** The CLI's own time for the volume's copy. */
  copySeconds: number
  tarBytes: number
  storedBytes: number
  codec: string
  snapshotId: string
  store: string
  removeStore: () => Promise<void>
}

export interface RestoreRun extends CliRun {
  /** Seconds of each restore step, as the CLI reports them. */
  steps: Record<string, number>
  target: string
  restored: TreeDescription
  /** Whether the restored volume equals its source (entries, bytes, metadata digest). */
  correct: boolean
}

export async function snapshotOnce(
  cli: CliRunner,
  volume: string,
  compression: 'zstd' | 'gzip',
  label: string,
  extraArgs: string[] = []
): Promise<SnapshotRun> {
  const store = cli.newStore(label)
  const args = ['snapshot', '--volumes', volume, '--store', store.path, '--json', ...extraArgs]
  args.push('--copy-method', cli.copyMethod)
  const r = await cli.run<SnapshotResult>([...args, '--compression', compression])
  const copied = r.result.snapshot.volumes.find(v => v.name === volume)
  if (!copied) throw new BenchError(`the snapshot's result does not list volume ${volume}`)
  return {
    ...r,
    copySeconds: copied.seconds,
    tarBytes: copied.tarBytes,
    storedBytes: copied.storedBytes,
    codec: `${r.result.snapshot.codec}, by ${copied.method}`,
    snapshotId: r.result.snapshot.manifest.snapshotId,
    store: store.path,
    removeStore: store.remove
  }
}

/** Removes a restored volume a killed earlier run left, refusing one the bench did not make. */
async function clearTarget(engine: Engine, target: string): Promise<void> {
  const leftover = await engine.findVolume(target)
  if (!leftover) return
  if (leftover.Labels?.[LABEL] !== 'true') {
    throw new BenchError(`volume ${target} exists; remove it first`)
  }
  await engine.removeVolume(target)
}

export interface RestoreSource {
  volume: string
  tree: TreeDescription
  store: string
  snapshotId: string
}

export async function restoreOnce(
  context: { cli: CliRunner; engine: Engine; cleanups: Cleanups },
  source: RestoreSource,
  n: number
): Promise<RestoreRun> {
  const { cli, engine, cleanups } = context
  const prefix = `dsbench-r${n}-`
  const target = `${prefix}${source.volume}`
  await clearTarget(engine, target)
  // The restored volume stays until the bench ends: deleting 20k files just before the next run
  // creates 20k files makes ext4 slow (inode allocation skips recently deleted inodes), and
  // that would be measured as the next restore's time.
  cleanups.add(`volume ${target}`, () => removeRunVolume(engine, target))
  const r = await cli.run<RestoreResult>([
    ...['restore', '--store', source.store, '--snapshot-id', source.snapshotId],
    ...['--only-volumes', source.volume, '--prefix', prefix, '--json'],
    ...['--copy-method', cli.copyMethod]
  ])
  const restored = r.result.restore.volumes.find(v => v.name === source.volume)
  if (!restored) throw new BenchError(`the restore's result does not list volume ${source.volume}`)
  const steps = Object.fromEntries(
    r.result.restore.steps.map(s => [s.step, round(s.durationMs / 1000, 2)])
  )
  const tree = describeTree((await engine.inspectVolume(restored.target)).Mountpoint)
  const correct =
    tree.entries === source.tree.entries &&
    tree.fileBytes === source.tree.fileBytes &&
    tree.digest === source.tree.digest
  return { ...r, steps, target: restored.target, restored: tree, correct }
}
