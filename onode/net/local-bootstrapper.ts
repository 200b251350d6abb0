/** Which of a topology's bootstrappers this process is: the one with --address, else the one with an address here. */
import { networkInterfaces } from 'node:os';
import type { Topology, TopologyNode } from '../config/topology.ts';
import { NodeStartError } from './bootstrap-link.ts';

/**
 * The topology node this bootstrapper process runs. With one bootstrapper it is that one (and
 * --address, if given, must be one of its addresses); with several, the one whose addresses hold
 * `address`, or without it the one with an address on this host's interfaces.
 * @throws NodeStartError when none fits
 */
export function localBootstrapper(
  topo: Topology,
  address: string | undefined,
  hostAddresses: () => readonly string[] = ownAddresses,
): TopologyNode {
  const listed = topo.bootstrappers.flatMap((name) => topo.nodes.get(name) ?? []);
  const names = topo.bootstrappers.join(', ');
  if (listed.length <= 1) {
    const me = listed[0];
    if (me === undefined) throw new NodeStartError(`bootstrapper ${topo.bootstrapper} is not in ${topo.source}`);
    if (address !== undefined && !me.addresses.includes(address)) {
      throw new NodeStartError(
        `--address ${address} is not an address of the bootstrapper ${me.name} in ${topo.source} ` +
          `(it has ${me.addresses.join(', ')})`,
      );
    }
    return me;
  }
  if (address !== undefined) {
    const me = listed.find((n) => n.addresses.includes(address));
    if (me === undefined) {
      throw new NodeStartError(
        `--address ${address} is not an address of any bootstrapper (${names}) in ${topo.source}; ` +
          'give one of theirs, or start this server with --bootstrapper ADDRESS,... (it is not one of them)',
      );
    }
    return me;
  }
  const here = new Set(hostAddresses());
  const me = listed.find((n) => n.addresses.some((a) => here.has(a)));
  if (me === undefined) {
    throw new NodeStartError(
      `none of the bootstrappers of ${topo.source} (${names}) has an address on this host; ` +
        'give --address with the one this process is',
    );
  }
  return me;
}

function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}
