import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import JSON5 from 'json5';
import { describe, expect, it } from 'vitest';
import { parseTopology, TopologyError } from '../../../onode/config/topology.ts';
import { say, unpackMessage } from '../../../onode/config/topology-schema.ts';

function refusal(text: string, source = 'bad.json5'): TopologyError {
  try {
    parseTopology(text, source);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('the topology was accepted');
}

const server = "s1: { role: 'server', addresses: ['10.0.0.1'] }";
const twoNodes = `${server}, o2: { role: 'node', addresses: ['10.0.0.2'] }`;

describe('messages the schema adds', () => {
  it('refuses names a record would silently drop', () => {
    const node = refusal(`{ nodes: { ${server}, constructor: { role: 'node', addresses: ['10.0.0.2'] } } }`);
    expect([node.where, node.problem, node.fix]).toEqual([
      "node 'constructor'",
      "'constructor' cannot be used as a name here",
      'choose another name',
    ]);
    const client = refusal(`{ nodes: { ${server} }, clients: { prototype: { addresses: ['10.0.0.9'] } } }`);
    expect(client.where).toBe("client 'prototype'");
    const text = JSON.stringify({ s1: { names: ['10.0.0.1'] }, constructor: { names: ['10.0.0.2'] } });
    expect(refusal(text, 'legacy.json').message).toBe(
      "legacy.json: node 'constructor': 'constructor' cannot be used as a name here. Fix: choose another name",
    );
  });

  it('refuses numbers that are not finite', () => {
    const err = refusal(`{ nodes: { ${twoNodes} }, links: [ { between: ['s1', 'o2'], delayMs: Infinity } ] }`);
    expect(err.message).toBe(
      "bad.json5: links[0] between 's1' and 'o2', field 'delayMs': " +
        'expected a one-way delay in ms, 0 or more, got the number Infinity. Fix: write e.g. delayMs: 2',
    );
    const nan = refusal(`{ nodes: { ${twoNodes} }, links: [ { between: ['s1', 'o2'], lossPct: NaN } ] }`);
    expect(nan.problem).toBe('expected a loss percentage from 0 to 100, got the number NaN');
  });

  it('refuses a delay longer than an hour (a timer could not hold it once summed along a path)', () => {
    const err = refusal(`{ nodes: { ${twoNodes} }, links: [ { between: ['s1', 'o2'], delayMs: 1e10 } ] }`);
    expect(err.problem).toBe('expected a one-way delay of at most 3600000 ms (an hour), got the number 10000000000');
  });
});

describe('which problem comes first', () => {
  it('an unknown field before the problems it causes in the same object', () => {
    const err = refusal(`{ nodes: { ${server}, o2: { role: 'relay', adresses: ['10.0.0.2'] } } }`);
    expect([err.where, err.problem]).toEqual(["node 'o2', field 'adresses'", "'adresses' is not a known field"]);
    expect(err.fix).toBe("rename it to 'addresses' (known fields: role, addresses, clientAddresses)");
  });

  it('an unknown top-level field before any problem in the nodes', () => {
    const err = refusal("{ nodes: { s1: { role: 'relay' } }, link: [] }");
    expect(err.where).toBe("top level, field 'link'");
    expect(err.fix).toBe("rename it to 'links' (known fields: bootstrapper, nodes, links, clients, network)");
  });

  it('in file order otherwise', () => {
    const err = refusal("{ nodes: { s1: { role: 'relay', addresses: ['10.0.0.1'] }, o2: { role: 'node' } } }");
    expect(err.where).toBe("node 's1', field 'role'");
  });

  it('an address keyed by a node that is not an end of the link', () => {
    const nodes = `${twoNodes}, o3: { role: 'node', addresses: ['10.0.0.3'] }`;
    const err = refusal(`{ nodes: { ${nodes} }, links: [ { between: ['s1', 'o2'], addresses: { o3: 5 } } ] }`);
    expect(err.message).toBe(
      "bad.json5: links[0] between 's1' and 'o2', field 'addresses.o3': " +
        "'o3' is not an end of this link. Fix: key the addresses by 's1' or 'o2'",
    );
  });

  it('a link naming an unknown node is refused for that, not for its addresses', () => {
    const err = refusal(
      `{ nodes: { ${twoNodes} }, links: [ { between: ['s1', 'o9'], addresses: { o2: '10.0.0.2' } } ] }`,
    );
    expect([err.where, err.problem]).toEqual(["links[0], field 'between[1]'", "'o9' is not a node"]);
  });
});

describe('schema messages', () => {
  it("round-trip a problem and a fix, and tell ours from valibot's own", () => {
    expect(unpackMessage(say('is missing', "add it: 'x'"))).toEqual({ problem: 'is missing', fix: "add it: 'x'" });
    expect(unpackMessage('Invalid type: Expected string but received 3')).toBeNull();
  });

  it("every refusal of a mutated report.json5 has a place and a fix of its own (never valibot's text)", () => {
    const file = fileURLToPath(new URL('../../../topologies/report.json5', import.meta.url));
    const report = JSON5.parse(readFileSync(file, 'utf8')) as unknown;
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]): void => {
      paths.push(path);
      if (Array.isArray(value)) for (const [i, item] of value.entries()) walk(item, [...path, i]);
      else if (typeof value === 'object' && value !== null) {
        for (const [k, item] of Object.entries(value)) walk(item, [...path, k]);
      }
    };
    walk(report, []);
    const junk = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(undefined, NaN, Infinity, -1, '', '10.0.0.256', 'constructor', [], {}),
    );
    fc.assert(
      fc.property(fc.constantFrom(...paths.filter((p) => p.length > 0)), junk, (path, value) => {
        const mutated = structuredClone(report) as Record<string | number, unknown>;
        let parent = mutated;
        for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
        const last = path[path.length - 1] as string | number;
        if (value === undefined) delete parent[last];
        else parent[last] = value;
        try {
          parseTopology(JSON5.stringify(mutated), 'm.json5');
        } catch (err) {
          if (!(err instanceof TopologyError)) throw err;
          expect(err.where).not.toBe('');
          expect(err.fix).not.toBe('see topologies/README.md for the format');
          expect(err.message).not.toMatch(/Invalid (type|key|input|length)/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
