// The bench's data volumes, kept between runs, and the comparison of a restored volume with them.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync
} from 'node:fs'
import { join } from 'node:path'
import { NotFoundError, type Engine } from './project.js'
import { BenchError, log, sleep } from './process.js'
import { mb } from './stats.js'
import { generateDataSet, type DataSetStats } from './workload/data-set.js'

/** Bumped whenever the data set changes, so that an older volume is regenerated. */
const DATA_VERSION = 2
/** The volume of the full-size data set. */
export const DATA_VOLUME = 'dsbench-data'
/** Label of the data volumes (`=true`); `<label>.temp=true` marks what a run removes again. */
export const LABEL = 'dsbench.data'
export const TEMP_LABEL = `${LABEL}.temp`
/** The file in a data volume that says which data set it holds. */
const MARKER = '.dsbench.json'

export interface DataMarker extends Partial<DataSetStats> {
  version: number
  sizeMib: number
  created?: string
  syncSeconds?: number
}

export interface DataVolume {
  name: string
  mountpoint: string
  reused: boolean
  marker: DataMarker
}

/** What a volume holds: entry count, file bytes, and a digest over every entry's metadata. */
export interface TreeDescription {
  entries: number
  fileBytes: number
  digest: string
}

function readMarker(mountpoint: string): DataMarker | null {
  try {
    return JSON.parse(readFileSync(join(mountpoint, MARKER), 'utf8')) as DataMarker
  } catch {
    return null
  }
}

/** The mountpoint of `name` when it already holds the data set of `sizeMib`. */
async function reusable(engine: Engine, name: string, sizeMib: number): Promise<DataVolume | null> {
  const existing = await engine.findVolume(name)
  if (!existing) return null
  const marker = readMarker(existing.Mountpoint)
  if (marker?.version === DATA_VERSION && marker.sizeMib === sizeMib) {
    return { name, mountpoint: existing.Mountpoint, reused: true, marker }
  }
  log(
    `${name} holds ${marker ? `another data set (${JSON.stringify(marker)})` : 'no data set of this bench'}; recreating it`
  )
  return null
}

/** Removes `name` if it exists, refusing a volume this bench did not make. */
async function removeDataVolume(engine: Engine, name: string): Promise<void> {
  const existing = await engine.findVolume(name)
  if (!existing) return
  if (existing.Labels?.[LABEL] !== 'true') {
    throw new BenchError(
      `volume ${name} exists and was not made by this bench (no label ${LABEL}=true); ` +
        'remove it yourself or rename it'
    )
  }
  await engine.removeVolume(name)
}

export async function createVolume(engine: Engine, name: string, label: string): Promise<string> {
  await engine.createVolume({
    name,
    driver: 'local',
    driverOptions: {},
    labels: { [label]: 'true' }
  })
  const { Mountpoint } = await engine.inspectVolume(name)
  return Mountpoint
}

/** Makes sure `name` holds the data set of `sizeMib`; returns its mountpoint and how it came. */
export async function ensureDataVolume(
  engine: Engine,
  name: string,
  sizeMib: number,
  fresh: boolean
): Promise<DataVolume> {
  const kept = fresh ? null : await reusable(engine, name, sizeMib)
  if (kept) return kept
  await removeDataVolume(engine, name)
  const mountpoint = await createVolume(engine, name, LABEL)
  if (!existsSync(mountpoint)) {
    throw new BenchError(
      `the mountpoint of ${name} (${mountpoint}) is not visible here: the bench needs a local ` +
        'engine and the local volume driver'
    )
  }
  log(`generating ${sizeMib} MiB into ${name} (${mountpoint})`)
  const stats = await generateDataSet(mountpoint, sizeMib)
  const synced = Date.now()
  execFileSync('sync')
  const syncSeconds = (Date.now() - synced) / 1000
  const marker = {
    version: DATA_VERSION,
    sizeMib,
    created: new Date().toISOString(),
    ...stats,
    syncSeconds
  }
  writeFileSync(join(mountpoint, MARKER), JSON.stringify(marker) + '\n')
  log(
    `generated ${name} in ${stats.seconds.toFixed(1)} s (+ ${syncSeconds.toFixed(1)} s sync): ` +
      `${mb(stats.randomBytes)} random, ${mb(stats.logBytes)} logs, ` +
      `${stats.jsonFiles} JSON files (${mb(stats.jsonBytes)})`
  )
  return { name, mountpoint, reused: false, marker }
}

/**
 * Removes a volume a run made (a restored or a stage volume), if it exists. A carrier that an
 * interrupted copy left may still be being removed: wait up to 10 s for the volume to be free.
 */
export async function removeRunVolume(engine: Engine, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await engine.removeVolume(name)
    } catch (error) {
      if (error instanceof NotFoundError) return
      if (attempt === 20 || !/in use/.test(String((error as Error).message))) throw error
      await sleep(500)
    }
  }
}

/** Removes every volume and leftover container of this bench (`--clean`). */
export async function removeBenchObjects(engine: Engine): Promise<string[]> {
  const leftovers = await engine.listContainers({ label: [`${TEMP_LABEL}=true`] })
  for (const container of leftovers) await engine.removeContainer(container.Id, { force: true })
  const volumes = await engine.listVolumes({ label: [`${LABEL}=true`] })
  for (const volume of volumes) await engine.removeVolume(volume.Name)
  return volumes.map(volume => volume.Name)
}

/** One entry's line in the tree digest: path, type, size, mode, owner, mtime and link target. */
function entryLine(root: string, path: string): { line: string; size: number; isDir: boolean } {
  const st = lstatSync(join(root, path))
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o'
  const link = type === 'l' ? readlinkSync(join(root, path)) : ''
  const size = type === 'f' ? st.size : 0
  const mtime = type === 'd' ? '' : Math.floor(st.mtimeMs / 1000)
  const fields = [path, type, size, st.mode, st.uid, st.gid, mtime, link]
  return { line: fields.join('\0') + '\n', size, isDir: type === 'd' }
}

/** What a volume directory holds, for comparing a restore with its source. */
export function describeTree(root: string): TreeDescription {
  const hash = createHash('sha256')
  const tree = { entries: 0, fileBytes: 0 }
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`
      const entry = entryLine(root, path)
      hash.update(entry.line)
      tree.entries++
      tree.fileBytes += entry.size
      if (entry.isDir) walk(path)
    }
  }
  walk('')
  return { ...tree, digest: hash.digest('hex') }
}
