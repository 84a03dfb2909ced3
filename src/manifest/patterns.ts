/** The forms of the names, ids and times a manifest holds, as JSON schema patterns. */

/** The engine's rule for container, volume and network names (ids are such names too). */
export const ENGINE_NAME = '[a-zA-Z0-9][a-zA-Z0-9_.-]*'
export const ENGINE_NAME_PATTERN = `^${ENGINE_NAME}$`

/** A snapshot id: also a directory name and an OCI tag, so lowercase and no path separators. */
export const SNAPSHOT_ID_PATTERN = '^[a-z0-9][a-z0-9._-]{0,127}$'

/**
 * An object name inside a snapshot: a relative path of non-empty segments, none of them `.` or
 * `..`, without backslashes or control characters, e.g. `volumes/pgdata.tar.zst`.
 */
export const OBJECT_NAME_PATTERN =
  '^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[^/\\\\\\u0000-\\u001f]+(?:/[^/\\\\\\u0000-\\u001f]+)*$'

export const SHA256_HEX_PATTERN = '^[a-f0-9]{64}$'
/** An image id or a registry digest. */
export const SHA256_DIGEST_PATTERN = '^sha256:[a-f0-9]{64}$'
export const CONTAINER_ID_PATTERN = '^[a-f0-9]{64}$'
export const ISO_TIME_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$'
const IPV4_OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
export const IPV4_PATTERN = `^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`
export const IPV6_PATTERN = '^[0-9a-fA-F.]*:[0-9a-fA-F:.]*$'
