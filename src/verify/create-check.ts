/**
 * What the engine refuses at container create, checked without asking it: the combinations
 * Engine API 1.41 answers "conflicting options" (or "invalid") to. Verify runs it on every
 * recorded container, so a snapshot that cannot be created again fails verify, not the restore.
 */
import type { ContainerCreateSpec } from '../docker/types.js'

const RESTART_POLICIES = new Set(['', 'no', 'always', 'unless-stopped', 'on-failure'])

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0)
    return false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value === 'object') return Object.keys(value).length > 0
  return true
}

/** Each reason the engine would refuse `spec`, in words a user can act on; empty when none. */
export function createConflicts(spec: ContainerCreateSpec): string[] {
  const host = (spec.HostConfig ?? {}) as Record<string, unknown>
  const mode = typeof host.NetworkMode === 'string' ? host.NetworkMode : ''
  const shared = mode.startsWith('container:')
  const conflicts: string[] = []
  const refuse = (field: string, with_: string) =>
    conflicts.push(`${field} cannot be set with ${with_} (the engine refuses it)`)

  if (mode === 'container:') conflicts.push("network mode 'container:' names no container")
  if (shared) {
    const sharing = `network mode ${mode}`
    if (present(spec.Hostname)) refuse('Hostname', sharing)
    if (present(spec.Domainname)) refuse('Domainname', sharing)
    if (present(spec.MacAddress)) refuse('MacAddress', sharing)
    if (present(spec.ExposedPorts)) refuse('ExposedPorts', sharing)
    for (const field of ['Links', 'Dns', 'ExtraHosts', 'PortBindings', 'PublishAllPorts']) {
      if (present(host[field])) refuse(`HostConfig.${field}`, sharing)
    }
  }
  if (mode === 'host') {
    if (present(spec.MacAddress)) refuse('MacAddress', 'network mode host')
    if (present(host.Links)) refuse('HostConfig.Links', 'network mode host')
  }
  const restart = (host.RestartPolicy ?? {}) as { Name?: unknown; MaximumRetryCount?: unknown }
  const policy = typeof restart.Name === 'string' ? restart.Name : ''
  if (!RESTART_POLICIES.has(policy))
    conflicts.push(`restart policy '${policy}' is not one the engine knows`)
  if (host.AutoRemove === true && policy !== '' && policy !== 'no') {
    refuse('HostConfig.AutoRemove', `restart policy ${policy}`)
  }
  if (present(restart.MaximumRetryCount) && policy !== 'on-failure') {
    refuse('a maximum retry count', `restart policy ${policy || 'no'}`)
  }
  if (
    typeof spec.WorkingDir === 'string' &&
    spec.WorkingDir !== '' &&
    !spec.WorkingDir.startsWith('/')
  ) {
    conflicts.push(`WorkingDir '${spec.WorkingDir}' is not an absolute path`)
  }
  return conflicts
}
