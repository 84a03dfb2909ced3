// `npm run bench`: how fast, and in how much memory, docker-snapshot copies a volume, against
// the physical floor (host tar | zstd) and the usual backup way (a helper container running
// `tar czf`). It drives the bundled CLI (dist/cli.js) as a user runs it, and talks to the
// engine through the project's own engine boundary (src/docker/engine.ts) only; nothing leaves
// loopback (containers run with no network, the registry is not used). See USAGE in args.ts.
//
// Needs root (it writes the data set through the volume's mountpoint), a local engine, the
// `zstd` program, and the image docker-snapshot-test/busybox:1 (scripts/images.sh).
// Disk: the data volumes (1.25 x --size-mib, kept between runs), plus about (2 x runs + 2) x
// size while it runs (restored volumes are removed only at the end: see restoreOnce).
//
// Timings are wall clock, warm cache (see repeat.ts). CPU seconds are split between the bench
// and what it started, dockerd, and the rest of the machine (see cpu.ts). Peak memory is the
// CLI process's own VmHWM (stats-preload.ts) and, with GNU time, the largest of its processes.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs, USAGE, type BenchOptions } from './args.js'
import { measureBaselines } from './baselines.js'
import { CliRunner } from './cli-runs.js'
import { waitIdle } from './cpu.js'
import { checkTools, describeEnvironment, findGnuTime, preflight } from './environment.js'
import { measureRestores, measureSnapshots } from './measure-ours.js'
import { BenchError, Cleanups, log } from './process.js'
import { carrierOwner, describeError, Engine } from './project.js'
import { printReport, type Results } from './report.js'
import { measureStages } from './stages.js'
import { evaluateTargets } from './targets.js'
import { DATA_VOLUME, describeTree, ensureDataVolume, removeBenchObjects } from './volumes.js'

/** This file runs from the compiled copy in <repo>/node_modules/.cache/docker-snapshot-bench/. */
const REPO = fileURLToPath(new URL('../../../../../', import.meta.url))
const CLI_BUNDLE = join(REPO, 'dist', 'cli.js')

const cleanups = new Cleanups()
const engine = new Engine()
/** Set by SIGINT/SIGTERM: what fails after it is the interruption, not a finding. */
let interrupted = false

/**
 * Undoes what the run made. Carriers first: an interrupted archive copy leaves the engine's
 * carrier container holding the volume, which could not be removed before it.
 */
async function cleanUp(): Promise<void> {
  await engine.removeCarriers(carrierOwner).catch((error: unknown) => {
    // Interrupted, the copy's own cleanup may be removing the same carrier: not a failure.
    if (!interrupted) log(`cleanup of carrier containers failed: ${describeError(error)}`)
  })
  await cleanups.runAll()
}

/** A directory for this run's stores and reports; the report file outlives the run. */
function makeWorkDir(): { tmp: string; work: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'dsbench-'))
  cleanups.add(
    `directory ${tmp}`,
    () => readdirSync(tmp).length === 0 && rmSync(tmp, { recursive: true })
  )
  const work = join(tmp, 'work')
  mkdirSync(work)
  cleanups.add(`directory ${work}`, () => rmSync(work, { recursive: true, force: true }))
  return { tmp, work }
}

async function clean(engine: Engine): Promise<number> {
  const removed = await removeBenchObjects(engine)
  for (const name of removed) log(`removed volume ${name}`)
  if (removed.length === 0) log('no bench volumes to remove')
  return 0
}

async function prepareData(engine: Engine, options: BenchOptions) {
  const source = await ensureDataVolume(engine, DATA_VOLUME, options.sizeMib, options.fresh)
  const smallSize = Math.max(16, Math.round(options.sizeMib / 4))
  const small = options.scaling
    ? await ensureDataVolume(engine, `${DATA_VOLUME}-${smallSize}m`, smallSize, options.fresh)
    : null
  const othersBusyBeforeRun = options.waitIdle > 0 ? await waitIdle(options.waitIdle) : null
  const tree = describeTree(source.mountpoint)
  log(`${source.name}: ${tree.entries} entries, ${(tree.fileBytes / 1e6).toFixed(0)} MB in files`)
  return { source, small, tree, othersBusyBeforeRun }
}

async function bench(
  engine: Engine,
  engineVersion: string,
  options: BenchOptions
): Promise<number> {
  await checkTools(engine, CLI_BUNDLE)
  const gnuTime = findGnuTime()
  const environment = describeEnvironment(REPO, engineVersion, gnuTime)
  log(
    `node ${environment.node}, ${environment.cpus} cpus, engine ${environment.engine}, load ${environment.load1AtStart}`
  )
  const { tmp, work } = makeWorkDir()
  const { dockerdPid } = environment
  const cli = new CliRunner(CLI_BUNDLE, work, { dockerdPid, gnuTime, cleanups }, options.copyMethod)
  const data = await prepareData(engine, options)
  const context = { engine, cleanups, dockerdPid, runs: options.runs, cli, workDir: work }
  const baselines = await measureBaselines(context, data.source)
  const { kept, summaries } = await measureSnapshots(
    context,
    data.source,
    options.scaling ? data.small : null
  )
  const restore = await measureRestores(context, kept, { name: data.source.name, tree: data.tree })
  const stageSource = { ...kept, volume: data.source.name, mountpoint: data.source.mountpoint }
  const stages = options.stages ? await measureStages(context, stageSource) : undefined
  await kept.removeStore()
  const measurements = { ...baselines, ...summaries, restore, stages }
  const results: Results = {
    environment: { ...environment, othersBusyBeforeRun: data.othersBusyBeforeRun },
    options,
    data: { main: data.source.marker, small: data.small?.marker ?? null, mainTree: data.tree },
    measurements,
    targets: evaluateTargets(measurements, options.sizeMib),
    correct: restore.correct
  }
  return report(results, tmp)
}

function report(results: Results, dir: string): number {
  const out = join(dir, 'bench-results.json')
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  printReport(results)
  console.log(`\nresults: ${out}`)
  if (!results.correct) {
    console.log('\nFAIL: a restored volume differs from its source')
    return 1
  }
  return results.options.check && results.targets.some(t => !t.pass) ? 1 : 0
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2))
  if (options === 'help') {
    console.log(USAGE)
    return 0
  }
  const engineVersion = await preflight(engine)
  return options.clean ? clean(engine) : bench(engine, engineVersion, options)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`)
    interrupted = true
    void cleanUp().finally(() => process.exit(130))
  })
}

main().then(
  async code => {
    await cleanUp()
    process.exitCode = code
  },
  async (error: unknown) => {
    await cleanUp()
    if (interrupted) return
    log(describeError(error))
    if (!(error instanceof BenchError)) console.error(error)
    process.exitCode = error instanceof BenchError ? error.exitCode : 1
  }
)
