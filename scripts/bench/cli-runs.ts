// "Ours": the bundled CLI (dist/cli.js, copied with its chunks at the start) run as a user
// runs it, with the stats preload in its process and GNU time around it when present.
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { withCpu } from './cpu.js'
import { BenchError, log, run, type Cleanups, type ProcessResult } from './process.js'
import type { ProcessStats } from './stats-preload.js'
import { round, type Run } from './stats.js'

/** The fields of the CLI's `--json` result event that the bench reads. */
interface SnapshotResult {
  snapshot: {
    codec: string
    manifest: { snapshotId: string }
    volumes: {
      name: string
      seconds: number
      tarBytes: number
      storedBytes: number
      method: string
    }[]
  }
}
interface RestoreResult {
  restore: {
    volumes: { name: string; target: string }[]
    steps: { step: string; durationMs: number }[]
  }
}
interface ResultEvent {
  event: 'result'
  ok: boolean
  result: unknown
}

export interface CliRun extends Run {
  rssMiB: number | null
  treeMaxRssMiB: number | null
}

/** Where runs of the CLI happen: the copied bundle, the preload, and a directory for reports. */
export class CliRunner {
  readonly #cli: string
  readonly #preload = pathToFileURL(
    join(dirname(fileURLToPath(import.meta.url)), 'stats-preload.js')
  ).href
  #count = 0

  constructor(
    bundle: string,
    readonly workDir: string,
    private readonly context: {
      dockerdPid: number | null
      gnuTime: string | null
      cleanups: Cleanups
    },
    /** Given to every snapshot and restore as `--copy-method`. */
    readonly copyMethod = 'auto'
  ) {
    // A rebuild of dist/ during the run cannot disturb the copy (of the entry and its chunks).
    cpSync(dirname(bundle), join(workDir, 'dist'), { recursive: true })
    this.#cli = join(workDir, 'dist', basename(bundle))
  }

  /** Runs the CLI once; resolves with its result, wall time, CPU and memory. */
  async run<T>(args: string[]): Promise<CliRun & { result: T }> {
    const id = ++this.#count
    const statsFile = join(this.workDir, `cli-${id}.json`)
    const timeFile = join(this.workDir, `time-${id}.txt`)
    const nodeArgs = ['--import', this.#preload, this.#cli, ...args]
    const { gnuTime, dockerdPid } = this.context
    const [cmd, cmdArgs] = gnuTime
      ? [gnuTime, ['-f', '%M', '-o', timeFile, process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs]
    const env = { DSBENCH_STATS_FILE: statsFile }
    const measured = await withCpu(dockerdPid, () => run(cmd, cmdArgs, { env, allowFail: true }))
    const result = resultOf(args, measured)
    const stats = readStats(statsFile)
    return {
      seconds: measured.seconds,
      cpu: { ...measured.cpu, node: stats?.cpuSeconds ?? null },
      load1: measured.load1,
      rssMiB: stats ? round(stats.vmHwmKiB / 1024, 1) : null,
      treeMaxRssMiB: gnuTime ? readGnuTime(timeFile) : null,
      result: result as T
    }
  }

  /** A new store directory, removed at the end of the bench unless removed earlier. */
  newStore(label: string): { path: string; remove: () => Promise<void> } {
    const path = join(this.workDir, `store-${label}`)
    mkdirSync(path)
    const remove = this.context.cleanups.add(`store ${path}`, () =>
      rmSync(path, { recursive: true, force: true })
    )
    return { path, remove }
  }
}

/** The last `result` event on the CLI's stdout; throws when the run failed. */
function resultOf(args: string[], measured: ProcessResult): unknown {
  const events = measured.stdout.trim().split('\n').reverse().map(parseEvent)
  const event = events.find(e => e !== null)
  if (measured.code !== 0 || !event?.ok) {
    const why = event ? JSON.stringify(event).slice(0, 2000) : measured.stderr.slice(-2000)
    throw new BenchError(`docker-snapshot ${args.join(' ')} failed (${measured.code}): ${why}`)
  }
  return event.result
}

function parseEvent(line: string): ResultEvent | null {
  try {
    const event = JSON.parse(line) as Partial<ResultEvent>
    return event.event === 'result' ? (event as ResultEvent) : null
  } catch {
    return null
  }
}

function readStats(file: string): ProcessStats | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessStats
  } catch {
    log('warning: the CLI process did not report its memory (preload did not run?)')
    return null
  }
}

/** GNU time's %M: the largest resident set of any process of the run, in MiB. */
function readGnuTime(file: string): number | null {
  try {
    const kib = Number(readFileSync(file, 'utf8').trim().split('\n').pop())
    return Number.isFinite(kib) ? round(kib / 1024, 1) : null
  } catch {
    return null
  }
}

export type { RestoreResult, SnapshotResult }
