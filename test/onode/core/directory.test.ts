import { describe, expect, it } from 'vitest';
import { decodeBootstrap, encodeBootstrap, type BootstrapMessage } from '../../../common/wire/bootstrap.ts';
import { parseTopology, type Topology } from '../../../onode/config/topology.ts';
import { Directory, normalise } from '../../../onode/core/directory.ts';
import { ADDRESS, signingKey, smallTopology } from './bootstrap-fixtures.ts';

const link = (delayMs: number, lossPct: number, rateKbps: number | null) => ({ delayMs, lossPct, rateKbps, up: false });
const movie = { name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 };

describe('Directory', () => {
  it('finds the node an address belongs to, IPv4-mapped IPv6 included', () => {
    const d = new Directory(smallTopology(), false);
    expect(d.nodeAt('10.9.2.2')?.name).toBe('n1');
    expect(d.nodeAt('::ffff:10.9.3.2')?.name).toBe('p1');
    expect(d.nodeAt('10.9.9.9')).toBeUndefined();
    expect(normalise('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(d.bootstrapper).toBe('b');
  });

  it('tells a registering node its role, addresses and neighbours, with both ends of each link', () => {
    const d = new Directory(smallTopology(), true);
    const reg = d.register(3, 'n1');
    expect(reg?.reply).toEqual({
      type: 'registered',
      name: 'n1',
      role: 'node',
      addresses: ['10.9.1.2', '10.9.2.2', '10.9.3.1'],
      clientAddresses: [],
      emulateLinks: true,
      serverKeys: [],
      neighbours: [
        { name: 'b', role: 'server', address: '10.9.1.1', localAddress: '10.9.1.2', ...link(2, 0, null) },
        { name: 'p1', role: 'pop', address: '10.9.3.2', localAddress: '10.9.3.1', ...link(4, 1, null) },
        { name: 's2', role: 'server', address: '10.9.2.1', localAddress: '10.9.2.2', ...link(3, 0, 10000) },
      ],
    });
    expect(reg?.notices).toEqual([]);
    expect(reg?.replaced).toBeUndefined();
    expect(d.isRegistered('n1')).toBe(true);
    expect(d.connectionOf('n1')).toBe(3);
  });

  it('tells registered neighbours a node is up, and that it is gone when its connection closes', () => {
    const d = new Directory(smallTopology(), false);
    d.register(0, 'b');
    d.register(5, 'p1');
    const reg = d.register(6, 'n1');
    expect(reg?.reply.neighbours.map((n) => [n.name, n.up])).toEqual([
      ['b', true],
      ['p1', true],
      ['s2', false],
    ]);
    expect(reg?.notices).toEqual([
      { to: 'b', msg: { type: 'neighbour-up', name: 'n1' } },
      { to: 'p1', msg: { type: 'neighbour-up', name: 'n1' } },
    ]);
    expect(d.lost(6)).toEqual([
      { to: 'b', msg: { type: 'neighbour-down', name: 'n1' } },
      { to: 'p1', msg: { type: 'neighbour-down', name: 'n1' } },
    ]);
    expect(d.registered().sort()).toEqual(['b', 'p1']);
    expect(d.lost(99)).toEqual([]);
  });

  it('a re-registration on a new connection reports the one it displaced; the old one closing changes nothing', () => {
    const d = new Directory(smallTopology(), false);
    d.register(0, 'b');
    d.register(4, 'n1');
    const again = d.register(7, 'n1');
    expect(again?.replaced).toBe(4);
    expect(d.lost(4)).toEqual([]);
    expect(d.connectionOf('n1')).toBe(7);
  });

  it('refuses a name that is not in the topology', () => {
    expect(new Directory(smallTopology(), false).register(1, 'x9')).toBeUndefined();
  });

  it("keeps servers' signing keys and tells every other registered node of a new or changed one", () => {
    const d = new Directory(smallTopology(), false);
    const kb = signingKey();
    const k2 = signingKey();
    d.register(0, 'b', kb);
    d.register(2, 'p1');
    const first = d.register(3, 's2', k2);
    expect(first?.reply.serverKeys).toEqual([
      { server: 'b', key: kb },
      { server: 's2', key: k2 },
    ]);
    expect(first?.notices.filter((n) => n.msg.type === 'server-key')).toEqual([
      { to: 'b', msg: { type: 'server-key', server: 's2', key: k2 } },
      { to: 'p1', msg: { type: 'server-key', server: 's2', key: k2 } },
    ]);
    // The same key again (a reconnect): nobody needs telling.
    expect(d.register(4, 's2', k2)?.notices.filter((n) => n.msg.type === 'server-key')).toEqual([]);
    // A restarted server has a new key.
    const k3 = signingKey();
    expect(d.register(5, 's2', k3)?.notices.filter((n) => n.msg.type === 'server-key')).toHaveLength(2);
    expect(d.serverKeys()).toEqual([
      { server: 'b', key: kb },
      { server: 's2', key: k3 },
    ]);
  });

  it('only servers have signing keys', () => {
    const d = new Directory(smallTopology(), false);
    d.register(1, 'n1', signingKey());
    expect(d.serverKeys()).toEqual([]);
  });

  it("welcomes a client with every POP's client addresses, the catalogue and the server keys", () => {
    const d = new Directory(smallTopology(), false);
    const k = signingKey();
    d.register(0, 'b', k);
    expect(d.welcome([movie])).toEqual({
      type: 'welcome',
      pops: [{ name: 'p1', addresses: ['10.9.100.1'] }],
      catalogue: [movie],
      serverKeys: [{ server: 'b', key: k }],
    });
    expect(d.infoFor(d.nodeAt(ADDRESS.p1)!).name).toBe('p1');
  });
});

/**
 *   s1 ── a ── pa (POP, client address)
 *          \── pb (POP without client addresses: clients use its first address)
 */
function twoPops(): Topology {
  const t = parseTopology(
    `{
    bootstrapper: 's1',
    nodes: {
      s1: { role: 'server', addresses: ['10.8.1.1'] },
      a: { role: 'node', addresses: ['10.8.1.2', '10.8.2.1', '10.8.3.1'] },
      pa: { role: 'pop', addresses: ['10.8.2.2', '10.8.100.1'], clientAddresses: ['10.8.100.1'] },
      pb: { role: 'pop', addresses: ['10.8.3.2', '10.8.101.1'], clientAddresses: ['10.8.101.1'] },
    },
    links: [{ between: ['s1', 'a'] }, { between: ['a', 'pa'] }, { between: ['a', 'pb'] }],
  }`,
    'two-pops.json5',
  );
  // As a legacy file loads a POP: no client addresses of its own.
  const nodes = new Map(t.nodes);
  const pb = nodes.get('pb');
  if (pb !== undefined) nodes.set('pb', { ...pb, clientAddresses: [] });
  return { ...t, nodes };
}

/** What the receiver decodes from the line the bootstrapper writes. */
const overTheWire = (msg: BootstrapMessage): unknown => decodeBootstrap(encodeBootstrap(msg).trimEnd());

describe('Directory answers', () => {
  it('lists every POP for a client: its client addresses, or else its first address', () => {
    const d = new Directory(twoPops(), false);
    expect(d.welcome([]).pops).toEqual([
      { name: 'pa', addresses: ['10.8.100.1'] },
      { name: 'pb', addresses: ['10.8.3.2'] },
    ]);
  });

  it('tells a POP its client addresses', () => {
    const reply = new Directory(twoPops(), false).register(1, 'pa')?.reply;
    expect(reply).toMatchObject({
      role: 'pop',
      addresses: ['10.8.2.2', '10.8.100.1'],
      clientAddresses: ['10.8.100.1'],
    });
    expect(reply?.neighbours.map((n) => [n.name, n.address, n.localAddress])).toEqual([['a', '10.8.2.1', '10.8.2.2']]);
  });

  it("keeps a departed node's neighbours informed: down, then up again when it re-registers", () => {
    const d = new Directory(twoPops(), false);
    d.register(1, 'a');
    d.register(2, 'pa');
    expect(d.lost(1)).toEqual([{ to: 'pa', msg: { type: 'neighbour-down', name: 'a' } }]);
    expect(d.neighbours('pa')).toMatchObject([{ name: 'a', up: false }]);
    expect(d.register(3, 'a')?.notices).toEqual([{ to: 'pa', msg: { type: 'neighbour-up', name: 'a' } }]);
    expect(d.neighbours('pa')).toMatchObject([{ name: 'a', up: true }]);
  });

  it("keeps a server's key after its connection closes, until it registers a new one", () => {
    const d = new Directory(twoPops(), false);
    const k = signingKey();
    d.register(1, 's1', k);
    d.lost(1);
    expect(d.isRegistered('s1')).toBe(false);
    expect(d.serverKeys()).toEqual([{ server: 's1', key: k }]);
    expect(d.welcome([]).serverKeys).toEqual([{ server: 's1', key: k }]);
  });

  it('answers with nothing the codec would refuse: every reply, notice and welcome decodes to itself', () => {
    const d = new Directory(smallTopology(), true);
    const sent: BootstrapMessage[] = [];
    for (const [conn, name] of [
      [1, 'b'],
      [2, 'p1'],
      [3, 'n1'],
      [4, 's2'],
    ] as const) {
      const reg = d.register(conn, name, name === 'b' || name === 's2' ? signingKey() : undefined);
      if (reg === undefined) throw new Error(`${name} did not register`);
      sent.push(reg.reply, ...reg.notices.map((n) => n.msg));
    }
    sent.push(...d.lost(3).map((n) => n.msg), d.welcome([movie]));
    expect(sent.map((m) => m.type)).toContain('server-key');
    expect(sent.map((m) => m.type)).toContain('neighbour-down');
    for (const msg of sent) expect(overTheWire(msg), msg.type).toEqual({ ok: true, value: msg });
  });
});
