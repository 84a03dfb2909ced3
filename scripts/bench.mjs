// `npm run bench`: how fast, and in how much memory, docker-snapshot copies a volume, against
// the physical floor (host tar | zstd) and the usual backup way (a helper container running
// `tar czf`). Plain Node ESM, no dependencies; it drives the bundled CLI (dist/cli/index.js) and
// talks to the engine on its unix socket only (nothing leaves loopback: containers run with
// `--network none`, the registry is not used).
//
//   npm run bench                      1 GiB data set, 3 runs each, stage breakdown
//   npm run bench -- --size-mib 128    a quick run
//   npm run bench -- --check           exit 1 when a target is missed
//   npm run bench -- --clean           remove the data volumes and exit
//
// Needs root (it writes the data set through the volume's mountpoint), a local engine, the
// `zstd` program, `curl`, and the image docker-snapshot-test/busybox:1 (scripts/images.sh).
// Disk: the data volumes (1.25 x --size-mib, kept between runs), plus about (2 x runs + 2) x
// size while it runs (restored volumes are removed only at the end: see restoreOnce). A default
// run takes about 7 minutes on 2 cores; the first one also generates the data (15-25 s).
//
// Timings are wall clock, warm cache: before each run the bench writes back dirty pages (sync)
// and reads what the run will read. CPU seconds are split between the processes the bench
// started, dockerd, and the rest of the machine; a large "other" means someone else was busy
// and the wall times are not to be trusted (it waits up to --wait-idle seconds for quiet).
//
// Peak memory: a preload (`node --import`) in the CLI's process reads VmHWM from /proc/self/status
// when that process exits: the kernel's own high-water mark of the node process's resident set,
// independent of sampling. When GNU time (/usr/bin/time) is present, its %M is shown as well: the
// largest resident set of any process of the run (node, or the zstd it spawns).
import { spawn, execFileSync } from 'node:child_process'
import { setTimeout } from 'node:timers'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { createHash, randomFillSync } from 'node:crypto'
import {
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
  writeSync
} from 'node:fs'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const DATA_VERSION = 2
const VOLUME = 'dsbench-data'
const LABEL = 'dsbench.data'
const IMAGE = 'docker-snapshot-test/busybox:1'
const MARKER = '.dsbench.json'
const MiB = 1024 * 1024

/**
 * The targets, on medians. Chosen after measuring on 2 cores (1 GiB, warm): host tar | zstd
 * 5.2-5.5 s, engine archive read | zstd 7.1-7.2 s, container tar czf 46-59 s, ours 10-13 s,
 * restore 13-14 s, node peak RSS 170-176 MiB (115-125 MiB for a nearly empty volume). The
 * archive stream alone reaches 6.5-8x the usual way, so 5x is reachable once the CLI adds at most
 * 30% to that stream; its profile says it can (progress events and small pipe writes).
 */
const LIMITS = {
  /** Our zstd snapshot against host `tar | zstd -T0 -3`, the physical floor. */
  vsFloor: 2.5,
  /** How many times faster than a helper container's `tar czf`, the usual backup way. */
  vsUsual: 5,
  /** Our zstd snapshot against `engine archive read | zstd -T0 -3`: what the CLI itself adds. */
  vsArchiveStream: 1.3,
  /** Peak resident set of the CLI's node process, snapshot or restore. */
  rssMiB: 200,
  /** Growth of that peak from a 1/4-size volume to the full one. */
  rssGrowthMiB: 50,
  /** Restore against snapshot, both zstd. */
  restoreVsSnapshot: 3
}
const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(repo, 'dist', 'cli', 'index.js')

const USAGE = `Usage: npm run bench -- [options]   (or: node scripts/bench.mjs [options])

  --size-mib N    size of the data set in MiB (default 1024): 1/4 random, 1/2 log text,
                  1/4 small JSON files (20k per GiB)
  --runs N        runs of each timed measurement (default 3); median and best are reported
  --fresh         recreate the data volume(s) even when they exist
  --no-scaling    skip the memory-scaling run on a 1/4-size volume
  --no-stages     skip the stage breakdown (engine read, zstd, engine write alone)
  --wait-idle S   wait up to S seconds for other work on the machine to stop (default 60)
  --check         exit 1 when a target is missed
  --clean         remove the data volumes this bench keeps between runs, and exit
  -h, --help      this text`

// ---------------------------------------------------------------------------------------------
// Arguments

function parseArgs(argv) {
  const opts = { sizeMib: 1024, runs: 3, fresh: false, scaling: true, stages: true, waitIdle: 60 }
  opts.check = false
  opts.clean = false
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s)
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) fail(`${flag} needs a value\n\n${USAGE}`, 2)
      return v
    }
    const positive = (name, v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 1) fail(`${name} must be a whole number >= 1, not '${v}'`, 2)
      return n
    }
    switch (flag) {
      case '--size-mib':
        opts.sizeMib = positive(flag, value())
        break
      case '--runs':
        opts.runs = positive(flag, value())
        break
      case '--wait-idle': {
        const v = value()
        opts.waitIdle = Number(v)
        if (!Number.isFinite(opts.waitIdle) || opts.waitIdle < 0) {
          fail(`--wait-idle must be a number of seconds, not '${v}'`, 2)
        }
        break
      }
      case '--fresh':
        opts.fresh = true
        break
      case '--no-scaling':
        opts.scaling = false
        break
      case '--no-stages':
        opts.stages = false
        break
      case '--check':
        opts.check = true
        break
      case '--clean':
        opts.clean = true
        break
      case '-h':
      case '--help':
        console.log(USAGE)
        process.exit(0)
        break
      default:
        fail(`unknown argument '${argv[i]}'\n\n${USAGE}`, 2)
    }
  }
  if (opts.sizeMib < 16) fail('--size-mib must be at least 16', 2)
  return opts
}

// ---------------------------------------------------------------------------------------------
// Processes, cleanup

class BenchError extends Error {}

function fail(message, code = 1) {
  console.error(`bench: ${message}`)
  process.exit(code)
}

function log(message) {
  console.error(`bench: ${message}`)
}

/** Undo actions for what this run created, newest first; each is synchronous. */
const cleanups = []
function onCleanup(label, fn) {
  const entry = { label, fn }
  cleanups.push(entry)
  return () => {
    const i = cleanups.indexOf(entry)
    if (i >= 0) cleanups.splice(i, 1)
    fn()
  }
}
function cleanupAll() {
  while (cleanups.length > 0) {
    const { label, fn } = cleanups.pop()
    try {
      fn()
    } catch (error) {
      log(`cleanup of ${label} failed: ${error.message}`)
    }
  }
}
for (const signal of isMainThread ? ['SIGINT', 'SIGTERM'] : []) {
  process.on(signal, () => {
    log(`${signal}: cleaning up`)
    cleanupAll()
    process.exit(130)
  })
}

