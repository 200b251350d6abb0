/** Several bootstrappers in a topology: a name or a non-empty list of distinct servers, the first the primary. */
import { describe, expect, it } from 'vitest';
import { MAX_BOOTSTRAPPERS } from '../../../common/net/ports.ts';
import { parseTopology, TopologyError } from '../../../onode/config/topology.ts';

const NODES = `nodes: {
  s1: { role: 'server', addresses: ['10.0.0.1'] },
  s2: { role: 'server', addresses: ['10.0.0.2'] },
  o3: { role: 'node', addresses: ['10.0.0.3'] },
}, links: [ { between: ['s1', 'o3'] }, { between: ['s2', 'o3'] } ]`;

function withBootstrapper(value: string): string {
  return `{ bootstrapper: ${value}, ${NODES} }`;
}

function refusal(text: string, options = {}): TopologyError {
  try {
    parseTopology(text, 'two.json5', options);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error('the topology was accepted');
}

describe('bootstrappers in a topology', () => {
  it('a list keeps its order; the first is the bootstrapper', () => {
    const topo = parseTopology(withBootstrapper("['s2', 's1']"), 'two.json5');
    expect(topo.bootstrappers).toEqual(['s2', 's1']);
    expect(topo.bootstrapper).toBe('s2');
  });

  it('a single name, or none, is a list of one (as before)', () => {
    expect(parseTopology(withBootstrapper("'s2'"), 'two.json5').bootstrappers).toEqual(['s2']);
    const none = parseTopology(`{ ${NODES} }`, 'two.json5');
    expect(none.bootstrappers).toEqual(['s1']);
    expect(none.bootstrapper).toBe('s1');
  });

  it('the option overrides the file, as a list too', () => {
    const topo = parseTopology(withBootstrapper("'s1'"), 'two.json5', { bootstrapper: ['s2', 's1'] });
    expect(topo.bootstrappers).toEqual(['s2', 's1']);
  });

  it('an empty list is refused, naming the field', () => {
    const err = refusal(withBootstrapper('[]'));
    expect(err.message).toContain('two.json5');
    expect(err.message).toContain('bootstrapper');
    expect(err.problem).toBe('the list is empty');
  });

  it('a name that is not a server, or not a node, is refused with its index', () => {
    const relay = refusal(withBootstrapper("['s1', 'o3']"));
    expect(relay.where).toBe("top level, field 'bootstrapper[1]'");
    expect(relay.problem).toBe("'o3' is a node, not a server");
    expect(relay.fix).toBe('name one of the servers: s1, s2');
    const unknown = refusal(withBootstrapper("['s9']"));
    expect(unknown.problem).toBe("'s9' is not a node");
  });

  it('a server named twice is refused', () => {
    const err = refusal(withBootstrapper("['s1', 's2', 's1']"));
    expect(err.where).toBe("top level, field 'bootstrapper[2]'");
    expect(err.problem).toBe("'s1' is named twice");
  });

  it('something else than a name or a list of names is refused with the fix', () => {
    const err = refusal(withBootstrapper('[1]'));
    expect(err.message).toContain('bootstrapper');
    expect(err.fix).toContain("['s1', 's2']");
    expect(refusal(withBootstrapper('7')).problem).toBe(
      'expected a server name or a list of server names, got the number 7',
    );
  });

  it('more than MAX_BOOTSTRAPPERS is refused', () => {
    const many = Array.from({ length: MAX_BOOTSTRAPPERS + 1 }, (_, i) => `s${i + 1}`);
    const nodes = many.map((n, i) => `${n}: { role: 'server', addresses: ['10.0.1.${i + 1}'] }`).join(', ');
    const err = refusal(`{ nodes: { ${nodes} } }`, { bootstrapper: many });
    expect(err.problem).toBe(`it names ${MAX_BOOTSTRAPPERS + 1} bootstrappers`);
  });

  it('the option list is checked the same way', () => {
    const err = refusal(`{ ${NODES} }`, { bootstrapper: ['s1', 'o3'] });
    expect(err.where).toBe('option --bootstrapper[1]');
  });
});
