import type { RestoreReport } from '../restore/index.js'
import type { VerifyReport } from '../verify/index.js'
import type { PruneResult, RunResult } from '../app/runner.js'
import type { SnapshotReport } from '../snapshot/snapshot.js'
import { describeSecretEnv } from '../snapshot/secret-env.js'
import { copiedBy } from '../snapshot/volume-copy.js'
import { formatBytes, plural } from '../shared/format.js'

/** Markdown-safe text for names a user chose. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|]/g, match => `\\${match}`)
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(row => `| ${row.join(' | ')} |`),
    ''
  ].join('\n')
}

const secondsOf = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The step outputs of a run, by action.yml output name. */
export function outputsOf(result: RunResult): Record<string, string> {
  switch (result.mode) {
    case 'snapshot': {
      const report = result.snapshot
      return {
        'snapshot-id': report.manifest.snapshotId,
        manifest: report.manifestLocation,
        images: JSON.stringify(report.images),
        volumes: JSON.stringify(
          report.volumes.map(v => ({
            name: v.name,
            tarBytes: v.tarBytes,
            storedBytes: v.storedBytes,
            copyMethod: v.method
          }))
        )
      }
    }
    case 'restore':
      return {
        'snapshot-id': result.restore.snapshotId,
        images: JSON.stringify(result.restore.images),
        volumes: JSON.stringify(result.restore.volumes),
        containers: JSON.stringify(result.restore.containers)
      }
    case 'verify':
      return { 'snapshot-id': result.verify.snapshotId, verified: String(result.verify.ok) }
    case 'prune':
      return { pruned: JSON.stringify(result.prune.removed) }
  }
}

function snapshotSummary(report: SnapshotReport): string {
  const m = report.manifest
  const lines = [
    `## Snapshot ${escapeMarkdown(m.snapshotId)}`,
    '',
    `${plural(m.containers.length, 'container')}, ${plural(m.volumes.length, 'volume')}, ` +
      `${plural(m.networks.length, 'network')} ` +
      `in ${report.seconds.toFixed(1)} s; containers held (${m.consistency}) for ` +
      `${report.quiescedSeconds.toFixed(1)} s. Compression: ${escapeMarkdown(report.codec)}.`,
    ''
  ]
  if (report.volumes.length) {
    lines.push(
      table(
        ['volume', 'data', 'stored', 'time', 'throughput', 'copied by'],
        report.volumes.map(v => [
          escapeMarkdown(v.name),
          formatBytes(v.tarBytes),
          formatBytes(v.storedBytes),
          `${v.seconds.toFixed(1)} s`,
          `${formatBytes(v.tarBytes / Math.max(v.seconds, 0.001))}/s`,
          copiedBy(v)
        ])
      )
    )
  }
  if (report.images.length) {
    lines.push(
      table(
        ['image', 'location', 'reference'],
        report.images.map(i => [escapeMarkdown(i.key), i.location, `\`${i.reference}\``])
      )
    )
  }
  for (const line of describeSecretEnv(report.secretEnv, escapeMarkdown)) lines.push(line, '')
  lines.push(`Manifest: ${escapeMarkdown(report.manifestLocation)}`)
  return lines.join('\n')
}

function restoreSummary(report: RestoreReport): string {
  return [
    `## Restored ${escapeMarkdown(report.snapshotId)}` +
      (report.prefix ? ` with prefix ${escapeMarkdown(report.prefix)}` : ''),
    '',
    `Done in ${secondsOf(report.durationMs)}: ` +
      report.steps.map(s => `${s.step} ${secondsOf(s.durationMs)}`).join(', ') +
      '.',
    '',
    // Two tables of the same shape, side by side as the summary shows them (left so).
    table(
      ['container', 'as', 'action', 'state'],
      report.containers.map(c => [
        escapeMarkdown(c.name),
        escapeMarkdown(c.target),
        c.action,
        c.state
      ])
    ),
    table(
      ['volume', 'as', 'action', 'entries'],
      report.volumes.map(v => [
        escapeMarkdown(v.name),
        escapeMarkdown(v.target),
        v.action,
        v.empty ? 'empty (excluded from the snapshot)' : String(v.entries)
      ])
    )
  ].join('\n')
}

function verifySummary(report: VerifyReport): string {
  return [
    `## Verify ${escapeMarkdown(report.snapshotId)}: ${report.ok ? 'passed' : 'FAILED'}`,
    '',
    table(
      ['check', 'subject', 'result', 'detail'],
      report.checks.map(c => [
        c.kind,
        escapeMarkdown(c.subject),
        c.ok ? 'ok' : '**failed**',
        escapeMarkdown(c.detail)
      ])
    )
  ].join('\n')
}

function pruneSummary(result: PruneResult): string {
  return [
    `## Prune`,
    '',
    `Removed ${result.removed.length}: ${result.removed.map(escapeMarkdown).join(', ') || 'none'}. ` +
      `Kept ${result.kept.length}.`,
    ...result.skipped.map(
      s => `- Left ${escapeMarkdown(s.snapshotId)}: ${escapeMarkdown(s.reason)}`
    )
  ].join('\n')
}

/** A job summary in Markdown: what was done, sizes, times and throughput. */
export function summaryOf(result: RunResult): string {
  switch (result.mode) {
    case 'snapshot':
      return snapshotSummary(result.snapshot) + '\n'
    case 'restore':
      return restoreSummary(result.restore) + '\n'
    case 'verify':
      return verifySummary(result.verify) + '\n'
    case 'prune':
      return pruneSummary(result.prune) + '\n'
  }
}