/** Runs a program; resolves with its exit status, output and wall time. */
function run(cmd, args, { env, allowFail = false } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env
    })
    const out = []
    const err = []
    child.stdout.on('data', chunk => out.push(chunk))
    child.stderr.on('data', chunk => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const result = {
        code,
        signal,
        seconds,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8')
      }
      if (!allowFail && code !== 0) {
        const tail = result.stderr.trim().split('\n').slice(-15).join('\n')
        reject(new BenchError(`${cmd} ${args.join(' ')} failed (${signal ?? code}):\n${tail}`))
      } else resolve(result)
    })
  })
}

/** A bash pipeline (pipefail): time and output. */
const sh = (script, options) => run('bash', ['-o', 'pipefail', '-c', script], options)

const q = s => `'${String(s).replace(/'/g, `'\\''`)}'`

function docker(...args) {
  return execFileSync('docker', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  }).trim()
}
function dockerQuiet(...args) {
  try {
    return docker(...args)
  } catch {
    return null
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: the bench's reaped children (node + zstd, or tar + zstd) and the engine.

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** utime, stime, cutime, cstime of a process, in seconds. */
function procCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const n = i => Number(fields[i - 3]) / CLK_TCK
    return { self: n(14) + n(15), children: n(16) + n(17) }
  } catch {
    return null
  }
}

function findDockerdPid() {
  for (const file of ['/var/run/docker.pid', '/run/docker.pid']) {
    try {
      const pid = Number(readFileSync(file, 'utf8').trim())
      if (pid > 0 && procCpu(pid)) return pid
    } catch {
      // next
    }
  }
  try {
    const pid = Number(execFileSync('pidof', ['-s', 'dockerd'], { encoding: 'utf8' }).trim())
    if (pid > 0) return pid
  } catch {
    // unknown
  }
  return null
}

let dockerdPid = null

/** Busy and total CPU seconds of the whole machine so far (all cores), from /proc/stat. */
function machineCpu() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number)
  const busy = user + nice + system + irq + softirq + steal
  return { busy: busy / CLK_TCK, total: (busy + idle + iowait) / CLK_TCK }
}

/**
 * Waits until the machine is quiet (others use under 10% of it over 2 s), at most `seconds`;
 * timings taken while other work runs are noisy.
 */
async function waitIdle(seconds) {
  const deadline = Date.now() + seconds * 1000
  for (let first = true; ; first = false) {
    const a = machineCpu()
    await new Promise(resolve => setTimeout(resolve, 2000))
    const b = machineCpu()
    const busy = (b.busy - a.busy) / (b.total - a.total)
    if (busy < 0.1) return round(busy, 2)
    if (Date.now() >= deadline) {
      log(
        `warning: the machine stays busy (${Math.round(busy * 100)}% CPU used by others); timings will be noisy`
      )
      return round(busy, 2)
    }
    if (first)
      log(
        `waiting up to ${seconds} s for the machine to be idle (now ${Math.round(busy * 100)}% busy)`
      )
  }
}

/** Runs `fn` and adds the CPU seconds the bench's children and dockerd used meanwhile. */
async function withCpu(fn) {
  const before = {
    me: procCpu('self'),
    engine: dockerdPid && procCpu(dockerdPid),
    machine: machineCpu()
  }
  const load = loadavg()[0]
  const result = await fn()
  const after = {
    me: procCpu('self'),
    engine: dockerdPid && procCpu(dockerdPid),
    machine: machineCpu()
  }
  const children = after.me.children - before.me.children
  const dockerd =
    before.engine && after.engine
      ? after.engine.self + after.engine.children - before.engine.self - before.engine.children
      : null
  const busy = after.machine.busy - before.machine.busy
  result.cpu = {
    children: round(children, 2),
    dockerd: round(dockerd, 2),
    // Everything else the machine did meanwhile (containerd, the bench itself, other work):
    // a large value means the wall time is not to be trusted.
    other: round(Math.max(0, busy - children - (dockerd ?? 0)), 2)
  }
  result.load1 = round(load, 2)
  return result
}

// ---------------------------------------------------------------------------------------------
// The data set

/** xorshift32: fast, repeatable pseudo-random numbers for the text parts. */
function prng(seed) {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

const WORDS = {
  level: ['INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'DEBUG', 'DEBUG', 'WARN', 'ERROR'],
  service: ['api', 'worker', 'auth', 'billing', 'search'],
  method: ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'],
  resource: ['orders', 'users', 'items', 'carts', 'payments', 'sessions', 'inventory', 'reviews'],
  status: [200, 200, 200, 200, 200, 201, 204, 304, 400, 401, 404, 409, 500, 503],
  problem: [
    'slow query on primary',
    'retrying upstream call',
    'connection reset by peer',
    'deadline exceeded',
    'cache miss, loading from store',
    'lock wait timeout'
  ],
  first: ['Ada', 'Grace', 'Linus', 'Ken', 'Barbara', 'Edsger', 'Donald', 'Frances', 'Alan'],
  last: ['Lovelace', 'Hopper', 'Torvalds', 'Thompson', 'Liskov', 'Dijkstra', 'Knuth', 'Allen'],
  adjective: ['red', 'small', 'heavy', 'organic', 'refurbished', 'wireless', 'steel', 'classic'],
  noun: ['chair', 'lamp', 'kettle', 'keyboard', 'backpack', 'bottle', 'notebook', 'speaker'],
  tag: ['priority', 'gift', 'wholesale', 'returning', 'promo', 'b2b', 'express', 'fragile']
}
const pick = (rnd, list) => list[rnd() % list.length]

const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'))
const LEVELS = WORDS.level.map(level => level.padEnd(5))

/** Writes `bytes` (rounded up to a whole line) of log-like text to `path`. */
function writeLogFile(path, bytes, rnd, startMs) {
  const fd = openSync(path, 'w')
  let written = 0
  let t = startMs
  let lastSec = -1
  let secPrefix = ''
  try {
    while (written < bytes) {
      let text = ''
      while (text.length < MiB && written + text.length < bytes) {
        t += rnd() % 40
        const sec = Math.floor(t / 1000)
        if (sec !== lastSec) {
          secPrefix = new Date(sec * 1000).toISOString().slice(0, 19)
          lastSec = sec
        }
        const level = pick(rnd, LEVELS)
        const status = pick(rnd, WORDS.status)
        text +=
          `${secPrefix}.${MILLIS[t % 1000]}Z ${level} ${pick(rnd, WORDS.service)}-${rnd() % 8} ` +
          `${pick(rnd, WORDS.method)} /api/v1/${pick(rnd, WORDS.resource)}/${rnd() % 100000} ` +
          `status=${status} bytes=${rnd() % 20000} dur_ms=${rnd() % 900} ` +
          `req=${((rnd() | 0x10000000) >>> 0).toString(16)} user=u${rnd() % 50000}` +
          (level === 'WARN ' || level === 'ERROR' || status >= 500
            ? ` msg="${pick(rnd, WORDS.problem)}" attempt=${(rnd() % 5) + 1}\n`
            : '\n')
      }
      const buffer = Buffer.from(text, 'latin1')
      writeSync(fd, buffer)
      written += buffer.length
    }
  } finally {
    closeSync(fd)
  }
  return written
}

/** A JSON document of about `target` bytes, pretty-printed as JSON.stringify(doc, null, 2) would. */
function jsonDocument(rnd, n, target) {
  const created = new Date(1767225600000 + n * 61000 + (rnd() % 60000)).toISOString()
  const tags = Array.from({ length: 1 + (rnd() % 4) }, () => `\n    "${pick(rnd, WORDS.tag)}"`)
  let text =
    `{\n  "id": "ord-${n}-${rnd().toString(36)}",\n  "type": "${pick(rnd, WORDS.resource)}",\n` +
    `  "created": "${created}",\n` +
    `  "status": "${pick(rnd, ['open', 'paid', 'shipped', 'cancelled', 'refunded'])}",\n` +
    `  "owner": {\n    "id": "u${rnd() % 50000}",\n` +
    `    "name": "${pick(rnd, WORDS.first)} ${pick(rnd, WORDS.last)}",\n` +
    `    "email": "user${rnd() % 50000}@example.test"\n  },\n` +
    `  "tags": [${tags.join(',')}\n  ],\n  "items": [`
  const tail = '\n  ]\n}\n'
  for (let first = true; text.length + tail.length < target; first = false) {
    text +=
      `${first ? '' : ','}\n    {\n      "sku": "SKU-${rnd() % 1000000}",\n` +
      `      "name": "${pick(rnd, WORDS.adjective)} ${pick(rnd, WORDS.noun)}",\n` +
      `      "qty": ${1 + (rnd() % 12)},\n      "price": "${((rnd() % 100000) / 100).toFixed(2)}",\n` +
      `      "warehouse": "wh-${rnd() % 16}"\n    }`
  }
  return text + tail
}

/** 1/4 of the data set: four incompressible blobs (a database's pages, media, packed artefacts). */
function writeRandom(root, sizeMib) {
  mkdirSync(join(root, 'random'))
  const blob = Math.floor((sizeMib * MiB) / 16)
  const buffer = Buffer.allocUnsafe(4 * MiB)
  for (let i = 0; i < 4; i++) {
    const fd = openSync(join(root, 'random', `blob-${i}.bin`), 'w')
    for (let left = blob; left > 0;) {
      const n = Math.min(left, buffer.length)
      randomFillSync(buffer, 0, n)
      writeSync(fd, buffer, 0, n)
      left -= n
    }
    closeSync(fd)
  }
  return { randomBytes: 4 * blob }
}

/** 1/2: log text in eight files, compressible but not trivially (about 4x with zstd -3). */
function writeLogs(root, sizeMib) {
  const rnd = prng(0x10650000 + sizeMib)
  mkdirSync(join(root, 'logs'))
  let logBytes = 0
  for (let i = 0; i < 8; i++) {
    const start = 1767225600000 + i * 86400000
    logBytes += writeLogFile(join(root, 'logs', `app-${i}.log`), (sizeMib * MiB) / 16, rnd, start)
  }
  return { logBytes }
}

/** 1/4: small JSON files, 20k per GiB (about 13 KiB each), 200 to a directory. */
function writeJson(root, sizeMib) {
  const rnd = prng(0x15030000 + sizeMib)
  const files = Math.max(1, Math.round((20000 * sizeMib) / 1024))
  const each = Math.floor((sizeMib * MiB) / 4 / files)
  let jsonBytes = 0
  for (let n = 0; n < files; n++) {
    const dir = join(root, 'json', `d${String(Math.floor(n / 200)).padStart(3, '0')}`)
    if (n % 200 === 0) mkdirSync(dir, { recursive: true })
    const text = jsonDocument(rnd, n, each)
    writeFileSync(join(dir, `order-${n}.json`), text)
    jsonBytes += text.length
  }
  return { jsonBytes, jsonFiles: files }
}

/**
 * Fills `root` (a fresh, empty volume directory) with the data set: the log text in a worker
 * thread, the rest meanwhile here (two cores: about half the time).
 */
async function generateData(root, sizeMib) {
  const started = Date.now()
  const worker = new Worker(new URL(import.meta.url), { workerData: { root, sizeMib } })
  const logs = new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', code => reject(new BenchError(`the log generator exited (${code})`)))
  })
  const stats = { ...writeRandom(root, sizeMib), ...writeJson(root, sizeMib), ...(await logs) }
  stats.seconds = (Date.now() - started) / 1000
  return stats
}

/** Makes sure `name` holds the data set of `sizeMib`; returns its mountpoint and how it came. */
async function ensureVolume(name, sizeMib, fresh) {
  const existing = dockerQuiet('volume', 'inspect', '-f', '{{.Mountpoint}}', name)
  if (existing !== null && !fresh) {
    try {
      const marker = JSON.parse(readFileSync(join(existing, MARKER), 'utf8'))
      if (marker.version === DATA_VERSION && marker.sizeMib === sizeMib) {
        return { name, mountpoint: existing, reused: true, marker }
      }
      log(`${name} holds another data set (${JSON.stringify(marker)}); recreating it`)
    } catch {
      log(`${name} has no ${MARKER} of this bench; recreating it`)
    }
  }
  if (existing !== null) {
    const labels = dockerQuiet('volume', 'inspect', '-f', `{{index .Labels "${LABEL}"}}`, name)
    if (labels !== 'true') {
      throw new BenchError(
        `volume ${name} exists and was not made by this bench (no label ${LABEL}=true); ` +
          'remove it yourself or rename it'
      )
    }
    docker('volume', 'rm', name)
  }
  docker('volume', 'create', '--label', `${LABEL}=true`, name)
  const mountpoint = docker('volume', 'inspect', '-f', '{{.Mountpoint}}', name)
  if (!existsSync(mountpoint)) {
    throw new BenchError(
      `the mountpoint of ${name} (${mountpoint}) is not visible here: the bench needs a local ` +
        'engine and the local volume driver'
    )
  }
  log(`generating ${sizeMib} MiB into ${name} (${mountpoint})`)
  const stats = await generateData(mountpoint, sizeMib)
  const synced = Date.now()
  execFileSync('sync')
  stats.syncSeconds = (Date.now() - synced) / 1000
  const marker = { version: DATA_VERSION, sizeMib, created: new Date().toISOString(), ...stats }
  writeFileSync(join(mountpoint, MARKER), JSON.stringify(marker) + '\n')
  log(
    `generated ${name} in ${stats.seconds.toFixed(1)} s (+ ${stats.syncSeconds.toFixed(1)} s sync): ` +
      `${mb(stats.randomBytes)} random, ${mb(stats.logBytes)} logs, ` +
      `${stats.jsonFiles} JSON files (${mb(stats.jsonBytes)})`
  )
  return { name, mountpoint, reused: false, marker }
}

/**
 * What a volume holds, for comparing a restore with its source: entry count, file bytes, and a
 * digest over every entry's path, type, size, mode, owner, mtime and link target.
 */
function describeTree(root) {
  const hash = createHash('sha256')
  let entries = 0
  let fileBytes = 0
  const walk = rel => {
    const names = readdirSync(join(root, rel)).sort()
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`
      const st = lstatSync(join(root, path))
      const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o'
      const link = type === 'l' ? readlinkSync(join(root, path)) : ''
      const size = type === 'f' ? st.size : 0
      const mtime = type === 'd' ? '' : Math.floor(st.mtimeMs / 1000)
      hash.update(
        `${path}\0${type}\0${size}\0${st.mode}\0${st.uid}\0${st.gid}\0${mtime}\0${link}\n`
      )
      entries++
      fileBytes += size
      if (type === 'd') walk(path)
    }
  }
  walk('')
  return { entries, fileBytes, digest: hash.digest('hex') }
}

