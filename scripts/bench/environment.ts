// What the bench needs before it starts, and the machine it ran on (recorded in the results).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { HELPER_IMAGE } from './baselines.js'
import { findDockerdPid } from './cpu.js'
import { BenchError, log, sleep } from './process.js'
import type { Engine } from './project.js'
import { round } from './stats.js'

export interface Environment {
  date: string
  node: string
  nodePath: string
  cpus: number
  memoryGiB: number
  engine: string
  zstd: string
  git: string | null
  gnuTime: boolean
  dockerdPid: number | null
  load1AtStart: number
  /** Share of the machine others used just before the measurements (with --wait-idle). */
  othersBusyBeforeRun?: number | null
}

/** Host programs the measured pipelines run. */
const TOOLS = ['zstd', 'tar', 'bash', 'wc']
const GNU_TIME = '/usr/bin/time'

function onPath(tool: string): boolean {
  try {
    execFileSync('bash', ['-c', 'command -v "$1"', 'bench', tool], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** dist/ may be in the middle of a rebuild (npm run package removes it first): give it a minute. */
async function waitForBundle(bundle: string): Promise<void> {
  for (let waited = 0; !existsSync(bundle); waited++) {
    if (waited === 30)
      throw new BenchError(`${bundle} is missing; build it with \`npm run package\``)
    if (waited === 0) log(`waiting for ${bundle} (being rebuilt?)`)
    await sleep(2000)
  }
}

/** Fails with what to do when the bench cannot run here; returns the engine's version. */
export async function preflight(engine: Engine): Promise<string> {
  if (process.getuid?.() !== 0) {
    throw new BenchError('run as root: the data set is written through the volume mountpoint')
  }
  const info = await engine.info().catch(() => {
    throw new BenchError('no engine answers; run `bash scripts/testbed.sh up`')
  })
  return info.version
}

/** Checks what the measurements need: the CLI bundle, host tools and the helper image. */
export async function checkTools(engine: Engine, bundle: string): Promise<void> {
  await waitForBundle(bundle)
  const missing = TOOLS.find(tool => !onPath(tool))
  if (missing) throw new BenchError(`${missing} is not on PATH (zstd: apt-get install zstd)`)
  if (!(await engine.findImage(HELPER_IMAGE))) {
    throw new BenchError(`image ${HELPER_IMAGE} is missing; run \`bash scripts/images.sh\``)
  }
}

/** GNU time, for the largest resident set of any process of a run, when it is installed. */
export function findGnuTime(): string | null {
  try {
    execFileSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' })
    return GNU_TIME
  } catch {
    return null
  }
}

function gitDescribe(repo: string): string | null {
  try {
    const args = ['-C', repo, 'describe', '--always', '--dirty']
    return execFileSync('git', args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return null
  }
}

export function describeEnvironment(
  repo: string,
  engineVersion: string,
  gnuTime: string | null
): Environment {
  return {
    date: new Date().toISOString(),
    node: process.version,
    nodePath: process.execPath,
    cpus: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    engine: engineVersion,
    zstd: execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim(),
    git: gitDescribe(repo),
    gnuTime: gnuTime !== null,
    dockerdPid: findDockerdPid(),
    load1AtStart: round(loadavg()[0]!, 2)
  }
}
