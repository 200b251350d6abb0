/** Which listed bootstrapper a process is, and --bootstrapper lists. No sockets. */
import { describe, expect, it } from 'vitest';
import { MAX_BOOTSTRAPPERS, parseHostPorts } from '../../../common/net/ports.ts';
import { parseTopology } from '../../../onode/config/topology.ts';
import { NodeStartError } from '../../../onode/net/bootstrap-link.ts';
import { localBootstrapper } from '../../../onode/net/local-bootstrapper.ts';

const topo = (bootstrapper: string) =>
  parseTopology(
    `{ bootstrapper: ${bootstrapper}, nodes: {
      s1: { role: 'server', addresses: ['10.0.0.1'] },
      s2: { role: 'server', addresses: ['10.0.0.2', '10.0.9.2'] },
      o3: { role: 'node', addresses: ['10.0.0.3'] } } }`,
    'two.json5',
  );

describe('localBootstrapper', () => {
  it('one bootstrapper: that one, whatever the host has (as before); --address must be its own', () => {
    expect(localBootstrapper(topo("'s2'"), undefined, () => []).name).toBe('s2');
    expect(() => localBootstrapper(topo("'s2'"), '10.0.0.1')).toThrow(
      '--address 10.0.0.1 is not an address of the bootstrapper s2',
    );
  });

  it('several: the one --address belongs to', () => {
    expect(localBootstrapper(topo("['s1', 's2']"), '10.0.9.2').name).toBe('s2');
    expect(() => localBootstrapper(topo("['s1', 's2']"), '10.0.0.3')).toThrow(NodeStartError);
  });

  it("several, no --address: the one with an address on this host's interfaces", () => {
    expect(localBootstrapper(topo("['s1', 's2']"), undefined, () => ['127.0.0.1', '10.0.9.2']).name).toBe('s2');
    expect(() => localBootstrapper(topo("['s1', 's2']"), undefined, () => ['127.0.0.1'])).toThrow(
      'none of the bootstrappers of two.json5 (s1, s2) has an address on this host',
    );
  });
});

describe('parseHostPorts (--bootstrapper A,B)', () => {
  it('splits a list, each with its port or the default', () => {
    expect(parseHostPorts('10.0.0.1,10.0.0.2:7001', 7000)).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ]);
    expect(parseHostPorts('10.0.0.1', 7000)).toEqual([{ host: '10.0.0.1', port: 7000 }]);
  });

  it('refuses empty entries, one named twice, and too many', () => {
    expect(parseHostPorts('10.0.0.1,', 7000)).toBeNull();
    expect(parseHostPorts('10.0.0.1,10.0.0.1:7000', 7000)).toBeNull();
    const many = Array.from({ length: MAX_BOOTSTRAPPERS + 1 }, (_, i) => `10.0.0.${i + 1}`).join(',');
    expect(parseHostPorts(many, 7000)).toBeNull();
  });
});