// ---------------------------------------------------------------------------------------------
// Measurements

let statsPreload
/** The CLI bundle, copied at the start: a rebuild of dist/ during the run cannot disturb it. */
let cliCopy
let gnuTime = null
let statsDir
let runCounter = 0

/**
 * Runs the CLI once, with the stats preload (and GNU time when present); resolves with the parsed
 * result event, wall time and memory.
 */
async function runCli(args) {
  const id = ++runCounter
  const statsFile = join(statsDir, `cli-${id}.json`)
  const timeFile = join(statsDir, `time-${id}.txt`)
  const nodeArgs = ['--import', pathToFileURL(statsPreload).href, cliCopy, ...args]
  const [cmd, cmdArgs] = gnuTime
    ? [gnuTime, ['-f', '%M', '-o', timeFile, process.execPath, ...nodeArgs]]
    : [process.execPath, nodeArgs]
  const measured = await withCpu(() =>
    run(cmd, cmdArgs, { env: { DSBENCH_STATS_FILE: statsFile }, allowFail: true })
  )
  const lines = measured.stdout.trim().split('\n')
  let result
  for (const line of lines.reverse()) {
    try {
      const event = JSON.parse(line)
      if (event.event === 'result') {
        result = event
        break
      }
    } catch {
      // not JSON
    }
  }
  if (measured.code !== 0 || !result?.ok) {
    const why = result ? JSON.stringify(result).slice(0, 2000) : measured.stderr.slice(-2000)
    throw new BenchError(`docker-snapshot ${args.join(' ')} failed (${measured.code}): ${why}`)
  }
  let stats = {}
  try {
    stats = JSON.parse(readFileSync(statsFile, 'utf8'))
  } catch {
    log('warning: the CLI process did not report its memory (preload did not run?)')
  }
  let treeMaxRssMiB = null
  if (gnuTime) {
    try {
      const text = readFileSync(timeFile, 'utf8').trim().split('\n').pop()
      treeMaxRssMiB = round(Number(text) / 1024, 1)
    } catch {
      // no GNU time output
    }
  }
  return {
    seconds: measured.seconds,
    cpu: { ...measured.cpu, node: stats.cpuSeconds ?? null },
    load1: measured.load1,
    rssMiB: stats.vmHwmKiB ? round(stats.vmHwmKiB / 1024, 1) : null,
    treeMaxRssMiB,
    result: result.result
  }
}

