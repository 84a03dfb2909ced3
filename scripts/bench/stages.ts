// The stages of a snapshot and a restore alone, through the project's own engine boundary and
// archive streams: engine archive read (and through zstd), zstd, zstd -d, sha256, the tar scan,
// and engine archive write.
import { createWriteStream, lstatSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { withCpu } from './cpu.js'
import type { Cleanups } from './process.js'
import {
  createDecompressor,
  DigestCounter,
  resolveCompression,
  rootEntryTar,
  DirectoryStore,
  TarScanner,
  type Engine
} from './project.js'
import { repeat } from './repeat.js'
import { countThrough, readFile } from './streams.js'
import { summarize, type Run, type Summary } from './stats.js'
import { createVolume, removeRunVolume, TEMP_LABEL } from './volumes.js'

export interface Stages {
  engineRead: Summary
  engineReadZstd: Summary
  zstdAlone: Summary
  unzstdAlone: Summary
  sha256Alone: Summary
  tarScanAlone: Summary
  engineWrite: Summary
}

export interface StageContext {
  engine: Engine
  cleanups: Cleanups
  dockerdPid: number | null
  runs: number
  workDir: string
}

/** The measured source: a data volume and the snapshot of it that the bench kept. */
export interface StageSource {
  volume: string
  mountpoint: string
  store: string
  snapshotId: string
}

/** The CLI's own zstd (the binary at -T0 -3 when present), as a fresh compressing stream. */
async function zstd() {
  const codec = await resolveCompression('zstd')
  return codec.compress()
}

/** What a stage's run saw; `seconds` when it times only part of its work (the stream itself). */
interface StageResult {
  outBytes: number | null
  seconds?: number
}

const since = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9

/** Runs `measure` `runs` times with CPU accounting. */
async function stage(
  context: StageContext,
  label: string,
  warm: string[],
  measure: (i: number) => Promise<StageResult>
): Promise<Summary> {
  const timed = async (i: number): Promise<Run> => {
    const started = process.hrtime.bigint()
    const { outBytes, seconds = since(started) } = await measure(i)
    return { seconds, outBytes }
  }
  const runs = await repeat(
    context.runs,
    label,
    i => withCpu(context.dockerdPid, () => timed(i)),
    warm
  )
  return summarize(runs)
}

/**
 * Engine archive write: unpacks `tarFile` into a new empty volume, kept until the end. Timed
 * from the engine's first read of the tar (the volume and the carrier exist by then) to the end
 * of the write, which includes setting the root entry and removing the carrier.
 */
async function writeToNewVolume(
  context: StageContext,
  tarFile: string,
  i: number
): Promise<StageResult> {
  const { engine, cleanups } = context
  const volume = `dsbench-stage-w-${process.pid}-${i}`
  await createVolume(engine, volume, TEMP_LABEL)
  // Kept until the end, like the restored volumes (see restoreOnce).
  cleanups.add(`volume ${volume}`, () => removeRunVolume(engine, volume))
  const st = lstatSync(tarFile)
  const root = { uid: st.uid, gid: st.gid, mode: 0o755, mtime: Math.floor(st.mtimeMs / 1000) }
  const tar = readFile(tarFile)
  let started = process.hrtime.bigint()
  tar.once('resume', () => (started = process.hrtime.bigint()))
  await engine.writeVolume(volume, tar, rootEntryTar(root, 'volume'))
  return { outBytes: null, seconds: since(started) }
}

/** Engine archive read, alone and through zstd; then the engine's tar on disk (page cache). */
async function readStages(context: StageContext, source: StageSource, tarFile: string) {
  const { engine } = context
  const warm = [source.mountpoint]
  // Timed from the archive's response to its last byte: the carrier's creation and removal
  // around it are not part of the stream.
  const read = (filters: () => Promise<Duplex[]>) => () =>
    engine.readVolume(source.volume, async tar => {
      const started = process.hrtime.bigint()
      const outBytes = await countThrough(tar, await filters())
      return { outBytes, seconds: since(started) }
    })
  const engineRead = await stage(
    context,
    'stage: engine archive read',
    warm,
    read(async () => [])
  )
  const withZstd = read(async () => [await zstd()])
  const engineReadZstd = await stage(context, 'stage: engine archive read | zstd', warm, withZstd)
  await engine.readVolume(source.volume, tar => pipeline(tar, createWriteStream(tarFile)))
  return { engineRead, engineReadZstd }
}

export async function measureStages(context: StageContext, source: StageSource): Promise<Stages> {
  const tarFile = join(context.workDir, 'engine.tar')
  const { engineRead, engineReadZstd } = await readStages(context, source, tarFile)
  const stored = await new DirectoryStore(source.store).pathOf(
    source.snapshotId,
    `volumes/${source.volume}.tar.zst`
  )
  const fromTar = [tarFile]
  const result: Stages = {
    engineRead,
    engineReadZstd,
    zstdAlone: await stage(context, 'stage: zstd alone (tar file)', fromTar, async () => ({
      outBytes: await countThrough(readFile(tarFile), [await zstd()])
    })),
    unzstdAlone: await stage(
      context,
      'stage: zstd -d alone (stored archive)',
      [stored],
      async () => ({
        outBytes: await countThrough(readFile(stored), [createDecompressor('zstd')])
      })
    ),
    sha256Alone: await stage(
      context,
      'stage: sha256 alone (stored archive)',
      [stored],
      async () => ({
        outBytes: await countThrough(readFile(stored), [new DigestCounter()])
      })
    ),
    tarScanAlone: await stage(context, 'stage: tar scan alone (TarScanner)', fromTar, async () => {
      await pipeline(readFile(tarFile), new TarScanner('The bench tar', 'snapshot'))
      return { outBytes: null }
    }),
    engineWrite: await stage(context, 'stage: engine archive write from tar file', fromTar, i =>
      writeToNewVolume(context, tarFile, i)
    )
  }
  rmSync(tarFile, { force: true })
  return result
}
