import type { NetworkCreateSpec, NetworkDetails } from './types.js'
import { HelperCalls } from './helpers.js'

export type { PathKind } from './carriers.js'
export { CARRIER_IMAGE, carrierOwner } from './carriers.js'

/**
 * The only code that talks to the Docker engine, built in layers, one file a concern, each
 * adding its calls to those below: the connection and `call` (engine-calls.ts), containers,
 * images, carriers (carriers.ts), volumes, helper containers (helpers.ts), and here networks. Every request goes through
 * `call`, which logs it and turns the engine's failures into typed errors that name the object
 * and the next step.
 */
export class Engine extends HelperCalls {
  findNetwork(name: string): Promise<NetworkDetails | undefined> {
    return this.unlessMissing(() =>
      this.call(`inspect network ${name}`, () => this.docker.getNetwork(name).inspect())
    )
  }

  async createNetwork(spec: NetworkCreateSpec): Promise<string> {
    const network = await this.call(`create network ${spec.Name}`, () =>
      this.docker.createNetwork({ ...spec, CheckDuplicate: true })
    )
    return network.id
  }

  async connectNetwork(
    network: string,
    container: string,
    endpoint: { aliases: string[]; ipv4Address?: string; ipv6Address?: string }
  ): Promise<void> {
    const ipam =
      endpoint.ipv4Address || endpoint.ipv6Address
        ? { IPv4Address: endpoint.ipv4Address, IPv6Address: endpoint.ipv6Address }
        : undefined
    await this.call(`connect container ${container} to network ${network}`, () =>
      this.docker.getNetwork(network).connect({
        Container: container,
        EndpointConfig: { Aliases: endpoint.aliases, IPAMConfig: ipam }
      })
    )
  }

  async removeNetwork(name: string): Promise<void> {
    await this.call(`remove network ${name}`, () => this.docker.getNetwork(name).remove())
  }
}
