import type { NetworkCreateSpec } from '../docker/types.js'
import type { NetworkRecord } from '../manifest/manifest.js'
import type { NameMap } from './names.js'

/** The engine create body of a restored network: driver, options, labels, flags and IPAM. */
export function networkCreateSpec(
  record: NetworkRecord,
  target: string,
  names: NameMap,
  withAddressing = true
): NetworkCreateSpec {
  return {
    Name: target,
    Driver: record.driver,
    Internal: record.internal,
    Attachable: record.attachable,
    EnableIPv6: record.enableIPv6,
    Labels: names.labels(record.labels) ?? {},
    Options: record.options,
    IPAM: {
      Driver: record.ipam.driver,
      Options: record.ipam.options,
      Config: withAddressing
        ? record.ipam.config.map(entry => ({
            Subnet: entry.subnet,
            IPRange: entry.ipRange,
            Gateway: entry.gateway
          }))
        : []
    }
  }
}

/**
 * Whether the engine refused a network because its subnet is taken (typically by the original
 * network, when restoring beside it).
 */
export function isAddressConflict(message: string): boolean {
  return /pool overlaps|overlaps with|conflicts with network|address already in use/i.test(message)
}
