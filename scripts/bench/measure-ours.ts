// The measurements of docker-snapshot itself: snapshots (zstd, gzip, a 1/4-size volume for
// memory scaling) and restores of the kept zstd snapshot.
import { generateX25519Identity, identityToRecipient } from 'age-encryption'
import type { CliRunner } from './cli-runs.js'
import type { RestoreSummary, SnapshotSummary } from './measurements.js'
import { restoreOnce, snapshotOnce, type SnapshotRun } from './ours.js'
import type { Cleanups } from './process.js'
import type { Engine } from './project.js'
import { repeat } from './repeat.js'
import { median, round, summarize } from './stats.js'
import type { DataVolume, TreeDescription } from './volumes.js'

export interface OursContext {
  cli: CliRunner
  engine: Engine
  cleanups: Cleanups
  runs: number
}

function snapshotSummary(runs: SnapshotRun[]): SnapshotSummary {
  const first = runs[0]!
  const { tarBytes, storedBytes, codec } = first
  return { ...summarize(runs), tarBytes, storedBytes, codec }
}

/** Zstd snapshots of `source`; the first is kept (for the restores and stages), and returned. */
export async function measureSnapshots(
  context: OursContext,
  source: DataVolume,
  small: DataVolume | null
) {
  const { cli, runs } = context
  const warm = [source.mountpoint]
  const zstd = await repeat(
    runs,
    `ours: snapshot zstd (${source.marker.sizeMib} MiB)`,
    i => snapshotOnce(cli, source.name, 'zstd', `zstd-${i}`),
    warm
  )
  for (const r of zstd.slice(1)) await r.removeStore()
  const copySecondsMedian = round(median(zstd.map(r => r.copySeconds)), 3)
  const gzip = await repeat(
    1,
    'ours: snapshot gzip',
    () => snapshotOnce(cli, source.name, 'gzip', 'gzip'),
    warm
  )
  await gzip[0]!.removeStore()
  // The cost of encryption at rest: the same snapshot, encrypted to an age public key.
  const recipient = await identityToRecipient(await generateX25519Identity())
  const encrypted = await repeat(
    runs,
    'ours: snapshot zstd, encrypted',
    i =>
      snapshotOnce(cli, source.name, 'zstd', `encrypted-${i}`, [
        '--encryption-recipients',
        recipient
      ]),
    warm
  )
  for (const r of encrypted) await r.removeStore()
  const summaries = {
    snapshotZstd: { ...snapshotSummary(zstd), copySecondsMedian },
    snapshotGzip: snapshotSummary(gzip),
    snapshotZstdEncrypted: snapshotSummary(encrypted),
    snapshotZstdSmall: small ? await measureSmall(context, small) : undefined
  }
  return { kept: zstd[0]!, summaries }
}

/** Zstd snapshots of the 1/4-size volume: how peak memory grows with the volume. */
async function measureSmall(context: OursContext, small: DataVolume): Promise<SnapshotSummary> {
  const sizeMib = small.marker.sizeMib
  const runs = await repeat(
    context.runs,
    `ours: snapshot zstd (${sizeMib} MiB)`,
    i => snapshotOnce(context.cli, small.name, 'zstd', `small-${i}`),
    [small.mountpoint]
  )
  for (const r of runs) await r.removeStore()
  return { ...snapshotSummary(runs), sizeMib }
}

export async function measureRestores(
  context: OursContext,
  kept: SnapshotRun,
  source: { name: string; tree: TreeDescription }
): Promise<RestoreSummary> {
  const from = {
    volume: source.name,
    tree: source.tree,
    store: kept.store,
    snapshotId: kept.snapshotId
  }
  const runs = await repeat(context.runs, 'ours: restore', i => restoreOnce(context, from, i), [
    kept.store
  ])
  const stepNames = Object.keys(runs[0]!.steps)
  return {
    ...summarize(runs),
    tarBytes: kept.tarBytes,
    correct: runs.every(r => r.correct),
    steps: Object.fromEntries(stepNames.map(k => [k, round(median(runs.map(r => r.steps[k])), 2)])),
    restoredTree: runs.map(r => r.restored)
  }
}
