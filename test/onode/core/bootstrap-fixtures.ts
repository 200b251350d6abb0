/** A small topology and helpers shared by the Directory, desk and handshake tests. */
import { generateKeyPairSync } from 'node:crypto';
import { parseTopology, type Topology } from '../../../onode/config/topology.ts';
import { rawEd25519 } from '../../../common/security/server-keyring.ts';
import { VirtualClock } from '../../../common/core/clock.ts';
import {
  decodeBootstrap,
  encodeBootstrap,
  MAX_LINE_TO_BOOTSTRAPPER,
  type BootstrapMessage,
  type SealedMessage,
} from '../../../common/wire/bootstrap.ts';
import type { TelemetryReport } from '../../../common/wire/dashboard-api.ts';
import { BootstrapDesk } from '../../../onode/core/bootstrap-desk.ts';
import { Directory } from '../../../onode/core/directory.ts';
import type { Registrant } from '../../../onode/core/registrant.ts';

/**
 *   b (server, bootstrapper) ── n1 ── p1 (pop)
 *                                │
 *                               s2 (server)
 */
export function smallTopology(): Topology {
  return parseTopology(
    `{
    bootstrapper: 'b',
    nodes: {
      b: { role: 'server', addresses: ['10.9.1.1'] },
      s2: { role: 'server', addresses: ['10.9.2.1'] },
      n1: { role: 'node', addresses: ['10.9.1.2', '10.9.2.2', '10.9.3.1'] },
      p1: { role: 'pop', addresses: ['10.9.3.2', '10.9.100.1'], clientAddresses: ['10.9.100.1'] },
    },
    links: [
      { between: ['b', 'n1'], delayMs: 2 },
      { between: ['s2', 'n1'], delayMs: 3, rateKbps: 10000 },
      { between: ['n1', 'p1'], delayMs: 4, lossPct: 1 },
    ],
  }`,
    'small.json5',
  );
}

export const ADDRESS = { b: '10.9.1.1', s2: '10.9.2.1', n1: '10.9.1.2', p1: '10.9.3.2' } as const;

/** A fresh server signing key, as it travels: base64 of the raw 32 bytes. */
export function signingKey(): string {
  return rawEd25519(generateKeyPairSync('ed25519').publicKey).toString('base64');
}

/**
 * A BootstrapDesk wired to in-memory connections: every message crosses the real codec both ways
 * (encoded, then decoded with each direction's line limit), and each connection records what it
 * received and whether the desk ended or destroyed it.
 */
export class DeskHarness {
  readonly clock = new VirtualClock();
  readonly directory: Directory;
  readonly desk: BootstrapDesk;
  readonly conns = new Map<number, TestConn>();
  readonly local: BootstrapMessage[] = [];
  readonly logs: string[] = [];
  /** Reports and membership changes the desk passed on (the dashboard's store takes them). */
  readonly reports: { name: string; report: TelemetryReport }[] = [];
  readonly membership: string[] = [];
  catalogueCalls = 0;
  private next = 1;

  constructor(
    readonly secret: Buffer,
    topology = smallTopology(),
    referenceNow?: () => number,
  ) {
    this.directory = new Directory(topology, false);
    const log =
      (level: string) =>
      (m: string): void =>
        void this.logs.push(`${level}: ${m}`);
    this.desk = new BootstrapDesk({
      directory: this.directory,
      secret,
      clock: this.clock,
      ...(referenceNow ? { referenceNow } : {}),
      catalogue: () => {
        this.catalogueCalls++;
        return [{ name: 'bars.mjpeg', fps: 25, width: 320, height: 240, frames: 100 }];
      },
      log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      out: {
        send: (conn, msg) => this.conns.get(conn)?.take(msg),
        end: (conn, msg) => {
          const c = this.conns.get(conn);
          c?.take(msg);
          if (c !== undefined) c.ended = true;
        },
        destroy: (conn) => {
          const c = this.conns.get(conn);
          if (c === undefined || c.closed) return;
          c.destroyed = true;
          c.close();
        },
        local: (msg) => this.local.push(msg),
        report: (name, report) => this.reports.push({ name, report }),
        membership: (name, change) => this.membership.push(`${name} ${change}`),
      },
    });
  }

  connect(address: string): TestConn {
    const conn = new TestConn(this.next++, address, this);
    this.conns.set(conn.id, conn);
    this.desk.accept(conn.id, address);
    return conn;
  }

  /** A node's whole handshake on a new connection from its address; returns the connection and the node's view. */
  register(address: string, me: Registrant): { conn: TestConn; registered: SealedMessage | null } {
    const conn = this.connect(address);
    conn.send(me.register());
    const challenge = conn.inbox.at(-1);
    if (challenge?.type !== 'challenge') return { conn, registered: null };
    conn.send(me.prove(challenge));
    const sealed = conn.inbox.at(-1);
    if (sealed?.type !== 'sealed') return { conn, registered: null };
    const opened = me.open(sealed);
    return { conn, registered: opened.ok ? opened.value : null };
  }
}

export class TestConn {
  readonly inbox: BootstrapMessage[] = [];
  ended = false;
  destroyed = false;
  closed = false;

  constructor(
    readonly id: number,
    readonly address: string,
    private readonly h: DeskHarness,
  ) {}

  send(msg: BootstrapMessage): void {
    this.line(encodeBootstrap(msg).trimEnd());
  }

  line(text: string): void {
    if (this.closed) return;
    if (Buffer.byteLength(text) > MAX_LINE_TO_BOOTSTRAPPER) return this.h.desk.oversize(this.id);
    // As the server does: a line over a member's report budget is dropped unread.
    if (this.h.desk.admits(this.id)) this.h.desk.receive(this.id, decodeBootstrap(text, MAX_LINE_TO_BOOTSTRAPPER));
  }

  take(msg: BootstrapMessage): void {
    if (this.closed) return;
    const d = decodeBootstrap(encodeBootstrap(msg).trimEnd());
    if (!d.ok) throw new Error(`the desk sent an undecodable ${msg.type}: ${d.reason}`);
    this.inbox.push(d.value);
  }

  /** The peer hangs up (or the desk closed it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.h.desk.closed(this.id);
  }

  /** The sealed messages received after `registered`, opened by the node's Registrant. */
  notices(me: Registrant): SealedMessage[] {
    return this.inbox
      .filter((m) => m.type === 'sealed')
      .slice(1)
      .flatMap((m) => {
        const o = m.type === 'sealed' ? me.open(m) : null;
        return o?.ok ? [o.value] : [];
      });
  }
}