const STATS_PRELOAD = `// Written by scripts/bench.mjs: reports this process's peak memory and CPU when it exits.
import { readFileSync, writeFileSync } from 'node:fs'
const out = process.env.DSBENCH_STATS_FILE
if (out) {
  process.on('exit', () => {
    try {
      const status = readFileSync('/proc/self/status', 'utf8')
      const kib = key => Number((new RegExp('^' + key + ':\\\\s+(\\\\d+) kB', 'm').exec(status) || [])[1])
      const cpu = process.cpuUsage()
      writeFileSync(out, JSON.stringify({
        vmHwmKiB: kib('VmHWM'),
        vmRssKiB: kib('VmRSS'),
        cpuSeconds: (cpu.user + cpu.system) / 1e6
      }))
    } catch {}
  })
}
`

async function snapshotOnce(volume, compression, label) {
  const store = join(statsDir, `store-${label}`)
  mkdirSync(store)
  const removeStore = onCleanup(`store ${store}`, () =>
    rmSync(store, { recursive: true, force: true })
  )
  const r = await runCli([
    'snapshot',
    '--volumes',
    volume,
    '--store',
    store,
    '--json',
    '--compression',
    compression
  ])
  const vol = r.result.snapshot.volumes.find(v => v.name === volume)
  const snapshotId = r.result.snapshot.manifest.snapshotId
  return {
    seconds: r.seconds,
    copySeconds: vol.seconds,
    cpu: r.cpu,
    load1: r.load1,
    rssMiB: r.rssMiB,
    treeMaxRssMiB: r.treeMaxRssMiB,
    tarBytes: vol.tarBytes,
    storedBytes: vol.storedBytes,
    codec: r.result.snapshot.codec,
    snapshotId,
    store,
    removeStore
  }
}

