import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  emulatedHosts,
  loadTopologyFile,
  loopbackTopology,
  parseTopology,
  TopologyError,
  type Topology,
} from '../../../onode/config/topology.ts';
import { hostAddresses, UnderlayRouter } from '../../../onode/config/topology-routes.ts';

const load = (file: string): Topology =>
  loadTopologyFile(fileURLToPath(new URL(`../../../topologies/${file}`, import.meta.url)));

function refusal(text: string): TopologyError {
  try {
    parseTopology(text, 'net.json5');
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('the topology was accepted');
}

const NODES = `nodes: {
  s1: { role: 'server', addresses: ['10.5.1.1'] },
  n1: { role: 'node', addresses: ['10.5.1.2', '10.5.2.1'] },
  p1: { role: 'pop', addresses: ['10.5.3.2', '10.5.9.1'], clientAddresses: ['10.5.9.1'] },
}, clients: { c1: { addresses: ['10.5.9.20'], pop: 'p1' }, c2: { addresses: ['10.5.9.21'], pop: 'p1' } }`;

/** s1 - n1 - r1 - p1, with a LAN for p1's clients; n1 and p1 are overlay neighbours but share no link. */
const ROUTED = `{ ${NODES},
  links: [ { between: ['s1', 'n1'] }, { between: ['n1', 'p1'] } ],
  network: {
    routers: { r1: { addresses: ['10.5.2.2', '10.5.3.1'] } },
    links: [
      { between: ['s1', 'n1'], delayMs: 2 },
      { between: ['n1', 'r1'], delayMs: 3, lossPct: 10 },
      { between: ['r1', 'p1'], delayMs: 4, rateKbps: 5000 },
      { between: ['p1', 'c1', 'c2'], delayMs: 1 },
    ],
  } }`;

describe('the network section', () => {
  it('loads routers, point-to-point links and LANs', () => {
    const topo = parseTopology(ROUTED, 'net.json5');
    expect(topo.warnings).toEqual([]);
    expect(topo.network.declared).toBe(true);
    expect([...topo.network.routers.keys()]).toEqual(['r1']);
    expect(
      topo.network.links.map((l) => `${l.subnet} ${l.ends.map((e) => `${e.host}@${e.address}`).join(' ')}`),
    ).toEqual([
      '10.5.1.0/24 s1@10.5.1.1 n1@10.5.1.2',
      '10.5.2.0/24 n1@10.5.2.1 r1@10.5.2.2',
      '10.5.3.0/24 r1@10.5.3.1 p1@10.5.3.2',
      '10.5.9.0/24 p1@10.5.9.1 c1@10.5.9.20 c2@10.5.9.21',
    ]);
    expect(topo.network.links[2]?.rateKbps).toBe(5000);
  });

  it("gives an overlay link without delay or loss its path's, and keeps the ones the file gives", () => {
    const topo = parseTopology(ROUTED, 'net.json5');
    const n1p1 = topo.links.find((l) => l.a === 'n1' && l.b === 'p1');
    // No shared /24: each end is reached at the other's primary address, over the routers.
    expect(n1p1).toMatchObject({ addressOfB: '10.5.3.2', addressOfA: '10.5.1.2', delayMs: 7, lossPct: 10 });
    const given = parseTopology(
      ROUTED.replace("{ between: ['n1', 'p1'] }", "{ between: ['n1', 'p1'], delayMs: 1, lossPct: 0 }"),
      'net.json5',
    );
    expect(given.links[1]).toMatchObject({ delayMs: 1, lossPct: 0 });
  });

  it('routes every host to every subnet, through forwarding hosts but never through a client', () => {
    const topo = parseTopology(ROUTED, 'net.json5');
    const hosts = emulatedHosts(topo);
    const subnets = topo.network.links.map((l) => l.subnet);
    for (const h of hosts) {
      const own = new Set(h.interfaces.map((i) => `${i.address.split('.').slice(0, 3).join('.')}.0/24`));
      expect(h.routes.map((r) => r.subnet).sort(), h.name).toEqual(subnets.filter((s) => !own.has(s)).sort());
      for (const r of h.routes)
        expect(
          h.interfaces.some(
            (i) =>
              i.name === r.dev && i.address.split('.').slice(0, 3).join('.') === r.via.split('.').slice(0, 3).join('.'),
          ),
        ).toBe(true);
    }
    expect(hosts.find((h) => h.name === 'c1')?.routes).toContainEqual({
      subnet: '10.5.1.0/24',
      via: '10.5.9.1',
      dev: 'eth0',
    });
    const router = new UnderlayRouter(topo.network, hostAddresses(topo));
    expect(router.pathTo('c1', '10.5.1.1')?.hosts).toEqual(['c1', 'p1', 'r1', 'n1', 's1']);
    expect(router.pathTo('c1', '10.5.9.21')?.hosts).toEqual(['c1', 'c2']);
  });

  it("orders interfaces like the host's addresses", () => {
    const p1 = emulatedHosts(parseTopology(ROUTED, 'net.json5')).find((h) => h.name === 'p1');
    expect(p1?.interfaces.map((i) => `${i.name}=${i.address}`)).toEqual(['eth0=10.5.3.2', 'eth1=10.5.9.1']);
  });

  it('prefers less delay, then fewer hops', () => {
    const topo = parseTopology(
      `{ nodes: {
        s1: { role: 'server', addresses: ['10.6.1.1', '10.6.2.1'] },
        a: { role: 'node', addresses: ['10.6.1.2', '10.6.3.1'] },
        b: { role: 'node', addresses: ['10.6.2.2', '10.6.4.1'] },
        p: { role: 'pop', addresses: ['10.6.3.2', '10.6.4.2', '10.6.9.1'], clientAddresses: ['10.6.9.1'] } },
      network: { links: [
        { between: ['s1', 'a'], delayMs: 5 }, { between: ['a', 'p'], delayMs: 5 },
        { between: ['s1', 'b'], delayMs: 1 }, { between: ['b', 'p'], delayMs: 1 } ] } }`,
      'x.json5',
    );
    expect(emulatedHosts(topo).find((h) => h.name === 'p')?.routes).toContainEqual({
      subnet: '10.6.1.0/24',
      via: '10.6.4.1',
      dev: 'eth1',
    });
  });

  it('warns about addresses on no link and overlay links the network cannot carry', () => {
    const topo = parseTopology(
      `{ ${NODES}, links: [ { between: ['s1', 'n1'] }, { between: ['n1', 'p1'] } ],
      network: { links: [ { between: ['s1', 'n1'] }, { between: ['p1', 'c1', 'c2'] } ] } }`,
      'net.json5',
    );
    expect(topo.warnings).toEqual([
      "overlay link between 'n1' and 'p1': the network has no route from 'n1' to 10.5.3.2",
      "node 'n1': 10.5.2.1 is on no network link, so no other host can reach it",
      "node 'p1': 10.5.3.2 is on no network link, so no other host can reach it",
    ]);
    expect(emulatedHosts(topo).find((h) => h.name === 'n1')?.loopbackAddresses).toEqual(['10.5.2.1']);
  });

  it('maps the network to loopback with the rest', () => {
    const local = loopbackTopology(parseTopology(ROUTED, 'net.json5'));
    expect(local.network.routers.get('r1')?.addresses).toEqual(['127.5.2.2', '127.5.3.1']);
    expect(local.network.links[3]?.ends.map((e) => e.address)).toEqual(['127.5.9.1', '127.5.9.20', '127.5.9.21']);
    expect(local.network.links[0]?.subnet).toBe('127.5.1.0/24');
  });
});

describe('the shipped report network', () => {
  const topo = load('report.json5');

  it('carries the whole network: ten nodes, two routers, five clients, 22 links', () => {
    expect(topo.network.declared).toBe(true);
    expect([...topo.network.routers.keys()]).toEqual(['r1', 'r2']);
    expect(topo.network.links).toHaveLength(22);
    expect(emulatedHosts(topo).every((h) => h.loopbackAddresses.length === 0)).toBe(true);
  });

  it('has o3 and o7 as neighbours without a shared link, routed through r1 in 5 ms', () => {
    expect(
      topo.network.links.some((l) => l.ends.some((e) => e.host === 'o3') && l.ends.some((e) => e.host === 'o7')),
    ).toBe(false);
    const router = new UnderlayRouter(topo.network, hostAddresses(topo));
    expect(router.pathTo('o3', '10.0.14.1')).toEqual({ hosts: ['o3', 'r1', 'o7'], delayMs: 5, lossPct: 0 });
    expect(router.pathTo('o7', '10.0.18.2')?.hosts).toEqual(['o7', 'r1', 'o3']);
    expect(topo.links.find((l) => l.a === 'o3' && l.b === 'o7')?.delayMs).toBe(5);
  });

  it('keeps the overlay delays the report file always had', () => {
    expect(topo.links.map((l) => `${l.a}-${l.b} ${l.delayMs}`)).toEqual([
      's1-o2 2',
      's1-o9 8',
      's2-o8 2',
      'o2-o3 3',
      'o2-o9 4',
      'o3-o4 2',
      'o3-o9 1',
      'o3-o7 5',
      'o4-o5 1',
      'o4-o6 2',
      'o4-o8 6',
      'o8-o9 2',
    ]);
  });

  it('lets every client reach every POP', () => {
    const router = new UnderlayRouter(topo.network, hostAddresses(topo));
    for (const c of topo.clients.keys()) {
      for (const p of ['o5', 'o6', 'o7'])
        expect(router.pathTo(c, topo.nodes.get(p)?.addresses[0] ?? ''), `${c} to ${p}`).not.toBeNull();
    }
  });
});

describe('the example in topologies/README.md', () => {
  it("routes n1 to p1 through r1 and takes that path's delay", () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../topologies/README.md', import.meta.url)), 'utf8');
    const example = /```json5\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const topo = parseTopology(example, 'README.md');
    expect(topo.warnings).toEqual([]);
    expect(topo.links.map((l) => `${l.a}-${l.b} ${l.delayMs} ms`)).toEqual(['s1-n1 2 ms', 'n1-p1 4 ms']);
    expect(topo.network.links.at(-1)?.ends).toHaveLength(3);
  });
});

describe('a derived network', () => {
  it('links the hosts of every shared /24 (legacy files included), without impairments', () => {
    const legacy = load('report-legacy.json');
    expect(legacy.network.declared).toBe(false);
    expect(legacy.network.links.every((l) => l.delayMs === 0 && l.ends.length === 2)).toBe(true);
    expect(legacy.network.links).toHaveLength(11);
    const chain = load('chain.json5');
    expect(chain.network.links.map((l) => l.ends.map((e) => e.host).join('-'))).toEqual([
      's1-n1',
      'n1-n2',
      'n2-p1',
      'p1-c1',
    ]);
  });
});

describe('network errors name the link and the field', () => {
  const with_ = (network: string): string => `{ ${NODES}, network: ${network} }`;

  it('an unknown host', () => {
    const err = refusal(with_("{ links: [ { between: ['s1', 'x9'] } ] }"));
    expect([err.where, err.problem]).toEqual([
      "network.links[0], field 'between[1]'",
      "'x9' is not a node, client or router",
    ]);
  });

  it('hosts that share no /24', () => {
    const err = refusal(with_("{ links: [ { between: ['s1', 'p1'] } ] }"));
    expect([err.where, err.problem]).toEqual(["network.links[0] between 's1', 'p1'", 'the hosts share no /24']);
  });

  it('two links on one subnet', () => {
    const err = refusal(with_("{ links: [ { between: ['p1', 'c1'] }, { between: ['p1', 'c2'] } ] }"));
    expect(err.problem).toBe('10.5.9.0/24 is also the subnet of network.links[0]');
  });

  it("an address off the link's subnet", () => {
    const err = refusal(with_("{ links: [ { between: ['s1', 'n1'], addresses: { n1: '10.5.2.1' } } ] }"));
    expect([err.where, err.problem]).toEqual([
      "network.links[0] between 's1', 'n1'",
      "'s1' has no address on 10.5.2.0/24",
    ]);
    const mixed = refusal(
      with_("{ links: [ { between: ['s1', 'n1'], addresses: { s1: '10.5.1.1', n1: '10.5.2.1' } } ] }"),
    );
    expect([mixed.where, mixed.problem]).toEqual([
      "network.links[0] between 's1', 'n1', field 'addresses.n1'",
      "'10.5.2.1' is not on 10.5.1.0/24, the link's subnet",
    ]);
  });

  it('a router named like a node, or sharing an address', () => {
    expect(refusal(with_("{ routers: { n1: { addresses: ['10.5.7.1'] } }, links: [] }")).problem).toBe(
      "'n1' is also the name of a node or client",
    );
    expect(refusal(with_("{ routers: { r1: { addresses: ['10.5.1.1'] } }, links: [] }")).message).toContain(
      "router 'r1', field 'addresses[0]': '10.5.1.1' is also an address of node 's1'",
    );
  });

  it('a misspelt field', () => {
    expect(refusal(with_("{ links: [ { between: ['s1', 'n1'], delay: 2 } ] }")).fix).toContain(
      "rename it to 'delayMs'",
    );
    expect(refusal(with_('{ link: [] }')).where).toBe("network, field 'link'");
  });

  it('a host named twice, or a one-host link', () => {
    expect(refusal(with_("{ links: [ { between: ['s1', 's1'] } ] }")).problem).toBe("names 's1' twice");
    expect(refusal(with_("{ links: [ { between: ['s1'] } ] }")).problem).toBe(
      'expected a list of two or more host names, got 1 item(s)',
    );
  });
});
