/**
 * Importing real operator networks: every one of the Topology Zoo's 276 files either becomes a
 * topology the loader accepts (and that runs on loopback), or is refused with its reason; and
 * what an import writes is checked on a known network (Abilene).
 */
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../onode/config/topology.ts';
import { loopbackTopology } from '../../../onode/config/topology-loopback.ts';
import { GraphmlError, readGraphml } from '../../../onode/topology/graphml.ts';
import { chooseRoles, RoleError } from '../../../onode/topology/roles.ts';
import { topologyText } from '../../../onode/topology/topology-writer.ts';
import { zooFiles } from './zoo-archive.ts';

const ZOO = zooFiles();

function importZoo(file: string, servers: number, pops: number, seed = 1) {
  const graph = readGraphml(ZOO.get(file) as string, file);
  const roles = chooseRoles(graph, { servers, pops, seed });
  const text = topologyText(roles, { header: [file] });
  return { graph, roles, text, topology: parseTopology(text, file) };
}

describe('onode topology import (Internet Topology Zoo)', () => {
  it('imports every network of the archive or refuses it with a reason', () => {
    expect(ZOO.size).toBe(276);
    const refused: string[] = [];
    for (const file of ZOO.keys()) {
      try {
        const { topology, roles } = importZoo(file, 2, 3);
        loopbackTopology(topology);
        const count = (role: string) => [...topology.nodes.values()].filter((n) => n.role === role).length;
        expect([count('server'), count('pop')], file).toEqual([2, 3]);
        expect(topology.nodes.size, file).toBe(roles.graph.nodes.length);
      } catch (err) {
        expect(err instanceof RoleError || err instanceof GraphmlError, `${file}: ${err}`).toBe(true);
        refused.push(`${file}: ${(err as Error).message}`);
      }
    }
    // The one network smaller than 2 servers + 3 POPs; its reason says so.
    expect(refused).toEqual(['Arpanet196912.graphml: it has 4 places; --servers 2 --pops 3 needs at least 5']);
  });

  it('Abilene: servers at the best-connected places, POPs at the edge, delays from distance', () => {
    const { topology, graph } = importZoo('Abilene.graphml', 2, 3);
    expect(graph.nodes).toHaveLength(11);
    const degree = (name: string) => topology.links.filter((l) => l.a === name || l.b === name).length;
    const servers = [...topology.nodes.values()].filter((n) => n.role === 'server').map((n) => n.name);
    const pops = [...topology.nodes.values()].filter((n) => n.role === 'pop').map((n) => n.name);
    const others = [...topology.nodes.values()].filter((n) => n.role === 'node').map((n) => n.name);
    for (const s of servers) for (const o of others) expect(degree(s)).toBeGreaterThanOrEqual(degree(o));
    for (const p of pops) for (const o of others) expect(degree(p)).toBeLessThanOrEqual(degree(o));
    // New York - Chicago is about 1,150 km: 5.7 ms one way at 5 µs per km.
    const nyc = topology.links.find((l) => [l.a, l.b].sort().join() === 'Chicago,New_York');
    expect(nyc?.delayMs).toBeGreaterThan(5.5);
    expect(nyc?.delayMs).toBeLessThan(6);
    // Every POP has a client on its own LAN.
    expect([...topology.clients.values()].map((c) => c.pop).sort()).toEqual([...pops].sort());
  });

  it('the same seed gives the same file; a network with repairs says what it repaired', () => {
    expect(importZoo('Cogentco.graphml', 3, 10, 5).text).toBe(importZoo('Cogentco.graphml', 3, 10, 5).text);
    const { text } = importZoo('Cogentco.graphml', 3, 10);
    expect(text).toMatch(/Read: 2 duplicate edges merged/);
    expect(text).toMatch(/nodes have no coordinates/);
  });

  it('Kdl (754 places) imports with 20 servers and 100 POPs', () => {
    const { topology } = importZoo('Kdl.graphml', 20, 100);
    expect(topology.nodes.size).toBeGreaterThan(700);
    expect(topology.clients.size).toBe(100);
  });

  it('refuses what is not a GraphML network, saying why', () => {
    expect(() => readGraphml('not xml <', 'x')).toThrow(GraphmlError);
    expect(() => readGraphml('<graphml><graph></graph></graphml>', 'x')).toThrow(/no nodes/);
    expect(() => readGraphml('<other/>', 'x')).toThrow(/no <graphml> element/);
  });
});