async function restoreOnce(source, store, snapshotId, n, sourceTree) {
  const prefix = `dsbench-r${n}-`
  const target = `${prefix}${source.name}`
  const leftover = dockerQuiet('volume', 'inspect', '-f', `{{index .Labels "${LABEL}"}}`, target)
  if (leftover === 'true') docker('volume', 'rm', target)
  else if (leftover !== null) throw new BenchError(`volume ${target} exists; remove it first`)
  // The restored volume stays until the bench ends: deleting 20k files just before the next run
  // creates 20k files makes ext4 slow (inode allocation skips recently deleted inodes), and
  // that would be measured as the next restore's time.
  onCleanup(`volume ${target}`, () => dockerQuiet('volume', 'rm', '-f', target))
  const r = await runCli([
    'restore',
    '--store',
    store,
    '--snapshot-id',
    snapshotId,
    '--only-volumes',
    source.name,
    '--prefix',
    prefix,
    '--json'
  ])
  const restored = r.result.restore.volumes.find(v => v.name === source.name)
  const steps = Object.fromEntries(
    r.result.restore.steps.map(s => [s.step, round(s.durationMs / 1000, 2)])
  )
  const mountpoint = docker('volume', 'inspect', '-f', '{{.Mountpoint}}', restored.target)
  const verifyStarted = Date.now()
  const tree = describeTree(mountpoint)
  const correct =
    tree.entries === sourceTree.entries &&
    tree.fileBytes === sourceTree.fileBytes &&
    tree.digest === sourceTree.digest
  const verifySeconds = (Date.now() - verifyStarted) / 1000
  return {
    seconds: r.seconds,
    cpu: r.cpu,
    load1: r.load1,
    rssMiB: r.rssMiB,
    treeMaxRssMiB: r.treeMaxRssMiB,
    steps,
    target: restored.target,
    restored: tree,
    correct,
    verifySeconds
  }
}

/**
 * Before each run: write back what earlier runs left dirty (1 GiB of writeback would otherwise
 * slow the next run down), and read what the run will read, so that it is in the page cache.
 * "Warm" has to be renewed: some kernels (DAMON reclaim, as on these VMs) page out file pages
 * untouched for a minute.
 */
async function prepareRun(warm) {
  execFileSync('sync')
  for (const path of warm) await sh(`tar -cf - ${q(path)} 2>/dev/null | wc -c`)
}

/** Runs `fn` `n` times (a measurement each; `fn` does its own CPU accounting). */
async function repeat(n, label, fn, warm = []) {
  const runs = []
  for (let i = 1; i <= n; i++) {
    await prepareRun(warm)
    const r = await fn(i)
    runs.push(r)
    log(`${label} ${i}/${n}: ${r.seconds.toFixed(2)} s${r.rssMiB ? `, ${r.rssMiB} MiB` : ''}`)
  }
  return runs
}

/** A shell pipeline measured as one run: its time and the byte count it prints (`wc -c`). */
async function pipelineRun(script) {
  const r = await sh(script)
  const bytes = Number(r.stdout.trim().split(/\s+/).pop())
  return { seconds: r.seconds, outBytes: Number.isFinite(bytes) ? bytes : null }
}

/** A never-started container mounting `volume` at /volume, like the CLI's carrier. */
function createCarrier(volume, readOnly) {
  const name = `dsbench-carrier-${process.pid}-${++runCounter}`
  const id = docker(
    'create',
    '--name',
    name,
    '--network',
    'none',
    '--label',
    `${LABEL}.temp=true`,
    '-v',
    `${volume}:/volume${readOnly ? ':ro' : ''}`,
    IMAGE,
    'true'
  )
  const remove = onCleanup(`container ${name}`, () => dockerQuiet('rm', '-f', id))
  return { id, remove }
}

