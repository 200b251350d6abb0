/**
 * Runs a topology on one machine: every address A.B.C.D becomes 127.B.C.D, so each node keeps
 * a distinct address of its own on the loopback interface and the same file works in an
 * emulator and on a laptop.
 */
import type { NetworkRouter, Topology, TopologyClient, TopologyNode } from './topology-model.ts';
import { TopologyError } from './topology-error.ts';
import { at } from './topology-fields.ts';
import { lastOctet, toLoopback } from './topology-ipv4.ts';
import { routerWhere } from './topology-network.ts';
import { clientWhere, nodeWhere } from './topology-validate.ts';

/**
 * The same topology with every node, link and client address mapped by toLoopback.
 * @throws TopologyError if two different addresses map to the same loopback address.
 */
export function loopbackTopology(topo: Topology): Topology {
  const addressesField = topo.format === 'legacy' ? 'names' : 'addresses';
  const claimed = new Map<string, { original: string; owner: string }>();
  const warnings: string[] = [];
  const map = (address: string, owner: string, field: string): string => {
    const mapped = toLoopback(address);
    const earlier = claimed.get(mapped);
    if (earlier === undefined) {
      claimed.set(mapped, { original: address, owner });
      const last = lastOctet(mapped);
      if (last === 0 || last === 255) {
        warnings.push(
          `${at(owner, field)}: '${address}' becomes ${mapped} on loopback, which ends in .${last} ` +
            'and may be taken for a network or broadcast address',
        );
      }
    } else if (earlier.original !== address) {
      throw new TopologyError(
        topo.source,
        at(owner, field),
        `'${address}' and '${earlier.original}' (${earlier.owner}) both become ${mapped} on loopback`,
        'change one of them so the two differ in their last three numbers',
      );
    }
    return mapped;
  };

  const nodes = new Map<string, TopologyNode>();
  for (const node of topo.nodes.values()) {
    const owner = nodeWhere(node.name);
    const addresses = node.addresses.map((a, i) => map(a, owner, `${addressesField}[${i}]`));
    nodes.set(
      node.name,
      Object.freeze({
        ...node,
        addresses: Object.freeze(addresses),
        clientAddresses: Object.freeze(node.clientAddresses.map(toLoopback)),
      }),
    );
  }
  const clients = new Map<string, TopologyClient>();
  for (const client of topo.clients.values()) {
    const addresses = client.addresses.map((a, i) => map(a, clientWhere(client.name), `addresses[${i}]`));
    clients.set(client.name, Object.freeze({ ...client, addresses: Object.freeze(addresses) }));
  }
  const routers = new Map<string, NetworkRouter>();
  for (const router of topo.network.routers.values()) {
    const addresses = router.addresses.map((a, i) => map(a, routerWhere(router.name), `addresses[${i}]`));
    routers.set(router.name, Object.freeze({ ...router, addresses: Object.freeze(addresses) }));
  }
  const links = topo.links.map((l) =>
    Object.freeze({ ...l, addressOfA: toLoopback(l.addressOfA), addressOfB: toLoopback(l.addressOfB) }),
  );
  const networkLinks = topo.network.links.map((l) =>
    Object.freeze({
      ...l,
      subnet: `127.${l.subnet.split('.').slice(1).join('.')}`,
      ends: Object.freeze(l.ends.map((e) => Object.freeze({ host: e.host, address: toLoopback(e.address) }))),
    }),
  );
  const network = Object.freeze({ ...topo.network, routers, links: Object.freeze(networkLinks) });
  return Object.freeze({
    ...topo,
    nodes,
    clients,
    links: Object.freeze(links),
    network,
    warnings: Object.freeze([...topo.warnings, ...warnings]),
  });
}
