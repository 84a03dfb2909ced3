// The measurements without docker-snapshot: the host's tar (the physical floor) and the usual
// backup way (a helper container running `tar czf`).
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COPY_TOOLS, ensureToolImage, type Engine } from './project.js'
import { withCpu } from './cpu.js'
import { sh, type Cleanups } from './process.js'
import { repeat } from './repeat.js'
import { summarize, type Run, type Summary } from './stats.js'
import { TEMP_LABEL } from './volumes.js'

/** Host tar of the volume directory `$1`, bytes counted. */
const HOST_TAR = 'tar -C "$1" -cf - . | wc -c'
/** Host tar of `$1` through zstd as the CLI runs it (-T0 -3), compressed bytes counted. */
const HOST_TAR_ZSTD = 'tar -C "$1" -cf - . | zstd -T0 -3 -q -c | wc -c'
/** Run in the helper container: the usual backup of the volume mounted at /data. */
const CONTAINER_TAR_CZF = 'tar czf - -C /data . | wc -c'
/** Run in docker-snapshot's copy helper: what its snapshot does, without listing or hashing. */
const CONTAINER_TAR_ZSTD = 'tar -C /data -cf - . | zstd -T0 -3 -q -o /out/v.tar.zst'
/** The helper container's image (scripts/images.sh builds it). */
export const HELPER_IMAGE = 'docker-snapshot-test/busybox:1'

export interface Baselines {
  hostTar: Summary
  baselineA: Summary
  baselineB: Summary
  baselineC: Summary
}

export interface BaselineContext {
  engine: Engine
  cleanups: Cleanups
  dockerdPid: number | null
  runs: number
}

/** Runs a host pipeline that ends in `wc -c`: its wall time and the byte count. */
async function hostPipeline(script: string, args: string[]): Promise<Run> {
  const r = await sh(script, args)
  return { seconds: r.seconds, outBytes: Number(r.stdout.trim()) }
}

/**
 * What `docker run --rm -v VOLUME:/data:ro busybox tar czf - -C /data . | wc -c` costs, through
 * the engine boundary: create, start, the tar in it, remove.
 */
async function containerTarCzf(context: BaselineContext, volume: string): Promise<Run> {
  const { engine, cleanups } = context
  const started = process.hrtime.bigint()
  const id = await engine.createContainer({
    name: `dsbench-b-${process.pid}-${Date.now().toString(36)}`,
    Image: HELPER_IMAGE,
    Cmd: ['sleep', '3600'],
    Labels: { [TEMP_LABEL]: 'true' },
    HostConfig: { Binds: [`${volume}:/data:ro`], NetworkMode: 'none' }
  })
  const remove = cleanups.add(`container ${id}`, () => engine.removeContainer(id, { force: true }))
  await engine.startContainer(id)
  const { exitCode, output } = await engine.exec(id, ['sh', '-c', CONTAINER_TAR_CZF], 3_600_000)
  await remove()
  if (exitCode !== 0) throw new Error(`tar czf in ${HELPER_IMAGE} failed (${exitCode}): ${output}`)
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    outBytes: Number(output.trim())
  }
}

/**
 * What a container of the copy helper's image (the host's own tar and zstd) costs running
 * `tar | zstd -T0 -3` into a host folder: create, start, the copy, remove.
 */
async function containerTarZstd(context: BaselineContext, volume: string): Promise<Run> {
  const image = await ensureToolImage(context.engine, COPY_TOOLS)
  const out = mkdtempSync(join(tmpdir(), 'dsbench-c-'))
  const remove = context.cleanups.add(`directory ${out}`, () => rmSync(out, { recursive: true }))
  const started = process.hrtime.bigint()
  const { exitCode, output } = await context.engine.runHelper({
    name: `dsbench-c-${process.pid}-${Date.now().toString(36)}`,
    Image: image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [CONTAINER_TAR_ZSTD],
    Labels: { [TEMP_LABEL]: 'true' },
    HostConfig: { Binds: [`${volume}:/data:ro`, `${out}:/out`], NetworkMode: 'none' }
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  if (exitCode !== 0) throw new Error(`tar | zstd in ${image} failed (${exitCode}): ${output}`)
  const outBytes = statSync(join(out, 'v.tar.zst')).size
  await remove()
  return { seconds, outBytes }
}

export async function measureBaselines(
  context: BaselineContext,
  source: { name: string; mountpoint: string }
): Promise<Baselines> {
  const { runs, dockerdPid } = context
  const warm = [source.mountpoint]
  const host = (script: string) => () =>
    withCpu(dockerdPid, () => hostPipeline(script, [source.mountpoint]))
  const hostTar = await repeat(runs, 'host tar -> pipe', host(HOST_TAR), warm)
  const a = await repeat(runs, 'baseline A: host tar | zstd -T0 -3', host(HOST_TAR_ZSTD), warm)
  const b = await repeat(
    1,
    'baseline B: busybox container tar czf',
    () => withCpu(dockerdPid, () => containerTarCzf(context, source.name)),
    warm
  )
  const c = await repeat(
    runs,
    'baseline C: helper container tar | zstd -T0 -3',
    () => withCpu(dockerdPid, () => containerTarZstd(context, source.name)),
    warm
  )
  return {
    hostTar: summarize(hostTar),
    baselineA: summarize(a),
    baselineB: summarize(b),
    baselineC: summarize(c)
  }
}