function engineSocket() {
  const host = process.env.DOCKER_HOST ?? ''
  if (host === '') return '/var/run/docker.sock'
  if (host.startsWith('unix://')) return host.slice('unix://'.length)
  return null
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

const round = (x, digits = 2) => (x === null || x === undefined ? null : Number(x.toFixed(digits)))
const mb = bytes => `${(bytes / 1e6).toFixed(0)} MB`

function median(values) {
  const v = values.filter(x => typeof x === 'number').sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = Math.floor(v.length / 2)
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** Median and best (lowest) of each numeric field the runs share. */
function summarize(runs, extra = {}) {
  const secs = runs.map(r => r.seconds)
  const s = {
    runs: runs.length,
    median: round(median(secs), 3),
    best: round(Math.min(...secs), 3),
    all: secs.map(x => round(x, 3)),
    ...extra
  }
  const pickMedian = get => {
    const values = runs.map(get).filter(x => typeof x === 'number')
    return values.length ? round(median(values), 2) : null
  }
  s.cpuChildren = pickMedian(r => r.cpu?.children)
  s.cpuNode = pickMedian(r => r.cpu?.node)
  s.cpuDockerd = pickMedian(r => r.cpu?.dockerd)
  s.cpuOther = pickMedian(r => r.cpu?.other)
  s.rssMiB = pickMedian(r => r.rssMiB)
  s.rssMaxMiB = runs.some(r => typeof r.rssMiB === 'number')
    ? Math.max(...runs.map(r => r.rssMiB ?? 0))
    : null
  s.treeMaxRssMiB = pickMedian(r => r.treeMaxRssMiB)
  s.load1 = runs.map(r => r.load1)
  return s
}

function table(rows, headers) {
  const cells = [
    headers,
    ...rows.map(r => r.map(c => (c === null || c === undefined ? '' : String(c))))
  ]
  const widths = headers.map((_, i) => Math.max(...cells.map(r => r[i].length)))
  const line = r =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [
    line(cells[0]),
    widths.map(w => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line)
  ].join('\n')
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const opts = parseArgs(process.argv.slice(2))

  if (process.getuid?.() !== 0)
    fail('run as root: the data set is written through the volume mountpoint')
  if (dockerQuiet('version', '--format', '{{.Server.Version}}') === null) {
    fail('no engine answers (docker version failed); run `bash scripts/testbed.sh up`')
  }

  if (opts.clean) {
    const names = docker('volume', 'ls', '-q', '--filter', `label=${LABEL}=true`)
      .split('\n')
      .filter(Boolean)
    const leftovers = docker('ps', '-aq', '--filter', `label=${LABEL}.temp=true`)
      .split('\n')
      .filter(Boolean)
    if (leftovers.length) docker('rm', '-f', ...leftovers)
    for (const name of names) {
      docker('volume', 'rm', '-f', name)
      log(`removed volume ${name}`)
    }
    if (names.length === 0) log('no bench volumes to remove')
    return 0
  }

  // dist/ may be in the middle of a rebuild (npm run package removes it first): give it a minute.
  for (let waited = 0; !existsSync(cli); waited++) {
    if (waited === 30) fail(`${cli} is missing; build it with \`npm run package\``)
    if (waited === 0) log(`waiting for ${cli} (being rebuilt?)`)
    await new Promise(resolve => setTimeout(resolve, 2000))
  }
  for (const tool of ['zstd', 'curl', 'tar', 'bash', 'wc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' })
    } catch {
      fail(`${tool} is not on PATH (zstd: apt-get install zstd)`)
    }
  }
  if (dockerQuiet('image', 'inspect', IMAGE) === null) {
    fail(`image ${IMAGE} is missing; run \`bash scripts/images.sh\` (or scripts/testbed.sh up)`)
  }
  dockerdPid = findDockerdPid()
  for (const candidate of ['/usr/bin/time']) {
    try {
      execFileSync(candidate, ['-f', '%M', 'true'], { stdio: 'ignore' })
      gnuTime = candidate
    } catch {
      // not GNU time
    }
  }

  const tmp = mkdtempSync(join(tmpdir(), 'dsbench-'))
  onCleanup(`directory ${tmp}`, () => {
    if (readdirSync(tmp).length === 0) rmSync(tmp, { recursive: true })
  })
  statsDir = join(tmp, 'work')
  mkdirSync(statsDir)
  onCleanup(`directory ${statsDir}`, () => rmSync(statsDir, { recursive: true, force: true }))
  cpSync(dirname(cli), join(statsDir, 'cli'), { recursive: true })
  cliCopy = join(statsDir, 'cli', 'index.js')
  statsPreload = join(statsDir, 'stats-preload.mjs')
  writeFileSync(statsPreload, STATS_PRELOAD)

  const environment = {
    date: new Date().toISOString(),
    node: process.version,
    nodePath: process.execPath,
    cpus: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    engine: docker('version', '--format', '{{.Server.Version}}'),
    zstd: execFileSync('zstd', ['--version'], { encoding: 'utf8' }).trim(),
    git: gitDescribe(),
    gnuTime: gnuTime !== null,
    dockerdPid,
    load1AtStart: round(loadavg()[0], 2)
  }
  log(
    `node ${environment.node} (${process.execPath}), ${environment.cpus} cpus, engine ${environment.engine}, ` +
      `load ${environment.load1AtStart}`
  )
  const results = { environment, options: opts, measurements: {}, targets: [] }
  const M = results.measurements

  // --- data -----------------------------------------------------------------------------------
  const source = await ensureVolume(VOLUME, opts.sizeMib, opts.fresh)
  const smallSize = Math.max(16, Math.round(opts.sizeMib / 4))
  const small = opts.scaling
    ? await ensureVolume(`${VOLUME}-${smallSize}m`, smallSize, opts.fresh)
    : null
  results.data = { main: source.marker, small: small?.marker ?? null }

  if (opts.waitIdle > 0) results.environment.othersBusyBeforeRun = await waitIdle(opts.waitIdle)
  const sourceTree = describeTree(source.mountpoint)
  results.data.mainTree = sourceTree
  log(`${VOLUME}: ${sourceTree.entries} entries, ${mb(sourceTree.fileBytes)} in files`)
  const mp = q(source.mountpoint)
  const warmMain = [source.mountpoint]

  // --- baselines ------------------------------------------------------------------------------
  M.hostTar = summarize(
    await repeat(
      opts.runs,
      'host tar -> pipe',
      () => withCpu(() => pipelineRun(`tar -C ${mp} -cf - . | wc -c`)),
      warmMain
    )
  )
  const runsA = await repeat(
    opts.runs,
    'baseline A: host tar | zstd -T0 -3',
    () => withCpu(() => pipelineRun(`tar -C ${mp} -cf - . | zstd -T0 -3 -q -c | wc -c`)),
    warmMain
  )
  M.baselineA = summarize(runsA, { outBytes: runsA[0].outBytes })
  const bName = `dsbench-b-${process.pid}`
  onCleanup(`container ${bName}`, () => dockerQuiet('rm', '-f', bName))
  const runsB = await repeat(
    1,
    'baseline B: docker run busybox tar czf',
    () =>
      withCpu(() =>
        pipelineRun(
          `docker run --rm --name ${bName} --network none -v ${VOLUME}:/data:ro ${IMAGE} ` +
            `tar czf - -C /data . | wc -c`
        )
      ),
    warmMain
  )
  M.baselineB = summarize(runsB, { outBytes: runsB[0].outBytes })

  // --- ours: snapshot -------------------------------------------------------------------------
  const zstdRuns = await repeat(
    opts.runs,
    `ours: snapshot zstd (${opts.sizeMib} MiB)`,
    i => snapshotOnce(VOLUME, 'zstd', `zstd-${i}`),
    warmMain
  )
  const keep = zstdRuns[0]
  for (const r of zstdRuns.slice(1)) r.removeStore()
  M.snapshotZstd = summarize(zstdRuns, {
    tarBytes: keep.tarBytes,
    storedBytes: keep.storedBytes,
    codec: keep.codec,
    copySecondsMedian: round(median(zstdRuns.map(r => r.copySeconds)), 3)
  })

  const gzipRuns = await repeat(
    1,
    'ours: snapshot gzip',
    () => snapshotOnce(VOLUME, 'gzip', 'gzip'),
    warmMain
  )
  gzipRuns[0].removeStore()
  M.snapshotGzip = summarize(gzipRuns, {
    tarBytes: gzipRuns[0].tarBytes,
    storedBytes: gzipRuns[0].storedBytes,
    codec: gzipRuns[0].codec
  })

  if (small) {
    const smallRuns = await repeat(
      opts.runs,
      `ours: snapshot zstd (${smallSize} MiB)`,
      i => snapshotOnce(small.name, 'zstd', `small-${i}`),
      [small.mountpoint]
    )
    for (const r of smallRuns) r.removeStore()
    M.snapshotZstdSmall = summarize(smallRuns, {
      sizeMib: smallSize,
      tarBytes: smallRuns[0].tarBytes,
      storedBytes: smallRuns[0].storedBytes
    })
  }

  // --- ours: restore --------------------------------------------------------------------------
  const restoreRuns = await repeat(
    opts.runs,
    'ours: restore',
    i => restoreOnce(source, keep.store, keep.snapshotId, i, sourceTree),
    [keep.store]
  )
  M.restore = summarize(restoreRuns, {
    tarBytes: keep.tarBytes,
    correct: restoreRuns.every(r => r.correct),
    steps: Object.fromEntries(
      Object.keys(restoreRuns[0].steps).map(k => [
        k,
        round(median(restoreRuns.map(r => r.steps[k])), 2)
      ])
    ),
    restoredTree: restoreRuns.map(r => r.restored)
  })

  // --- stages ---------------------------------------------------------------------------------
  const socket = engineSocket()
  if (opts.stages && socket === null) {
    log('stages skipped: DOCKER_HOST is not a unix socket')
  } else if (opts.stages) {
    await measureStages(M, opts, socket, keep, source.mountpoint)
  }
  keep.removeStore()

  // --- targets --------------------------------------------------------------------------------
  const T = results.targets
  const L = LIMITS
  const target = (name, value, limit, pass, detail) =>
    T.push({ name, value: round(value, 2), limit, pass, detail })
  const snap = M.snapshotZstd.median
  const sec = x => `${x.toFixed(2)} s`
  target(
    `snapshot zstd <= ${L.vsFloor} x baseline A (host tar | zstd)`,
    snap / M.baselineA.median,
    L.vsFloor,
    snap <= L.vsFloor * M.baselineA.median,
    `${sec(snap)} vs ${sec(M.baselineA.median)}`
  )
  target(
    `snapshot zstd >= ${L.vsUsual} x faster than baseline B (container tar czf)`,
    M.baselineB.median / snap,
    L.vsUsual,
    M.baselineB.median >= L.vsUsual * snap,
    `${sec(M.baselineB.median)} / ${sec(snap)}`
  )
  if (M.stages?.engineReadZstd) {
    const floor = M.stages.engineReadZstd.median
    target(
      `snapshot zstd <= ${L.vsArchiveStream} x (engine archive read | zstd) (our own overhead)`,
      snap / floor,
      L.vsArchiveStream,
      snap <= L.vsArchiveStream * floor,
      `${sec(snap)} vs ${sec(floor)}`
    )
  }
  const peak = Math.max(
    M.snapshotZstd.rssMaxMiB ?? 0,
    M.restore.rssMaxMiB ?? 0,
    M.snapshotGzip.rssMaxMiB ?? 0
  )
  target(
    `peak RSS of the node process <= ${L.rssMiB} MiB (snapshot and restore)`,
    peak,
    L.rssMiB,
    peak > 0 && peak <= L.rssMiB,
    `max over runs; medians: snapshot ${M.snapshotZstd.rssMiB}, restore ${M.restore.rssMiB} MiB`
  )
  if (M.snapshotZstdSmall) {
    const growth = M.snapshotZstd.rssMiB - M.snapshotZstdSmall.rssMiB
    target(
      `RSS growth ${smallSize} -> ${opts.sizeMib} MiB < ${L.rssGrowthMiB} MiB`,
      growth,
      L.rssGrowthMiB,
      Math.abs(growth) < L.rssGrowthMiB,
      `${M.snapshotZstdSmall.rssMiB} -> ${M.snapshotZstd.rssMiB} MiB (medians)`
    )
  }
  target(
    `restore <= ${L.restoreVsSnapshot} x snapshot (zstd)`,
    M.restore.median / snap,
    L.restoreVsSnapshot,
    M.restore.median <= L.restoreVsSnapshot * snap,
    `${sec(M.restore.median)} vs ${sec(snap)}`
  )
  results.correct = M.restore.correct

  // --- output ---------------------------------------------------------------------------------
  const out = join(tmp, 'bench-results.json')
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  printReport(results, opts, smallSize)
  console.log(`\nresults: ${out}`)
  if (!results.correct) {
    console.log('\nFAIL: a restored volume differs from its source')
    return 1
  }
  const missed = T.filter(t => !t.pass).length
  if (missed && opts.check) return 1
  return 0
}

