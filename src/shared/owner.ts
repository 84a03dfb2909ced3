/**
 * Who a run is, for the marks it leaves behind (carrier containers, holds on containers,
 * snapshots being written, holds on a store): `host:pid`. A later process tells a dead run's
 * marks from a live one's by it; a hold also records the process's start time, against a reused
 * pid.
 */
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'

/** A process of a host. */
export interface RunOwner {
  host: string
  pid: number
  /** When the process started (clock ticks since boot, from /proc), to tell a reused pid apart. */
  processStart?: string
}

/** `host:pid`, the value of the carrier label and of a hold's owner label. */
export function ownerLabel(owner: RunOwner): string {
  return `${owner.host}:${owner.pid}`
}

/** The owner named by `host:pid`, or undefined when the label is not of that form. */
export function parseOwner(label: string, processStart?: string): RunOwner | undefined {
  const match = /^(.+):(\d+)$/.exec(label)
  if (!match) return undefined
  return { host: match[1], pid: Number(match[2]), ...(processStart && { processStart }) }
}

/** Field 22 of /proc/PID/stat (the start time), read after the command name's closing `)`. */
export function startTimeFromStat(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // Fields after the name start at field 3 (state); the start time is field 22.
  const start = fields[22 - 3]
  return start && /^\d+$/.test(start) ? start : undefined
}

/** What this host can tell about its processes; tests pass their own. */
export interface ProcessProbe {
  /** Whether a process of that pid exists (it may belong to another user). */
  exists(pid: number): boolean
  /** Its start time, when the host says (Linux); undefined elsewhere. */
  startTime(pid: number | 'self'): string | undefined
}

export const hostProcesses: ProcessProbe = {
  exists(pid) {
    try {
      process.kill(pid, 0)
      return true
    } catch (error) {
      // EPERM: it exists, but is not ours to signal.
      return (error as NodeJS.ErrnoException).code === 'EPERM'
    }
  },
  startTime(pid) {
    try {
      return startTimeFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    } catch {
      return undefined
    }
  }
}

/** This process. */
export const thisRun: RunOwner = (() => {
  const processStart = hostProcesses.startTime('self')
  return { host: hostname(), pid: process.pid, ...(processStart && { processStart }) }
})()

/**
 * `self`: this process. `alive`: another process of this host that still runs. `dead`: a process
 * of this host that has ended (its pid is gone, or now belongs to a process started at another
 * time). `unknown`: a process of another host, which this one cannot see.
 */
export type Liveness = 'self' | 'alive' | 'dead' | 'unknown'

export function livenessOf(
  owner: RunOwner,
  self: RunOwner = thisRun,
  probe: ProcessProbe = hostProcesses
): Liveness {
  if (owner.host !== self.host) return 'unknown'
  if (owner.pid === self.pid && owner.processStart === self.processStart) return 'self'
  if (!probe.exists(owner.pid)) return 'dead'
  if (owner.processStart) {
    const now = probe.startTime(owner.pid)
    if (now && now !== owner.processStart) return 'dead'
  }
  return 'alive'
}

/** This process, as `host:pid`. */
export const processOwner = ownerLabel(thisRun)

/**
 * Whether the process `owner` (`host:pid`) names may still run. Only a process of this host can
 * be checked; one of another host counts as alive, since nothing here can tell.
 */
export function ownerAlive(owner: string): boolean {
  const parsed = parseOwner(owner)
  return parsed === undefined || livenessOf(parsed) !== 'dead'
}
