/**
 * The registration handshake in-process: the bootstrapper's desk and nodes' Registrants speaking
 * through the real codec, with the right and the wrong overlay secret, replayed and forged proofs.
 */
import { describe, expect, it } from 'vitest';
import { nodeKey } from '../../../common/security/overlay-keys.ts';
import { sealMac } from '../../../common/security/registration-proof.ts';
import type { BootstrapMessage } from '../../../common/wire/bootstrap.ts';
import { WRONG_SECRET } from '../../../onode/core/bootstrap-desk.ts';
import { Registrant } from '../../../onode/core/registrant.ts';
import { ADDRESS, DeskHarness, signingKey } from './bootstrap-fixtures.ts';

const SECRET = Buffer.from('the overlay secret of this test run');
const OTHER = Buffer.from('another overlay secret, not this run');

function setup(): DeskHarness {
  const h = new DeskHarness(SECRET);
  h.desk.registerSelf('b', signingKey());
  return h;
}

const types = (msgs: readonly BootstrapMessage[]): string[] => msgs.map((m) => m.type);

describe('registration handshake', () => {
  it('with the right secret: challenged by the name its address maps to, registered, sealed answer verified', () => {
    const h = setup();
    const me = new Registrant(SECRET, 1234);
    const { conn, registered } = h.register(ADDRESS.n1, me);
    expect(types(conn.inbox)).toEqual(['challenge', 'sealed']);
    expect(conn.inbox[0]).toMatchObject({ type: 'challenge', name: 'n1' });
    expect(me.name).toBe('n1');
    expect(registered).toMatchObject({ type: 'registered', name: 'n1', role: 'node' });
    expect(registered?.type === 'registered' && registered.neighbours.map((n) => n.name)).toEqual(['b', 'p1', 's2']);
    expect(h.directory.connectionOf('n1')).toBe(conn.id);
    expect(h.desk.counters).toMatchObject({ registrations: 1, badProof: 0, pending: 0 });
    expect(h.local).toEqual([{ type: 'neighbour-up', name: 'n1' }]);
    expect(h.logs).toContain('info: n1 registered from 10.9.1.2 (pid 1234)');
  });

  it('with the wrong secret: refused with a clear reason, counted, closed, nothing registered', () => {
    const h = setup();
    const me = new Registrant(OTHER, 1);
    const { conn, registered } = h.register(ADDRESS.n1, me);
    expect(registered).toBeNull();
    expect(conn.inbox.at(-1)).toEqual({ type: 'error', reason: 'bad-proof', detail: WRONG_SECRET });
    expect(conn.ended).toBe(true);
    expect(h.desk.counters.badProof).toBe(1);
    expect(h.directory.isRegistered('n1')).toBe(false);
    expect(h.local).toEqual([]);
    expect(h.logs).toContain(`warn: refused n1 from 10.9.1.2: ${WRONG_SECRET}`);
  });

  it("a replayed proof (recorded on another connection) is refused: the bootstrapper's nonce is new each time", () => {
    const h = setup();
    const me = new Registrant(SECRET, 1);
    const first = h.register(ADDRESS.n1, me);
    const recordedRegister = me.register();
    const challenge = first.conn.inbox[0];
    if (challenge?.type !== 'challenge') throw new Error('no challenge');
    const recordedProve = new Registrant(SECRET, 1, undefined, me.nonce).prove(challenge);

    const replay = h.connect(ADDRESS.n1);
    replay.send(recordedRegister);
    expect(replay.inbox[0]).toMatchObject({ type: 'challenge', name: 'n1' });
    expect(replay.inbox[0]).not.toEqual(challenge);
    replay.send(recordedProve);
    expect(replay.inbox.at(-1)).toMatchObject({ type: 'error', reason: 'bad-proof' });
    expect(types(replay.inbox)).not.toContain('sealed');
    expect(h.desk.counters.badProof).toBe(1);
    expect(h.directory.connectionOf('n1')).toBe(first.conn.id);
    expect(first.conn.destroyed).toBe(false);
  });

  it("without proof, a connection from a registered node's address displaces nothing and learns no neighbour", () => {
    const h = setup();
    h.register(ADDRESS.p1, new Registrant(SECRET, 1));
    const real = h.register(ADDRESS.n1, new Registrant(SECRET, 2));
    const before = h.local.length;
    const impostor = h.register(ADDRESS.n1, new Registrant(OTHER, 3));
    expect(impostor.registered).toBeNull();
    expect(types(impostor.conn.inbox)).toEqual(['challenge', 'error']);
    expect(JSON.stringify(impostor.conn.inbox)).not.toContain('neighbours');
    expect(real.conn.destroyed).toBe(false);
    expect(h.directory.connectionOf('n1')).toBe(real.conn.id);
    // Neither the bootstrapper's node nor p1 heard that n1 went or came.
    expect(h.local.length).toBe(before);
    expect(types(h.conns.get(1)!.inbox)).toEqual(['challenge', 'sealed', 'sealed']); // p1: registered, n1 up
    // The impostor hanging up changes nothing either.
    impostor.conn.close();
    expect(h.directory.connectionOf('n1')).toBe(real.conn.id);
  });

  it('with proof, a re-registration (a restarted process) replaces the old connection', () => {
    const h = setup();
    const old = h.register(ADDRESS.n1, new Registrant(SECRET, 2));
    const restarted = h.register(ADDRESS.n1, new Registrant(SECRET, 3));
    expect(restarted.registered?.type).toBe('registered');
    expect(old.conn.destroyed).toBe(true);
    expect(h.directory.connectionOf('n1')).toBe(restarted.conn.id);
    expect(h.local.filter((m) => m.type === 'neighbour-down')).toEqual([]); // no flap for the neighbours
    expect(h.logs).toContain('info: n1 registered from 10.9.1.2 (pid 3), replacing its old connection');
  });

  it('a node notices a sealed notice that went missing (a gap in the sequence)', () => {
    const h = setup();
    const me = new Registrant(SECRET, 1);
    const { conn } = h.register(ADDRESS.n1, me);
    const challenge = conn.inbox[0];
    const sealed = conn.inbox[1];
    if (challenge?.type !== 'challenge' || sealed?.type !== 'sealed') throw new Error('no handshake');
    const session = { name: 'n1', nodeNonce: me.nonce, bootNonce: challenge.nonce };
    const notice = (seq: number) => {
      const body = JSON.stringify({ type: 'neighbour-down', name: 'p1' });
      return { seq, body, mac: sealMac(nodeKey(SECRET, 'n1'), session, seq, body) };
    };
    expect(me.open(notice(sealed.seq + 2))).toEqual({ ok: false, reason: 'gap' });
    expect(me.open(notice(sealed.seq + 1))).toEqual({ ok: true, value: { type: 'neighbour-down', name: 'p1' } });
  });

  it('a node rejects a forged, tampered, replayed or misdirected sealed answer', () => {
    const h = setup();
    const me = new Registrant(SECRET, 1);
    const { conn, registered } = h.register(ADDRESS.n1, me);
    expect(registered).not.toBeNull();
    const sealed = conn.inbox[1];
    if (sealed?.type !== 'sealed') throw new Error('no sealed answer');
    // Replayed: the same sealed message again.
    expect(me.open(sealed)).toEqual({ ok: false, reason: 'replayed' });
    // Tampered: another neighbour list under the real MAC.
    const body = sealed.body.replace('"10.9.1.1"', '"10.9.66.6"');
    expect(body).not.toBe(sealed.body);
    expect(me.open({ ...sealed, seq: 5, body })).toEqual({ ok: false, reason: 'bad-mac' });
    // A higher sequence number under the old MAC.
    expect(me.open({ ...sealed, seq: 5 })).toEqual({ ok: false, reason: 'bad-mac' });

    // A fake bootstrapper without the secret: it can challenge, but not seal.
    const victim = new Registrant(SECRET, 1);
    victim.prove({ name: 'n1', nonce: Buffer.alloc(32, 1).toString('base64') });
    const forged = JSON.stringify({
      type: 'registered',
      name: 'n1',
      role: 'node',
      addresses: ['10.9.1.2'],
      clientAddresses: [],
      neighbours: [],
      emulateLinks: false,
      serverKeys: [{ server: 's2', key: signingKey() }],
    });
    const fakeKey = nodeKey(OTHER, 'n1');
    const session = { name: 'n1', nodeNonce: victim.nonce, bootNonce: Buffer.alloc(32, 1).toString('base64') };
    const mac = sealMac(fakeKey, session, 0, forged);
    expect(victim.open({ seq: 0, body: forged, mac })).toEqual({ ok: false, reason: 'bad-mac' });
    // The real bootstrapper's seal for another connection (another node nonce) does not open either.
    expect(victim.open(sealed)).toEqual({ ok: false, reason: 'bad-mac' });
    // Before any challenge there is nothing to check against.
    expect(new Registrant(SECRET, 1).open(sealed)).toEqual({ ok: false, reason: 'not-challenged' });
  });

  it('the proof covers the signing key: a key swapped in transit is refused', () => {
    const h = setup();
    const me = new Registrant(SECRET, 1, signingKey());
    const conn = h.connect(ADDRESS.s2);
    conn.send(me.register());
    const challenge = conn.inbox[0];
    if (challenge?.type !== 'challenge') throw new Error('no challenge');
    const prove = me.prove(challenge);
    conn.send({ ...prove, signingKey: signingKey() } as BootstrapMessage);
    expect(conn.inbox.at(-1)).toMatchObject({ type: 'error', reason: 'bad-proof' });
    expect(h.directory.serverKeys().map((k) => k.server)).toEqual(['b']);
  });

  it('a signing key proven by a node that is not a server is not recorded', () => {
    const h = setup();
    const { registered } = h.register(ADDRESS.n1, new Registrant(SECRET, 1, signingKey()));
    expect(registered?.type).toBe('registered');
    expect(h.directory.serverKeys().map((k) => k.server)).toEqual(['b']);
  });

  it("a server's key reaches every registered node, sealed, and the bootstrapper's own node", () => {
    const h = setup();
    const pop = new Registrant(SECRET, 1);
    const p1 = h.register(ADDRESS.p1, pop);
    const key = signingKey();
    const s2 = h.register(ADDRESS.s2, new Registrant(SECRET, 2, key));
    expect(s2.registered?.type === 'registered' && s2.registered.serverKeys.map((k) => k.server)).toEqual(['b', 's2']);
    expect(p1.conn.notices(pop)).toEqual([{ type: 'server-key', server: 's2', key }]);
    expect(h.local).toContainEqual({ type: 'server-key', server: 's2', key });
    // And a client's welcome carries it.
    expect(h.desk.welcome().serverKeys).toContainEqual({ server: 's2', key });
  });

  it("an address that is no node's, and the bootstrapper's own address, are refused before any challenge", () => {
    const h = setup();
    const stranger = h.connect('10.9.99.99');
    stranger.send(new Registrant(SECRET, 1).register());
    expect(types(stranger.inbox)).toEqual(['error']);
    expect(stranger.inbox[0]).toMatchObject({ reason: 'unknown-address' });
    const self = h.connect(ADDRESS.b);
    self.send(new Registrant(SECRET, 1).register());
    expect(self.inbox[0]).toMatchObject({ type: 'error', reason: 'is-bootstrapper' });
    expect(h.desk.counters.refused).toBe(2);
  });

  it("the bootstrapper's node hears when a registered node goes; a displaced connection closing says nothing", () => {
    const h = setup();
    const first = h.register(ADDRESS.n1, new Registrant(SECRET, 1));
    const second = h.register(ADDRESS.n1, new Registrant(SECRET, 2));
    first.conn.close();
    expect(h.local.filter((m) => m.type === 'neighbour-down')).toEqual([]);
    second.conn.close();
    expect(h.local.filter((m) => m.type === 'neighbour-down')).toEqual([{ type: 'neighbour-down', name: 'n1' }]);
    expect(h.logs).toContain('info: n1 is gone');
  });
});
