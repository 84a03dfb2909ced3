/** What a person reads on stdout when a command is done: plain text, aligned columns. */
import { createHash } from 'node:crypto'
import type { DrillReport } from '../app/drill.js'
import type { ListedSnapshot, RestoreReport } from '../restore/index.js'
import type { VerifyReport } from '../verify/index.js'
import type { PruneResult, RunResult } from '../app/runner.js'
import type { SnapshotReport } from '../snapshot/snapshot.js'
import { describeSecretEnv } from '../snapshot/secret-env.js'
import { copiedBy } from '../snapshot/volume-copy.js'
import { formatBytes, plural } from '../shared/format.js'

/** Left-aligned columns, two spaces apart. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, index) => {
      widths[index] = Math.max(widths[index] ?? 0, cell.length)
    })
  }
  return rows.map(row =>
    row
      .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index])))
      .join('  ')
  )
}

export function snapshotSummary(report: SnapshotReport): string {
  const m = report.manifest
  const lines = [
    `snapshot ${m.snapshotId} taken in ${report.seconds.toFixed(1)} s: ` +
      `${plural(m.containers.length, 'container')}, ${plural(m.volumes.length, 'volume')}, ` +
      `${plural(m.networks.length, 'network')}, ${plural(report.images.length, 'image')}`,
    `containers held (${m.consistency}) for ${report.quiescedSeconds.toFixed(1)} s; ` +
      `compression ${report.codec}`
  ]
  const rows: string[][] = [
    ...report.volumes.map(v => [
      'volume',
      v.name,
      `${formatBytes(v.tarBytes)} -> ${formatBytes(v.storedBytes)}`,
      `${v.seconds.toFixed(1)} s`,
      `${formatBytes(v.tarBytes / Math.max(v.seconds, 0.001))}/s`,
      `by ${copiedBy(v)}`
    ]),
    ...(m.excludedVolumes ?? []).map(v => [
      'volume',
      v.name,
      'excluded',
      `not taken; a restore creates it empty for ${v.usedBy.join(', ')}`
    ]),
    ...report.images.map(i => ['image', i.key, i.location, i.reference])
  ]
  if (rows.length > 0) lines.push('', ...columns(rows).map(row => `  ${row}`), '')
  lines.push(...describeSecretEnv(report.secretEnv))
  lines.push(`manifest: ${report.manifestLocation}`)
  return lines.join('\n') + '\n'
}

/** `2026-11-22 06:30:12Z` */
function formatTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 19)}Z`
}

export function snapshotTable(list: readonly ListedSnapshot[]): string {
  if (list.length === 0) return ''
  const rows = [
    ['SNAPSHOT', 'STATUS', 'CREATED', 'SIZE'],
    ...list.map(s => [s.snapshotId, s.status, formatTime(s.createdAt), formatBytes(s.bytes)])
  ]
  const damaged = list.filter(s => s.status === 'damaged').map(s => `${s.snapshotId}: ${s.problem}`)
  return [...columns(rows), ...(damaged.length ? ['', ...damaged] : [])].join('\n') + '\n'
}

export function pruneSummary(pruned: PruneResult): string {
  const lines = pruned.removed.map(id => `removed ${id}`)
  lines.push(...pruned.skipped.map(s => `left ${s.snapshotId}: ${s.reason}`))
  lines.push(`${plural(pruned.removed.length, 'snapshot')} removed, ${pruned.kept.length} kept`)
  return lines.join('\n') + '\n'
}

function restoreSummary(report: RestoreReport): string {
  const lines = [
    `restored ${report.snapshotId}${report.prefix ? ` with prefix ${report.prefix}` : ''} in ` +
      `${(report.durationMs / 1000).toFixed(1)} s (` +
      report.steps.map(s => `${s.step} ${(s.durationMs / 1000).toFixed(1)} s`).join(', ') +
      ')'
  ]
  const rows = [
    ...report.containers.map(c => ['container', c.target, c.action, c.state]),
    ...report.volumes.map(v => [
      'volume',
      v.target,
      v.action,
      v.empty ? 'empty (excluded from the snapshot)' : `${v.entries} entries`
    ]),
    ...report.networks.map(n => ['network', n.target, n.action, '']),
    ...report.images.map(i => ['image', i.reference, i.action, '']),
    ...report.bindMounts.map(b => [
      'bind mount',
      `${b.container}:${b.destination}`,
      b.given === 'host' ? `host path${b.readOnly ? ', read-only' : ''}` : `${b.given}`,
      b.volume === undefined ? b.source : `volume ${b.volume} (not ${b.source})`
    ])
  ]
  if (rows.length > 0) lines.push('', ...columns(rows).map(row => `  ${row}`))
  return lines.join('\n') + '\n'
}

function verifySummary(report: VerifyReport): string {
  const lines = [
    `verify ${report.snapshotId}: ${report.ok ? 'passed' : 'FAILED'} in ` +
      `${(report.durationMs / 1000).toFixed(1)} s`,
    '',
    ...columns(report.checks.map(c => [c.ok ? 'ok' : 'FAILED', c.kind, c.subject, c.detail])).map(
      row => `  ${row}`
    )
  ]
  if (report.drill) {
    lines.push('', `drill command exited ${report.drill.exitCode}:`, report.drill.output.trim())
  }
  return lines.join('\n') + '\n'
}

/** One line for an answer: itself, or its first line, its length and a digest. */
function brief(answer: string): string {
  const lines = answer.split('\n')
  if (lines.length === 1 && answer.length <= 100) return answer
  const digest = createHash('sha256').update(answer).digest('hex').slice(0, 12)
  return `${lines[0].slice(0, 60)}… (${lines.length} lines, sha256 ${digest})`
}

export function drillSummary(report: DrillReport): string {
  const lines = [
    `drill of ${report.composeProject}, snapshot ${report.snapshotId}:`,
    ...columns(report.steps.map(s => [`${s.seconds.toFixed(1)} s`, s.name, s.detail])).map(
      row => `  ${row}`
    ),
    '',
    ...report.checks.flatMap(c =>
      c.same
        ? [
            `  same     ${c.description}: ${brief(c.before)}`,
            `    asked ${c.askedBefore}, then ${c.askedAfter}`
          ]
        : [
            `  CHANGED  ${c.description}`,
            `    before: ${brief(c.before)} (asked ${c.askedBefore})`,
            `    after:  ${brief(c.after)} (asked ${c.askedAfter})`
          ]
    ),
    '',
    report.verdict
  ]
  return lines.join('\n') + '\n'
}

/** A run's text for a person, by mode. */
export function runSummary(result: RunResult): string {
  switch (result.mode) {
    case 'snapshot':
      return snapshotSummary(result.snapshot)
    case 'restore':
      return restoreSummary(result.restore)
    case 'verify':
      return verifySummary(result.verify)
    case 'prune':
      return pruneSummary(result.prune)
  }
}

/**
 * Whether a result says the snapshot cannot be trusted: `ok: false` on the result itself or on
 * a report inside it (a verify report, a drill's).
 */
export function reportsUntrusted(result: unknown): boolean {
  const failed = (value: unknown) =>
    typeof value === 'object' && value !== null && 'ok' in value && value.ok === false
  if (failed(result)) return true
  if (typeof result !== 'object' || result === null) return false
  return Object.values(result).some(failed)
}