async function measureStages(M, opts, socket, keep, mountpoint) {
  const carrier = createCarrier(VOLUME, true)
  const url = `http://localhost/containers/${carrier.id}/archive?path=/volume/.`
  const curlRead = `curl -sS -f --unix-socket ${q(socket)} ${q(url)}`
  const S = (M.stages = {})

  const readRuns = await repeat(
    opts.runs,
    'stage: engine archive read -> pipe',
    () => withCpu(() => pipelineRun(`${curlRead} | wc -c`)),
    [mountpoint]
  )
  S.engineRead = summarize(readRuns, { outBytes: readRuns[0].outBytes })
  const readZstdRuns = await repeat(
    opts.runs,
    'stage: engine archive read | zstd -T0 -3',
    () => withCpu(() => pipelineRun(`${curlRead} | zstd -T0 -3 -q -c | wc -c`)),
    [mountpoint]
  )
  S.engineReadZstd = summarize(readZstdRuns, { outBytes: readZstdRuns[0].outBytes })

  // The engine's tar on disk (page cache), for the stages that start from it.
  const tarFile = join(statsDir, 'engine.tar')
  await sh(`${curlRead} > ${q(tarFile)}`)
  carrier.remove()
  const zstdRuns = await repeat(
    opts.runs,
    'stage: zstd -T0 -3 alone (tar file)',
    () => withCpu(() => pipelineRun(`zstd -T0 -3 -q -c < ${q(tarFile)} | wc -c`)),
    [tarFile]
  )
  S.zstdAlone = summarize(zstdRuns, { outBytes: zstdRuns[0].outBytes })

  const stored = join(keep.store, keep.snapshotId, 'volumes', `${VOLUME}.tar.zst`)
  if (existsSync(stored)) {
    const unzstdRuns = await repeat(
      opts.runs,
      'stage: zstd -d alone (stored archive)',
      () => withCpu(() => pipelineRun(`zstd -d -q -c < ${q(stored)} | wc -c`)),
      [stored]
    )
    S.unzstdAlone = summarize(unzstdRuns, { outBytes: unzstdRuns[0].outBytes })
    const shaRuns = await repeat(
      opts.runs,
      'stage: sha256sum alone (stored archive)',
      () => withCpu(() => pipelineRun(`sha256sum < ${q(stored)} | wc -c`)),
      [stored]
    )
    S.sha256Alone = summarize(shaRuns)
  }

  // The JavaScript tar parser the CLI runs on every byte (tar-stream), in this Node.
  const scanScript = join(statsDir, 'tar-scan.mjs')
  writeFileSync(
    scanScript,
    `import { createRequire } from 'node:module'
import { createReadStream } from 'node:fs'
const require = createRequire(${JSON.stringify(join(repo, 'package.json'))})
const { extract } = require('tar-stream')
const x = extract({ highWaterMark: 1024 * 1024 })
let n = 0
x.on('entry', (h, body, next) => { n++; body.on('end', next); body.resume() })
x.on('finish', () => console.log(n))
createReadStream(process.argv[2], { highWaterMark: 1024 * 1024 }).pipe(x)
`
  )
  if (existsSync(join(repo, 'node_modules', 'tar-stream'))) {
    const scanRuns = await repeat(
      opts.runs,
      'stage: tar-stream parse alone (node)',
      () => withCpu(() => run(process.execPath, [scanScript, tarFile])),
      [tarFile]
    )
    S.tarScanAlone = summarize(scanRuns)
  }

  // Writing: the engine unpacking a tar into an empty volume (PUT archive), without us.
  const writeRuns = await repeat(
    opts.runs,
    'stage: engine archive write (PUT) from tar file',
    async i => {
      const volume = `dsbench-stage-w-${process.pid}-${i}`
      docker('volume', 'create', '--label', `${LABEL}.temp=true`, volume)
      // Kept until the end, like the restored volumes.
      onCleanup(`volume ${volume}`, () => dockerQuiet('volume', 'rm', '-f', volume))
      const c = createCarrier(volume, false)
      const putUrl = `http://localhost/containers/${c.id}/archive?path=/volume`
      const r = await withCpu(() =>
        pipelineRun(
          `curl -sS -f --unix-socket ${q(socket)} -X PUT -H 'Content-Type: application/x-tar' ` +
            `-T ${q(tarFile)} ${q(putUrl)} | wc -c`
        )
      )
      c.remove()
      return r
    },
    [tarFile]
  )
  S.engineWrite = summarize(writeRuns)
  rmSync(tarFile, { force: true })
}

