// The report on stdout: one table of every measurement, the notes that read it, the targets.
import type { BenchOptions } from './args.js'
import type { Environment } from './environment.js'
import type { Measurements, SnapshotSummary, Target } from './measurements.js'
import type { Summary } from './stats.js'
import { table } from './table.js'
import type { DataMarker, TreeDescription } from './volumes.js'

export interface Results {
  environment: Environment
  options: BenchOptions
  data: { main: DataMarker; small: DataMarker | null; mainTree: TreeDescription }
  measurements: Measurements
  targets: Target[]
  correct: boolean
}

const HEADERS = ['measurement', 'runs', 'median s', 'best s', 'MB/s', 'out MB', 'ratio', 'RSS MiB']
const HEADERS_END = ['CPU s ours/engine/other', 'note']

const LEGEND = [
  'MB/s: tar bytes per second (median). RSS: peak resident set (VmHWM) of the node process, median of runs.',
  'CPU (medians, seconds): ours = the bench process and the processes it started (node + zstd; tar + zstd)',
  '/ engine = dockerd and its children / other = the rest of the machine meanwhile (containerd,',
  'container processes, other work).'
]

const RISING_NOTE = [
  'note: restore / engine write times rise from run to run. On ext4 that is what many files deleted',
  'in the last minutes do (inode allocation skips recently deleted inodes): e.g. a bench run just',
  'before this one. Rerun after ~10 minutes.'
]

type Row = (string | number | null | undefined)[]

const f1 = (x: number | null) => (typeof x === 'number' ? x.toFixed(1) : '-')

/** A row of the table; `tarBytes` is what MB/s and the ratio are reckoned against. */
function row(name: string, s: Summary, tarBytes: number, outBytes: number | null, note = ''): Row {
  return [
    name,
    s.runs,
    s.median.toFixed(2),
    s.best.toFixed(2),
    s.median ? (tarBytes / 1e6 / s.median).toFixed(0) : '',
    outBytes ? (outBytes / 1e6).toFixed(0) : '',
    outBytes ? (tarBytes / outBytes).toFixed(2) : '',
    s.rssMiB ?? '',
    `${f1(s.cpuChildren)} / ${f1(s.cpuDockerd)} / ${f1(s.cpuOther)}`,
    note
  ]
}

function snapshotRows(m: Measurements, sizeMib: number): Row[] {
  const ours = (name: string, s: SnapshotSummary, note = s.codec) =>
    row(name, s, s.tarBytes, s.storedBytes, note)
  const small = m.snapshotZstdSmall
  return [
    ours(`ours snapshot zstd (${sizeMib} MiB)`, m.snapshotZstd),
    ours('ours snapshot gzip', m.snapshotGzip),
    ...(m.snapshotZstdEncrypted
      ? [ours('ours snapshot zstd, encrypted', m.snapshotZstdEncrypted, 'age, X25519')]
      : []),
    ...(small ? [ours(`ours snapshot zstd (${small.sizeMib} MiB)`, small, 'memory scaling')] : [])
  ]
}

function stageRows(m: Measurements, tarBytes: number): Row[] {
  const s = m.stages
  if (!s) return []
  return [
    row('stage: engine archive read', s.engineRead, tarBytes, null),
    row('stage: engine read | zstd', s.engineReadZstd, tarBytes, s.engineReadZstd.outBytes),
    row('stage: zstd alone', s.zstdAlone, tarBytes, s.zstdAlone.outBytes),
    row('stage: zstd -d alone', s.unzstdAlone, tarBytes, null),
    row('stage: sha256 of archive', s.sha256Alone, tarBytes, null),
    row('stage: tar scan (TarScanner)', s.tarScanAlone, tarBytes, null),
    row('stage: engine archive write', s.engineWrite, tarBytes, null)
  ]
}

function rows(m: Measurements, sizeMib: number): Row[] {
  const tarBytes = m.snapshotZstd.tarBytes
  const { verify, volumes } = m.restore.steps
  const content = m.restore.correct ? 'content OK' : 'CONTENT DIFFERS'
  return [
    row('host tar -> pipe (floor)', m.hostTar, tarBytes, null),
    row('A: host tar | zstd -T0 -3', m.baselineA, tarBytes, m.baselineA.outBytes),
    row('B: busybox container tar czf', m.baselineB, tarBytes, m.baselineB.outBytes),
    row('C: helper container tar | zstd -T0 -3', m.baselineC, tarBytes, m.baselineC.outBytes),
    ...snapshotRows(m, sizeMib),
    row(
      'ours restore',
      m.restore,
      tarBytes,
      null,
      `verify ${verify} s, volumes ${volumes} s; ${content}`
    ),
    ...stageRows(m, tarBytes)
  ]
}

/** Three or more runs, each slower than the one before, the last 30% slower than the first. */
function rising(runs: number[]): boolean {
  return (
    runs.length >= 3 &&
    runs.every((x, i) => i === 0 || x > runs[i - 1]!) &&
    runs.at(-1)! > 1.3 * runs[0]!
  )
}

export function printReport(results: Results): void {
  const { measurements: m, options, environment: e } = results
  const tarMb = (m.snapshotZstd.tarBytes / 1e6).toFixed(0)
  console.log(
    `\ndocker-snapshot bench: ${options.sizeMib} MiB (${tarMb} MB of tar), ${options.runs} run(s), ` +
      `warm cache; node ${e.node}, ${e.cpus} cpus, engine ${e.engine}\n`
  )
  console.log(table(rows(m, options.sizeMib), [...HEADERS, ...HEADERS_END]))
  console.log('\n' + LEGEND.join('\n'))
  if (m.snapshotZstd.treeMaxRssMiB !== null) {
    const tree = m.snapshotZstd.treeMaxRssMiB
    console.log(`GNU time max RSS of any process in the snapshot run (node or zstd): ${tree} MiB`)
  }
  if (rising(m.restore.all) || rising(m.stages?.engineWrite.all ?? [])) {
    console.log('\n' + RISING_NOTE.join('\n'))
  }
  console.log('\ntargets:')
  for (const t of results.targets) {
    console.log(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${t.value} (${t.detail})`)
  }
}
