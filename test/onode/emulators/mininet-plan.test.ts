import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTopologyFile, parseTopology } from '../../../onode/config/topology.ts';
import { MAX_INTERFACE_NAME, mininetPlan, PlanError, type PlanOptions } from '../../../onode/emulators/mininet-plan.ts';

const REPORT = fileURLToPath(new URL('../../../topologies/report.json5', import.meta.url));
const OPTS: PlanOptions = {
  file: REPORT,
  runScript: '/repo/scripts/run.sh',
  moviesDir: '/repo/movies',
  movies: ['bars.mjpeg', 'bounce.mjpeg', 'gradient.mjpeg'],
  out: '/tmp/out',
  duration: 30,
};

describe('Mininet plan of the report topology', () => {
  const plan = mininetPlan(loadTopologyFile(REPORT), OPTS);

  it('has a host per node, router and client, and a bridge host for the LAN', () => {
    // Overlay nodes and routers forward IP; clients and the LAN's bridge host do not.
    const forwarding = ['s1', 's2', 'o2', 'o3', 'o4', 'o8', 'o9', 'o5', 'o6', 'o7', 'r1', 'r2'];
    expect(plan.hosts.map((h) => h.name)).toEqual([...forwarding, 'c1', 'c5', 'c2', 'c3', 'c4', 'sw18']);
    expect(plan.hosts.filter((h) => h.forward).map((h) => h.name)).toEqual(forwarding);
    expect(plan.hosts.at(-1)).toMatchObject({
      role: 'switch',
      interfaces: [
        { name: 'sw18-eth0', address: null },
        { name: 'sw18-eth1', address: null },
        { name: 'sw18-eth2', address: null },
      ],
    });
  });

  it('names interfaces validly and uniquely, and routes through them', () => {
    const names = plan.hosts.flatMap((h) => h.interfaces.map((i) => i.name));
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n.length <= MAX_INTERFACE_NAME)).toBe(true);
    for (const h of plan.hosts) for (const r of h.routes) expect(h.interfaces.map((i) => i.name)).toContain(r.dev);
    expect(plan.hosts.find((h) => h.name === 'o3')?.routes).toContainEqual({
      subnet: '10.0.14.0/24',
      via: '10.0.18.1',
      dev: 'o3-eth1',
    });
  });

  it("links with the file's parameters, splitting a LAN's over its two hops", () => {
    expect(plan.links).toHaveLength(21 + 3);
    expect(plan.links[1]).toEqual({
      a: 's1',
      aIntf: 's1-eth1',
      b: 'o9',
      bIntf: 'o9-eth3',
      delayMs: 8,
      lossPct: 0,
      rateKbps: null,
    });
    expect(plan.links.filter((l) => l.b === 'sw18').map((l) => [l.a, l.delayMs, l.rateKbps])).toEqual([
      ['o5', 0.5, 20000],
      ['c1', 0.5, 20000],
      ['c5', 0.5, 20000],
    ]);
  });

  it('starts the bootstrapper first, the other roles by the run script, and clients on their POPs', () => {
    const [boot, ...rest] = plan.processes;
    expect(boot).toEqual({
      host: 's1',
      kind: 'bootstrapper',
      withoutNetem: ['--emulate-links'],
      argv: [
        '/repo/scripts/run.sh',
        'server',
        '--topology',
        REPORT,
        '--movies',
        '/repo/movies',
        '--log-dir',
        '/tmp/out',
        '--name',
        's1',
        '--exit-with-stdin',
      ],
    });
    expect(rest.find((p) => p.host === 'o7')?.argv).toEqual([
      '/repo/scripts/run.sh',
      'pop',
      '--bootstrapper',
      '10.0.25.10',
      '--log-dir',
      '/tmp/out',
      '--name',
      'o7',
      '--exit-with-stdin',
    ]);
    const clients = rest.filter((p) => p.kind === 'client');
    expect(clients.map((c) => c.host)).toEqual(['c1', 'c5', 'c2', 'c3', 'c4']);
    expect(clients.map((c) => c.argv[c.argv.indexOf('--movie') + 1])).toEqual([
      'bars.mjpeg',
      'bounce.mjpeg',
      'gradient.mjpeg',
      'bars.mjpeg',
      'bounce.mjpeg',
    ]);
    expect(clients.map((c) => c.argv[c.argv.indexOf('--pop') + 1])).toEqual([
      '10.0.6.2',
      '10.0.6.2',
      '10.0.7.2',
      '10.0.8.2',
      '10.0.9.2',
    ]);
    expect(clients[0]?.argv).toContain('/tmp/out/c1.stats.json');
    expect(plan).toMatchObject({
      bootstrapper: { host: 's1', address: '10.0.25.10' },
      servers: 2,
      netem: 'auto',
      duration: 30,
      clientDuration: null,
    });
    expect(plan.pops.map((p) => p.host)).toEqual(['o5', 'o6', 'o7']);
  });
});

describe('Mininet plan edge cases', () => {
  it('gives long host names short interface names', () => {
    const topo = parseTopology(
      `{ nodes: {
      server_number_one: { role: 'server', addresses: ['10.7.1.1'] },
      point_of_presence: { role: 'pop', addresses: ['10.7.1.2'], clientAddresses: ['10.7.1.2'] } },
      links: [ { between: ['server_number_one', 'point_of_presence'] } ] }`,
      'long.json5',
    );
    const plan = mininetPlan(topo, { ...OPTS, file: '/x.json5' });
    expect(plan.hosts.map((h) => h.interfaces.map((i) => i.name))).toEqual([['_h0-eth0'], ['_h1-eth0']]);
  });

  it('refuses clients without movies', () => {
    expect(() => mininetPlan(loadTopologyFile(REPORT), { ...OPTS, movies: [] })).toThrow(PlanError);
  });
});
