/** Mininet and CORE scenarios of a topology with two bootstrappers: both read the topology, everyone else gets both. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { emulatedHosts, parseTopology } from '../../../onode/config/topology.ts';
import { startupScript } from '../../../onode/emulators/core-startup.ts';
import { mininetPlan } from '../../../onode/emulators/mininet-plan.ts';

const MESH = fileURLToPath(new URL('../../../topologies/mesh.json5', import.meta.url));
const topo = parseTopology(
  readFileSync(MESH, 'utf8').replace("bootstrapper: 's1'", "bootstrapper: ['s1', 's2']"),
  '/repo/mesh2.json5',
);
const BOTH = '10.1.1.1,10.1.3.1';

describe('scenarios with two bootstrappers', () => {
  it('Mininet: s1 and s2 start with the topology, nodes and clients are given both, in order', () => {
    const plan = mininetPlan(topo, {
      file: '/repo/mesh2.json5',
      runScript: '/repo/scripts/run.sh',
      moviesDir: '/repo/movies',
      movies: ['bars.mjpeg'],
      out: '/tmp/out',
      duration: 30,
    });
    const boots = plan.processes.filter((p) => p.kind === 'bootstrapper');
    expect(boots.map((p) => p.host)).toEqual(['s1', 's2']);
    for (const b of boots) expect(b.argv.slice(1, 4)).toEqual(['server', '--topology', '/repo/mesh2.json5']);
    const others = plan.processes.filter((p) => p.kind !== 'bootstrapper');
    expect(others.length).toBe(topo.nodes.size - 2 + topo.clients.size);
    for (const p of others) expect(p.argv[p.argv.indexOf('--bootstrapper') + 1]).toBe(BOTH);
    expect(plan.bootstrapper).toEqual({ host: 's1', address: '10.1.1.1' });
  });

  it('CORE: both servers run as bootstrappers, the rest start with both addresses', () => {
    const opts = {
      root: '/repo',
      file: '/repo/mesh2.json5',
      moviesDir: '/repo/movies',
      movies: ['bars.mjpeg'],
      secretFile: '/tmp/overlay.secret',
    };
    const hosts = emulatedHosts(topo);
    const script = (name: string): string => {
      const host = hosts.find((h) => h.name === name);
      if (host === undefined) throw new Error(`no host ${name}`);
      return startupScript(topo, host, 0, opts);
    };
    expect(script('s1')).toContain('server --topology /repo/mesh2.json5');
    expect(script('s1')).toContain('(server, the bootstrapper)');
    expect(script('s2')).toContain('server --topology /repo/mesh2.json5');
    expect(script('s2')).toContain('(server, a standby bootstrapper)');
    expect(script('r1')).toContain(`node --bootstrapper '${BOTH}'`);
    expect(script('p1')).toContain(`pop --bootstrapper '${BOTH}'`);
    expect(script('c1')).toMatch(/client.*--bootstrapper.*10\.1\.1\.1,10\.1\.3\.1/);
  });
});
