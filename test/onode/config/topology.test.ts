import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadTopologyFile,
  loopbackTopology,
  neighboursOf,
  parseTopology,
  TopologyError,
  type Topology,
} from '../../../onode/config/topology.ts';

const TOPOLOGIES = fileURLToPath(new URL('../../../topologies/', import.meta.url));
const SHIPPED = ['report.json5', 'report-legacy.json', 'chain.json5', 'mesh.json5'];

function load(file: string): Topology {
  return loadTopologyFile(join(TOPOLOGIES, file));
}

/** The TopologyError `text` is refused with; fails the test if it loads. */
function refusal(text: string, source = 'bad.json5'): TopologyError {
  try {
    parseTopology(text, source);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('the topology was accepted');
}

/** Node → role, addresses and neighbours (name@address), in a form two formats can be compared by. */
function shape(topo: Topology): Record<string, unknown> {
  return Object.fromEntries(
    [...topo.nodes.values()].map((n) => [
      n.name,
      {
        role: n.role,
        addresses: n.addresses,
        clientAddresses: n.clientAddresses,
        neighbours: neighboursOf(topo, n.name).map((x) => `${x.name}@${x.address}`),
      },
    ]),
  );
}

describe('shipped topologies', () => {
  it.each(SHIPPED)('%s loads without warnings and maps to loopback', (file) => {
    const topo = load(file);
    expect(topo.warnings).toEqual([]);
    expect(topo.bootstrapper).toBe('s1');
    const local = loopbackTopology(topo);
    expect(local.warnings).toEqual([]);
    const all = [...local.nodes.values()].flatMap((n) => n.addresses);
    expect(new Set(all).size).toBe(all.length);
  });

  it('report.json5 and report-legacy.json are the same network', () => {
    const native = load('report.json5');
    const legacy = load('report-legacy.json');
    expect(native.format).toBe('native');
    expect(legacy.format).toBe('legacy');
    expect(shape(native)).toEqual(shape(legacy));
    expect(native.links).toHaveLength(12);
  });

  it('report.json5 has the report roles, clients and link delays', () => {
    const topo = load('report.json5');
    const byRole = (role: string): string[] =>
      [...topo.nodes.values()].filter((n) => n.role === role).map((n) => n.name);
    expect(byRole('server')).toEqual(['s1', 's2']);
    expect(byRole('node')).toEqual(['o2', 'o3', 'o4', 'o8', 'o9']);
    expect(byRole('pop')).toEqual(['o5', 'o6', 'o7']);
    expect([...topo.clients.values()].map((c) => `${c.name}@${c.pop}`).sort()).toEqual([
      'c1@o5',
      'c2@o6',
      'c3@o6',
      'c4@o7',
      'c5@o5',
    ]);
    expect(topo.links.every((l) => l.delayMs >= 1 && l.delayMs <= 10)).toBe(true);
    // The report's one link across two different /24s keeps its addresses.
    expect(neighboursOf(topo, 'o3').find((n) => n.name === 'o7')?.address).toBe('10.0.14.1');
    expect(neighboursOf(topo, 'o7').find((n) => n.name === 'o3')?.address).toBe('10.0.18.2');
  });

  it('chain.json5 is a line', () => {
    const topo = load('chain.json5');
    expect(topo.links.map((l) => `${l.a}-${l.b}`)).toEqual(['s1-n1', 'n1-n2', 'n2-p1']);
  });

  it('mesh.json5 has two servers, six relays, three dual-homed POPs and a lossy link', () => {
    const topo = load('mesh.json5');
    const roles = [...topo.nodes.values()].map((n) => n.role);
    expect(roles.filter((r) => r === 'server')).toHaveLength(2);
    expect(roles.filter((r) => r === 'node')).toHaveLength(6);
    const pops = [...topo.nodes.values()].filter((n) => n.role === 'pop');
    expect(pops).toHaveLength(3);
    for (const pop of pops) expect(neighboursOf(topo, pop.name).length).toBeGreaterThanOrEqual(2);
    expect(topo.links.filter((l) => l.lossPct > 0).map((l) => `${l.a}-${l.b}`)).toEqual(['r5-r6']);
  });

  it('the examples in topologies/README.md load', () => {
    const readme = readFileSync(join(TOPOLOGIES, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```(json5|json)\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).toEqual(['json5', 'json']);
    const [native, legacy] = blocks.map((b) => parseTopology(b[2] ?? '', 'README.md'));
    expect(native?.format).toBe('native');
    expect(legacy?.format).toBe('legacy');
    expect(legacy?.warnings).toEqual([]);
  });
});

describe('topology errors name the file, the node and the field', () => {
  const server = "s1: { role: 'server', addresses: ['10.0.0.1'] }";

  it('missing role', () => {
    const err = refusal(`{ nodes: { ${server}, o3: { addresses: ['10.0.0.2'] } } }`);
    expect([err.file, err.where, err.problem]).toEqual(['bad.json5', "node 'o3', field 'role'", 'is missing']);
    expect(err.message).toBe(
      "bad.json5: node 'o3', field 'role': is missing. Fix: set role to 'server', 'node' or 'pop'",
    );
  });

  it('bad address', () => {
    const err = refusal(`{ nodes: { ${server}, o3: { role: 'node', addresses: ['10.0.0.2', '10.0.256.1'] } } }`);
    expect(err.where).toBe("node 'o3', field 'addresses[1]'");
    expect(err.problem).toBe("'10.0.256.1' is not a valid IPv4 address");
  });

  it('unknown neighbour in a native link', () => {
    const err = refusal(`{ nodes: { ${server} }, links: [ { between: ['s1', 'o9'] } ] }`);
    expect(err.where).toBe("links[0], field 'between[1]'");
    expect(err.problem).toBe("'o9' is not a node");
  });

  it('unknown neighbour in a legacy file', () => {
    const text = JSON.stringify({
      s1: { neighbours: ['10.0.25.1'], names: ['10.0.25.10'] },
      o2: { neighbours: ['10.0.25.10s', '10.0.19.1'], names: ['10.0.25.1'], pop: [] },
    });
    const err = refusal(text, 'legacy.json');
    expect([err.file, err.where]).toEqual(['legacy.json', "node 'o2', field 'neighbours[1]'"]);
    expect(err.problem).toBe("'10.0.19.1' is not in the 'names' of any node");
  });

  it('duplicate address', () => {
    const err = refusal(`{ nodes: { ${server}, o3: { role: 'node', addresses: ['10.0.0.2', '10.0.0.1'] } } }`);
    expect(err.where).toBe("node 'o3', field 'addresses[1]'");
    expect(err.problem).toBe("'10.0.0.1' is also an address of node 's1'");
  });

  it('duplicate address in a legacy file uses its field name', () => {
    const text = JSON.stringify({ s1: { names: ['10.0.0.1'] }, o2: { names: ['10.0.0.1'], neighbours: [] } });
    expect(refusal(text, 'legacy.json').where).toBe("node 'o2', field 'names[0]'");
  });

  it('addresses that collide on loopback', () => {
    const topo = parseTopology(`{ nodes: { ${server}, o3: { role: 'node', addresses: ['11.0.0.1'] } } }`, 'bad.json5');
    expect(() => loopbackTopology(topo)).toThrow(
      "bad.json5: node 'o3', field 'addresses[0]': '11.0.0.1' and '10.0.0.1'",
    );
  });

  it('a file on disk is named by its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topology-'));
    try {
      const path = join(dir, 'mine.json5');
      writeFileSync(path, `{ nodes: { ${server}, o3: { role: 'relay', addresses: ['10.0.0.2'] } } }`);
      expect(() => loadTopologyFile(path)).toThrow(
        `${path}: node 'o3', field 'role': the string 'relay' is not a role`,
      );
      expect(() => loadTopologyFile(join(dir, 'missing.json5'))).toThrow(/missing\.json5: file: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
