/**
 * Helper containers: short-lived containers of an image imported from this host's own tools,
 * which run next to the data (a volume copy) and are removed whatever happens.
 */
import type { Readable } from 'node:stream'
import { describeError } from '../shared/errors.js'
import { CARRIER_LABEL, carrierOwner } from './carriers.js'
import { followProgress, upload } from './engine-calls.js'
import type { ContainerCreateSpec } from './types.js'
import { VolumeCalls } from './volumes.js'

/** The text of a non-TTY container's log buffer: 8-byte frame headers stripped. */
function demuxed(logs: Buffer): string {
  const parts: Buffer[] = []
  for (let at = 0; at + 8 <= logs.length;) {
    const size = logs.readUInt32BE(at + 4)
    parts.push(logs.subarray(at + 8, at + 8 + size))
    at += 8 + size
  }
  return Buffer.concat(parts).toString('utf8')
}

/** Imported images and helper containers: the layer of the Engine above volumes. */
export class HelperCalls extends VolumeCalls {
  /** Imports a root filesystem tar as image `repo:tag` (nothing is pulled). */
  async importImage(rootfs: Readable, repo: string, tag: string): Promise<void> {
    await this.call(`import ${repo}:${tag}`, async () => {
      const stream = await upload(rootfs, signal =>
        this.docker.importImage(rootfs, { repo, tag, abortSignal: signal })
      )
      await followProgress(stream, `import ${repo}:${tag}`)
    })
  }

  /**
   * Runs a short-lived helper container to its end and removes it whatever happens; resolves
   * with its exit code and its output (stdout and stderr, the last 64 KiB). It carries the
   * carrier label, so a killed run's helper is removed like a carrier. `signal` kills it.
   */
  async runHelper(
    spec: ContainerCreateSpec,
    signal?: AbortSignal
  ): Promise<{ exitCode: number; output: string }> {
    const labels = { ...(spec.Labels as Record<string, string>), [CARRIER_LABEL]: carrierOwner }
    const id = await this.createContainer({ ...spec, Labels: labels })
    const container = this.docker.getContainer(id)
    const kill = () => void container.kill().catch(() => undefined)
    signal?.addEventListener('abort', kill, { once: true })
    try {
      await this.call(`start helper ${spec.name}`, () => container.start())
      const waited = (await this.call(`wait for helper ${spec.name}`, () => container.wait())) as {
        StatusCode?: number
      }
      signal?.throwIfAborted()
      const logs = await this.call(`read output of helper ${spec.name}`, () =>
        container.logs({ stdout: true, stderr: true, follow: false, tail: 200 })
      )
      return { exitCode: waited.StatusCode ?? -1, output: demuxed(logs).slice(-65536) }
    } finally {
      signal?.removeEventListener('abort', kill)
      await this.removeContainer(id, { force: true }).catch((error: unknown) => {
        this.log.warn(`could not remove helper container ${id}: ${describeError(error)}`)
      })
    }
  }
}
