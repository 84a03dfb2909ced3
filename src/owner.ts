/**
 * Who a run is, for the marks it leaves behind (carrier containers, snapshots being written,
 * holds on a store): `host:pid`. A later process tells a dead run's marks from a live one's by it.
 */
import { hostname } from 'node:os'

/** This process, as `host:pid`. */
export const processOwner = `${hostname()}:${process.pid}`

/**
 * Whether the process `owner` names may still run. Only a process of this host can be checked;
 * one of another host counts as alive, since nothing here can tell.
 */
export function ownerAlive(owner: string): boolean {
  const separator = owner.lastIndexOf(':')
  const pid = Number(owner.slice(separator + 1))
  if (separator < 0 || owner.slice(0, separator) !== hostname() || !Number.isInteger(pid)) {
    return true
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return !(error instanceof Error && 'code' in error && error.code === 'ESRCH')
  }
}
