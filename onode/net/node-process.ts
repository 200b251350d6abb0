/**
 * One overlay process (server, relay node or POP): registers with the bootstrapper (or is it),
 * binds the overlay UDP sockets, runs the OverlayNode on the system clock, streams its movies
 * (servers), serves RTSP (POPs) and GET /status. start() and stop() are idempotent; stop()
 * releases every socket and timer so the process can exit on its own.
 */
import { SystemClock } from '../../common/core/clock.ts';
import { overlayMacKey } from '../../common/security/overlay-keys.ts';
import { BootstrapConnection, BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import type { Logger } from '../../common/net/logger.ts';
import type { BootstrapMessage, NeighbourInfo } from '../../common/wire/bootstrap.ts';
import type { Role, Topology } from '../config/topology.ts';
import { ChannelSource } from '../core/channel-source.ts';
import { Directory } from '../core/directory.ts';
import { DEFAULT_OVERLAY, OverlayNode, type OverlayOptions } from '../core/overlay-node.ts';
import type { MovieLibrary } from '../media/movie-library.ts';
import { BootstrapServer } from './bootstrap-server.ts';
import { OverlayTransport } from './overlay-transport.ts';
import { RtspServer } from './rtsp-server.ts';
import { StatusHttp } from './status-http.ts';

export interface Ports {
  readonly bootstrap: number;
  readonly overlay: number;
  readonly status: number;
  readonly rtsp: number;
}

export interface NodeProcessOptions {
  /** The role the process was started as; it must match the topology's. */
  readonly role: Role;
  /** Where the bootstrapper is; absent when this process is the bootstrapper. */
  readonly bootstrapper?: { readonly host: string; readonly port: number };
  /** The bootstrapper's topology (already mapped to loopback when running on one machine). */
  readonly topology?: Topology;
  readonly emulateLinks?: boolean;
  readonly address?: string;
  readonly movies?: MovieLibrary;
  readonly ports: Ports;
  readonly overlay?: OverlayOptions;
  /** How long to keep trying to reach the bootstrapper at start (ms); default 60 s. */
  readonly waitMs?: number;
  /** The overlay secret every node shares: authenticates datagrams, registrations and operations. */
  readonly secret: Buffer;
  readonly log: Logger;
}

/** A start-up problem the user must fix (wrong role, unknown address...): message, no stack. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}

type Registered = Extract<BootstrapMessage, { type: 'registered' }>;

export class NodeProcess {
  private readonly clock = new SystemClock();
  private node: OverlayNode | null = null;
  private source: ChannelSource | null = null;
  private transport: OverlayTransport | null = null;
  private bootstrapServer: BootstrapServer | null = null;
  private connection: BootstrapConnection | null = null;
  private rtsp: RtspServer | null = null;
  private http: StatusHttp | null = null;
  private info: Registered | null = null;
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();

  constructor(private readonly opts: NodeProcessOptions) {}

  get name(): string | null {
    return this.info?.name ?? null;
  }

  async start(): Promise<void> {
    if (this.node !== null) return;
    const info = this.opts.bootstrapper === undefined ? await this.becomeBootstrapper() : await this.register();
    if (info.role !== this.opts.role) {
      throw new NodeStartError(`the topology says ${info.name} (${info.addresses.join(', ')}) is a ${info.role}, but this process was started as a ${this.opts.role}; run 'onode ${info.role} ...' on that host`);
    }
    this.info = info;
    const log = this.opts.log;
    const transport = new OverlayTransport({
      self: info.name, addresses: info.addresses, port: this.opts.ports.overlay, emulateLinks: info.emulateLinks,
      key: overlayMacKey(this.opts.secret), log,
    });
    this.transport = transport;
    if (info.role === 'server') {
      const library = this.opts.movies ?? { movies: [], catalogue: [], skipped: [] };
      this.source = new ChannelSource(this.clock, library.movies, library.catalogue, (movie, rtp) => this.node?.onSourcePacket(movie, rtp));
    }
    const node = new OverlayNode(info.name, this.clock, transport, this.source, this.opts.overlay ?? DEFAULT_OVERLAY);
    this.node = node;
    transport.onPacket = (from, msg) => node.receive(from, msg);
    await transport.start();
    this.applyNeighbours(info.neighbours);
    node.start();
    if (info.role === 'pop') {
      const addresses = info.clientAddresses.length > 0 ? info.clientAddresses : info.addresses;
      this.rtsp = new RtspServer(addresses, this.opts.ports.rtsp, {
        clock: this.clock,
        catalogue: () => node.catalogue(),
        join: (m, id, r) => node.localJoin(m, id, r),
        leave: (m, id) => node.localLeave(m, id),
        repair: (m, ssrc, seqs) => node.tree.cached(m, ssrc, seqs),
        latestFrame: (m) => node.tree.latestFrame(m),
      }, log);
      await this.rtsp.start();
    }
    this.http = new StatusHttp(info.addresses, this.opts.ports.status, () => this.report(), (body) => this.fault(body));
    await this.http.start();
    log.info(`${info.name} (${info.role}) up on ${info.addresses.join(', ')}; neighbours ${info.neighbours.map((n) => n.name).join(', ') || 'none'}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.connection?.close();
    this.source?.stopAll();
    this.node?.stop();
    await this.rtsp?.stop();
    await this.http?.stop();
    await this.bootstrapServer?.stop();
    await this.transport?.stop();
  }

  report(): Record<string, unknown> {
    const node = this.node;
    const info = this.info;
    if (node === null || info === null) return { name: null, role: this.opts.role, pid: process.pid, state: 'starting' };
    const addressOf = new Map(info.neighbours.map((n) => [n.name, n.address]));
    const sessions = this.rtsp?.sessions.list() ?? [];
    const clientOf = new Map(sessions.map((s) => [s.id, s.client]));
    return {
      name: info.name,
      role: info.role,
      pid: process.pid,
      addresses: info.addresses,
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      bootstrapper: this.opts.bootstrapper === undefined ? 'self' : `${this.opts.bootstrapper.host}:${this.opts.bootstrapper.port}`,
      neighbours: node.neighbours().map((n) => ({
        name: n.name, address: addressOf.get(n.name) ?? null, alive: n.alive,
        rttMs: n.rttMs === null ? null : round(n.rttMs), failures: n.failures,
      })),
      routes: node.bestRoutes().map((r) => ({ ...r, latencyMs: round(r.latencyMs) })),
      streams: node.streams().map((s) => ({
        movie: s.movie, state: s.state, upstream: s.upstream, rootPath: s.rootPath, downstream: s.downstream,
        clients: s.clients.map((id) => clientOf.get(id) ?? id), ...s.counters,
      })),
      faults: { cut: [...(this.transport?.cut ?? [])] },
      recovery: {
        linkFailures: node.neighbours().reduce((n, x) => n + x.failures, 0),
        reroutes: node.tree.counters.reroutes,
        switches: node.tree.counters.switches,
        repairsRequested: node.tree.counters.repairsRequested,
        repairsServed: node.tree.counters.repairsServed,
        lastEvent: node.tree.lastEvent === null ? null : { ...node.tree.lastEvent, agoMs: Math.round(this.clock.now() - node.tree.lastEvent.at) },
      },
      catalogue: node.catalogue(),
      sessions,
      counters: {
        transport: this.transport?.counters, tree: node.tree.counters, probes: node.probes.counters, node: node.counters,
        ...(this.rtsp ? { rtsp: this.rtsp.sessions.counters } : {}),
        ...(this.bootstrapServer ? { bootstrapper: this.bootstrapServer.counters } : {}),
      },
      ...(this.bootstrapServer ? { registered: this.directoryNames() } : {}),
    };
  }

  private directoryNames: () => string[] = () => [];

  /** POST /faults {"cut": [names]} / {"restore": [names]}: cut or restore links to neighbours, for experiments. */
  private fault(body: unknown): { status: number; body: unknown } {
    const transport = this.transport;
    const names = new Set(this.info?.neighbours.map((n) => n.name) ?? []);
    if (transport === null || typeof body !== 'object' || body === null) return { status: 400, body: { error: 'expected {"cut": [...]} or {"restore": [...]}' } };
    const b = body as { cut?: unknown; restore?: unknown };
    const lists = [b.cut, b.restore].map((v) => (v === undefined ? [] : v));
    if (!lists.every((l) => Array.isArray(l) && l.every((x) => typeof x === 'string'))) {
      return { status: 400, body: { error: '"cut" and "restore" are lists of neighbour names' } };
    }
    const [cut, restore] = lists as [string[], string[]];
    const unknown = [...cut, ...restore].filter((n) => !names.has(n));
    if (unknown.length > 0) return { status: 404, body: { error: `not neighbours of ${this.info?.name}: ${unknown.join(', ')}`, neighbours: [...names] } };
    for (const n of cut) transport.cut.add(n);
    for (const n of restore) transport.cut.delete(n);
    if (cut.length + restore.length > 0) this.opts.log.info(`fault injection: cut [${[...transport.cut].join(', ')}]`);
    return { status: 200, body: { name: this.info?.name, cut: [...transport.cut] } };
  }

  private async becomeBootstrapper(): Promise<Registered> {
    const topo = this.opts.topology;
    if (topo === undefined) throw new NodeStartError('the bootstrapper needs --topology FILE');
    const me = topo.nodes.get(topo.bootstrapper);
    if (me === undefined) throw new NodeStartError(`bootstrapper ${topo.bootstrapper} is not in ${topo.source}`);
    if (this.opts.address !== undefined && !me.addresses.includes(this.opts.address)) {
      throw new NodeStartError(`--address ${this.opts.address} is not an address of the bootstrapper ${me.name} in ${topo.source} (it has ${me.addresses.join(', ')})`);
    }
    const directory = new Directory(topo, this.opts.emulateLinks ?? false);
    this.directoryNames = () => directory.registered().sort();
    const server = new BootstrapServer(directory, me.addresses, this.opts.ports.bootstrap, () => this.node?.catalogue() ?? [], this.opts.log);
    server.onLocalNotice = (msg) => this.onNotice(msg);
    await server.start();
    this.bootstrapServer = server;
    server.registerSelf(me.addresses[0] ?? '');
    return {
      type: 'registered', name: me.name, role: me.role, addresses: me.addresses, clientAddresses: me.clientAddresses,
      neighbours: directory.neighbours(me.name), emulateLinks: this.opts.emulateLinks ?? false,
    };
  }

  /** Connects and registers, retrying until the bootstrapper answers or waitMs passes. */
  private async register(): Promise<Registered> {
    const deadline = Date.now() + (this.opts.waitMs ?? 60_000);
    let warned = false;
    for (;;) {
      try {
        return await this.registerOnce();
      } catch (err) {
        if (!(err instanceof BootstrapUnreachable) || this.stopping || Date.now() > deadline) throw err;
        if (!warned) this.opts.log.info(`${err.message}; retrying`);
        warned = true;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  private async registerOnce(): Promise<Registered> {
    const b = this.opts.bootstrapper;
    if (b === undefined) throw new Error('unreachable');
    const conn = await BootstrapConnection.open({ host: b.host, port: b.port, ...(this.opts.address ? { localAddress: this.opts.address } : {}) });
    const reply = conn.next(5000);
    conn.send({ type: 'register', pid: process.pid });
    let msg: BootstrapMessage;
    try {
      msg = await reply;
    } catch (err) {
      conn.close();
      throw err;
    }
    if (msg.type === 'error') {
      conn.close();
      throw new NodeStartError(`the bootstrapper refused this node: ${msg.detail}`);
    }
    if (msg.type !== 'registered') {
      conn.close();
      throw new BootstrapUnreachable(`unexpected ${msg.type} from the bootstrapper`);
    }
    this.connection = conn;
    conn.onMessage = (m) => this.onNotice(m);
    conn.onClose = () => this.bootstrapperLost();
    return msg;
  }

  private onNotice(msg: BootstrapMessage): void {
    if (msg.type === 'neighbour-down') this.node?.neighbourLost(msg.name);
    // neighbour-up needs nothing: hellos bring the link up as soon as the neighbour sends them.
  }

  /** Streams keep flowing without the bootstrapper; keep trying to re-register in the background. */
  private bootstrapperLost(): void {
    if (this.stopping) return;
    this.opts.log.warn('lost the bootstrapper; streams continue, re-registering in the background');
    const retry = (): void => {
      this.reconnectTimer = null;
      if (this.stopping) return;
      this.registerOnce().then((info) => {
        this.opts.log.info('re-registered with the bootstrapper');
        this.info = info;
        this.applyNeighbours(info.neighbours);
      }).catch(() => {
        this.reconnectTimer = setTimeout(retry, 1000);
      });
    };
    this.reconnectTimer = setTimeout(retry, 500);
  }

  private applyNeighbours(list: readonly NeighbourInfo[]): void {
    this.transport?.setNeighbours(list);
    this.node?.setNeighbours(list.map((n) => n.name));
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