function gitDescribe() {
  try {
    return execFileSync('git', ['-C', repo, 'describe', '--always', '--dirty'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore']
    }).trim()
  } catch {
    return null
  }
}

function printReport(results, opts, smallSize) {
  const M = results.measurements
  const S = M.stages ?? {}
  const tarBytes = M.snapshotZstd.tarBytes
  const rate = s => (s && s.median ? (tarBytes / 1e6 / s.median).toFixed(0) : '')
  const outMb = b => (b ? (b / 1e6).toFixed(0) : '')
  const ratio = b => (b ? (tarBytes / b).toFixed(2) : '')
  const f1 = x => (typeof x === 'number' ? x.toFixed(1) : '-')
  const cpu = s => `${f1(s.cpuChildren)} / ${f1(s.cpuDockerd)} / ${f1(s.cpuOther)}`
  const row = (name, s, outBytes, note = '') => [
    name,
    s.runs,
    s.median?.toFixed(2),
    s.best?.toFixed(2),
    rate(s),
    outMb(outBytes),
    ratio(outBytes),
    s.rssMiB ?? '',
    cpu(s),
    note
  ]
  const size = `${opts.sizeMib} MiB`
  const rows = [
    row('host tar -> pipe (floor)', M.hostTar, null),
    row('A: host tar | zstd -T0 -3', M.baselineA, M.baselineA.outBytes),
    row('B: docker run busybox tar czf', M.baselineB, M.baselineB.outBytes),
    row(
      `ours snapshot zstd (${size})`,
      M.snapshotZstd,
      M.snapshotZstd.storedBytes,
      M.snapshotZstd.codec
    ),
    row('ours snapshot gzip', M.snapshotGzip, M.snapshotGzip.storedBytes, M.snapshotGzip.codec)
  ]
  if (M.snapshotZstdSmall) {
    const s = M.snapshotZstdSmall
    rows.push([
      `ours snapshot zstd (${smallSize} MiB)`,
      s.runs,
      s.median.toFixed(2),
      s.best.toFixed(2),
      (s.tarBytes / 1e6 / s.median).toFixed(0),
      outMb(s.storedBytes),
      (s.tarBytes / s.storedBytes).toFixed(2),
      s.rssMiB,
      cpu(s),
      'memory scaling'
    ])
  }
  const st = M.restore.steps
  rows.push(
    row(
      'ours restore',
      M.restore,
      null,
      `verify ${st.verify} s, volumes ${st.volumes} s; ${M.restore.correct ? 'content OK' : 'CONTENT DIFFERS'}`
    )
  )
  if (S.engineRead) {
    rows.push(
      row('stage: engine archive read', S.engineRead, null),
      row('stage: engine read | zstd -T0 -3', S.engineReadZstd, S.engineReadZstd.outBytes),
      row('stage: zstd -T0 -3 alone', S.zstdAlone, S.zstdAlone.outBytes)
    )
    if (S.unzstdAlone) rows.push(row('stage: zstd -d alone', S.unzstdAlone, null))
    if (S.sha256Alone) rows.push(row('stage: sha256sum of archive', S.sha256Alone, null))
    if (S.tarScanAlone) rows.push(row('stage: tar-stream parse (node)', S.tarScanAlone, null))
    rows.push(row('stage: engine archive write', S.engineWrite, null))
  }
  const e = results.environment
  console.log(
    `\ndocker-snapshot bench: ${size} (${(tarBytes / 1e6).toFixed(0)} MB of tar), ` +
      `${opts.runs} run(s), warm cache; node ${e.node}, ${e.cpus} cpus, engine ${e.engine}\n`
  )
  console.log(
    table(rows, [
      'measurement',
      'runs',
      'median s',
      'best s',
      'MB/s',
      'out MB',
      'ratio',
      'RSS MiB',
      'CPU s ours/engine/other',
      'note'
    ])
  )
  console.log(
    '\nMB/s: tar bytes per second (median). RSS: peak resident set (VmHWM) of the node process, ' +
      'median of runs.\nCPU (medians, seconds): ours = the processes the bench started (node + ' +
      'zstd; tar + zstd; curl + zstd; the docker CLI) / engine = dockerd\nand its children / ' +
      'other = the rest of the machine meanwhile (containerd, container processes, other work).'
  )
  if (M.snapshotZstd.treeMaxRssMiB !== null) {
    console.log(
      `GNU time max RSS of any process in the snapshot run (node or zstd): ${M.snapshotZstd.treeMaxRssMiB} MiB`
    )
  }
  const rising = runs =>
    runs.length >= 3 &&
    runs.every((x, i) => i === 0 || x > runs[i - 1]) &&
    runs.at(-1) > 1.3 * runs[0]
  if (rising(M.restore.all) || rising(S.engineWrite?.all ?? [])) {
    console.log(
      '\nnote: restore / engine write times rise from run to run. On ext4 that is what many ' +
        'files deleted in the last minutes do\n(inode allocation skips recently deleted ' +
        'inodes): e.g. a bench run just before this one. Rerun after ~10 minutes.'
    )
  }
  console.log('\ntargets:')
  for (const t of results.targets) {
    console.log(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${t.value} (${t.detail})`)
  }
}

if (!isMainThread) {
  // The log generator of generateData.
  parentPort.postMessage(writeLogs(workerData.root, workerData.sizeMib))
} else {
  main().then(
    code => {
      cleanupAll()
      process.exitCode = code
    },
    error => {
      cleanupAll()
      if (error instanceof BenchError) fail(error.message)
      console.error(error)
      process.exit(1)
    }
  )
}
