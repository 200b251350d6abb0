/**
 * One overlay process (server, relay node or POP): registers with the bootstrapper (or is it),
 * binds the overlay UDP sockets, runs the OverlayNode on the system clock, streams its movies
 * (servers), serves RTSP (POPs) and GET /status. start() and stop() are idempotent; stop()
 * releases every socket and timer so the process can exit on its own.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { epochClock, SystemClock } from '../../common/core/clock.ts';
import { Service, type StartContext } from '../../common/core/lifecycle.ts';
import { opsToken, overlayMacKey } from '../../common/security/overlay-keys.ts';
import { BootstrapConnection, BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import type { Logger } from '../../common/net/logger.ts';
import { FrameSigner } from '../../common/security/frame-signature.ts';
import { keyIdOf, rawEd25519, ServerKeyring } from '../../common/security/server-keyring.ts';
import {
  type BootstrapMessage,
  encodeBootstrap,
  type NeighbourInfo,
  type RegisteredMessage,
  type ServerKeyInfo,
} from '../../common/wire/bootstrap.ts';
import type { NodeRole, Topology } from '../config/topology.ts';
import { ChannelSource } from '../core/channel-source.ts';
import { WRONG_SECRET } from '../core/bootstrap-desk.ts';
import type { FrameSigning } from '../core/movie-channel.ts';
import { Directory } from '../core/directory.ts';
import { DEFAULT_OVERLAY, OverlayNode, type OverlayOptions } from '../core/overlay-node.ts';
import { Registrant } from '../core/registrant.ts';
import type { MovieLibrary } from '../media/movie-library.ts';
import { BootstrapServer } from './bootstrap-server.ts';
import { OverlayTransport } from './overlay-transport.ts';
import { RtspServer } from './rtsp-server.ts';
import { buildStatusReport, round } from './status-report.ts';
import { StatusHttp } from './status-http.ts';
import { metricsRoute } from './metrics-route.ts';
import type { FaultsRequest } from '../../common/wire/ops-api.ts';
import type { StatusReport, ViewerStats, ViewersReport } from '../../common/wire/status-api.ts';
import { ViewerTable } from '../core/viewer-table.ts';
import { decodeTelemetryReport } from '../../common/wire/dashboard-api.ts';
import { TelemetryReporter } from '../core/telemetry-reporter.ts';
import { TelemetryStore } from '../core/telemetry-store.ts';
import { DashboardHttp } from './dashboard-http.ts';
import { nodeTelemetrySource } from './telemetry-source.ts';
import { type ReferenceClock, selfReference, TimeSync } from '../core/time-sync.ts';
import type { ClockStatus } from '../../common/wire/status-api.ts';

export interface Ports {
  readonly bootstrap: number;
  readonly overlay: number;
  readonly status: number;
  readonly rtsp: number;
}

export interface NodeProcessOptions {
  /** The role the process was started as; it must match the topology's. */
  readonly role: NodeRole;
  /** Where the bootstrapper is; absent when this process is the bootstrapper. */
  readonly bootstrapper?: { readonly host: string; readonly port: number };
  /** The bootstrapper's topology (already mapped to loopback when running on one machine). */
  readonly topology?: Topology;
  readonly emulateLinks?: boolean;
  readonly address?: string;
  readonly movies?: MovieLibrary;
  readonly ports: Ports;
  readonly overlay?: OverlayOptions;
  /** POPs: how long an RTSP connection without a session may stay idle (ms); default 30 s. */
  readonly rtspIdleTimeoutMs?: number;
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

type Registered = RegisteredMessage;

/** A server's stream-signing key pair (Ed25519). */
export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/** How long each step of the registration handshake may take. */
const REGISTER_STEP_TIMEOUT_MS = 5000;

export class NodeProcess extends Service {
  private readonly clock = new SystemClock();
  private node: OverlayNode | null = null;
  private source: ChannelSource | null = null;
  private transport: OverlayTransport | null = null;
  private bootstrapServer: BootstrapServer | null = null;
  private connection: BootstrapConnection | null = null;
  /** The connection of a registration in progress (not yet `connection`). */
  private registering: BootstrapConnection | null = null;
  private rtsp: RtspServer | null = null;
  private http: StatusHttp | null = null;
  /** POPs: the viewer statistics their RTSP sessions feed (GET /viewers). */
  private viewerTable: ViewerTable | null = null;
  private info: Registered | null = null;
  /** True from stop() (or a failed start) on: the registration loop and re-registration give up. */
  private stopping = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  /** A server's stream-signing key pair, made at start; its public half goes to the bootstrapper. */
  private readonly signing: KeyPair | null;
  /** Every server's stream-signing public key, as the bootstrapper distributes them. */
  readonly keyring = new ServerKeyring();
  /** Sealed bootstrapper messages that failed their check (dropped). */
  private readonly registrationCounters = { badSeal: 0 };
  /** The dashboard's telemetry: the reporter, where it sends (this registration's sealer), the bootstrapper's store. */
  private reporter: TelemetryReporter | null = null;
  /** Sends a report on the current registration; returns the bytes of the line. */
  private reportVia: ((body: string) => number) | null = null;
  private telemetryStore: TelemetryStore | null = null;
  /** What signing frames costs a server (CPU time on this thread). */
  private readonly signCost = { frames: 0, totalMs: 0 };
  /** A server's offset to the bootstrapper's clock, over the registration (null on the bootstrapper, other roles). */
  private timeSync: TimeSync | null = null;
  /** A server's reference clock: its TimeSync, or on the bootstrapper its own (it is the reference). */
  private reference: ReferenceClock | null = null;

  constructor(private readonly opts: NodeProcessOptions) {
    super();
    this.signing = opts.role === 'server' ? generateKeyPairSync('ed25519') : null;
  }

  get name(): string | null {
    return this.info?.name ?? null;
  }

  /**
   * Registers (or becomes the bootstrapper), then binds the overlay, RTSP (POPs) and status ports.
   * Each step registers its release as it opens something; stop() runs them last-first.
   */
  protected async open(ctx: StartContext): Promise<void> {
    this.stopping = false;
    ctx.signal.addEventListener('abort', () => this.disconnect(), { once: true });
    ctx.defer(() => this.disconnect());
    const info = this.opts.bootstrapper === undefined ? await this.becomeBootstrapper(ctx) : await this.register();
    ctx.signal.throwIfAborted();
    if (info.role !== this.opts.role) {
      throw new NodeStartError(
        `the topology says ${info.name} (${info.addresses.join(', ')}) is a ${info.role}, ` +
          `but this process was started as a ${this.opts.role}; run 'onode ${info.role} ...' on that host`,
      );
    }
    this.info = info;
    const log = this.opts.log;
    const transport = new OverlayTransport({
      self: info.name,
      addresses: info.addresses,
      port: this.opts.ports.overlay,
      emulateLinks: info.emulateLinks,
      key: overlayMacKey(this.opts.secret),
      log,
    });
    if (info.role === 'server') {
      this.startTimeSync(ctx);
      const library = this.opts.movies ?? { movies: [], catalogue: [], skipped: [] };
      const emit = (movie: string, rtp: Buffer): void => this.node?.onSourcePacket(movie, rtp);
      const { movies, catalogue } = library;
      // Channels run on the movie's shared timeline, read from the bootstrapper's clock as synchronised.
      const reference = this.reference;
      const shared = reference === null ? undefined : () => reference.now();
      this.source = new ChannelSource(this.clock, movies, catalogue, emit, shared, this.frameSigning());
    }
    // POPs check every stream before their viewers (or the POPs below them) get a packet; relays pass data on.
    const verifyWith = info.role === 'pop' ? this.keyring : null;
    const options = this.opts.overlay ?? DEFAULT_OVERLAY;
    const node = new OverlayNode(info.name, this.clock, transport, this.source, options, verifyWith);
    transport.events.on('packet', (from, msg) => node.receive(from, msg));
    await transport.start();
    ctx.defer(() => transport.stop());
    ctx.signal.throwIfAborted();
    this.transport = transport;
    this.node = node;
    this.applyNeighbours(info.neighbours);
    node.start();
    ctx.defer(() => {
      this.source?.stopAll();
      node.stop();
    });
    if (info.role === 'pop') {
      const rtsp = this.rtspServer(info, node);
      await rtsp.start();
      ctx.defer(() => rtsp.stop());
      ctx.signal.throwIfAborted();
      this.rtsp = rtsp;
    }
    const http = new StatusHttp(
      info.addresses,
      this.opts.ports.status,
      () => this.report(),
      opsToken(this.opts.secret),
      (body) => this.fault(body),
    );
    // GET /metrics (Prometheus) reads the report GET /status built, with the viewers' QoE on POPs;
    // GET /viewers on POPs. All within the status port's one build budget.
    const metrics = { node: info.name, role: info.role, report: () => http.latestReport() as StatusReport };
    http.addRoute('/metrics', metricsRoute({ ...metrics, viewers: () => this.viewers() }));
    if (this.viewerTable !== null)
      http.addJsonRoute('/viewers', (): ViewersReport => ({ at: Date.now(), viewers: this.viewers() }));
    this.startTelemetry(node, transport);
    ctx.defer(() => this.reporter?.stop());
    const store = this.telemetryStore;
    if (store !== null) {
      const dashboard = new DashboardHttp(store, () => this.deskReportCounters());
      dashboard.attach(http);
      ctx.defer(() => dashboard.stop());
    }
    await http.start();
    ctx.defer(() => http.stop());
    this.http = http;
    // Last registered, first run: stop() leaves the bootstrapper before anything else, as it always has.
    ctx.defer(() => this.disconnect());
    log.info(
      `${info.name} (${info.role}) up on ${info.addresses.join(', ')}; ` +
        `neighbours ${info.neighbours.map((n) => n.name).join(', ') || 'none'}`,
    );
  }

  /** Stops talking to the bootstrapper: no more retries, no more notices. Safe to call again. */
  private disconnect(): void {
    this.stopping = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.registering?.close();
    this.connection?.close();
  }

  private rtspServer(info: Registered, node: OverlayNode): RtspServer {
    const addresses = info.clientAddresses.length > 0 ? info.clientAddresses : info.addresses;
    const idleTimeoutMs = this.opts.rtspIdleTimeoutMs;
    this.viewerTable = new ViewerTable({ pop: info.name, clock: this.clock, wallClockMs: () => Date.now() });
    return new RtspServer(
      addresses,
      this.opts.ports.rtsp,
      {
        clock: this.clock,
        catalogue: () => node.catalogue(),
        join: (m, id, r) => node.localJoin(m, id, r),
        leave: (m, id) => node.localLeave(m, id),
        repair: (m, ssrc, seqs) => node.tree.cached(m, ssrc, seqs),
        latestFrame: (m) => node.tree.latestFrame(m),
        viewers: this.viewerTable,
      },
      this.opts.log,
      idleTimeoutMs === undefined ? {} : { connections: { idleTimeoutMs } },
    );
  }

  /** GET /status: this node's view; `state: 'starting'` until it has registered and bound. */
  report(): StatusReport {
    const node = this.node;
    const info = this.info;
    if (node === null || info === null)
      return { name: null, role: this.opts.role, pid: process.pid, state: 'starting' };
    const b = this.opts.bootstrapper;
    return buildStatusReport({
      info,
      node,
      now: this.clock.now(),
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      bootstrapper: b === undefined ? 'self' : `${b.host}:${b.port}`,
      keyring: this.keyring,
      signingKeyId: this.signing === null ? null : keyIdOf(rawEd25519(this.signing.publicKey)).toString('hex'),
      sign: this.signing === null ? null : this.signReport(),
      transport: this.transport,
      rtsp: this.rtsp,
      http: this.http,
      desk:
        this.bootstrapServer === null
          ? null
          : { counters: this.bootstrapServer.counters, registered: this.directoryNames() },
      registration: this.registrationCounters,
      clock: this.clockStatus(),
      time: this.timeSync?.counters ?? null,
    });
  }

  private directoryNames: () => string[] = () => [];

  /**
   * A server's reference clock, for its channels' shared timeline: the bootstrapper's clock in ms
   * since 1970 (this host's epoch clock + the measured offset); on the bootstrapper, its own. Null
   * before start and on relays and POPs.
   */
  referenceClock(): ReferenceClock | null {
    return this.reference;
  }

  /** A server measures its offset to the bootstrapper over its registration; the bootstrapper is the reference. */
  private startTimeSync(ctx: StartContext): void {
    // The epoch clock (not this.clock, whose origin is this process's start): hosts compare readings.
    const clock = epochClock();
    if (this.opts.bootstrapper === undefined) {
      this.reference = selfReference(clock);
      return;
    }
    const log = this.opts.log;
    const sync = new TimeSync(
      clock,
      (req) => this.connection?.send({ type: 'time', id: req.id, t0: req.t0 }),
      (err) => log.error(`time sync listener: ${(err as Error).stack ?? err}`),
    );
    this.timeSync = sync;
    this.reference = sync;
    sync.start();
    ctx.defer(() => sync.stop());
  }

  private clockStatus(): ClockStatus | null {
    const r = this.reference;
    if (r === null) return null;
    const sync = this.timeSync;
    return {
      reference: sync === null ? 'self' : 'bootstrapper',
      synced: r.synced,
      offsetMs: Math.round(r.offsetMs * 1000) / 1000,
      errorMs: Number.isFinite(r.errorMs) ? Math.round(r.errorMs * 1000) / 1000 : null,
      samples: sync?.samples ?? 0,
    };
  }

  /** A POP's viewers (GET /viewers), gone ones for a while too; empty on other nodes. */
  viewers(): ViewerStats[] {
    return this.viewerTable?.list() ?? [];
  }

  /** Reports to the bootstrapper (over the registration, sealed) or, on the bootstrapper, to its own store. */
  private startTelemetry(node: OverlayNode, transport: OverlayTransport): void {
    const viewers = (): ViewerStats[] => this.viewers(); // a POP's viewer table; empty elsewhere
    const source = nodeTelemetrySource(node, () => transport.cut, viewers);
    const store = this.telemetryStore;
    const name = node.name;
    const send =
      store === null
        ? (body: string) => this.reportVia?.(body)
        : (body: string) => {
            const r = decodeTelemetryReport(body);
            if (r.ok) store.ingest(name, r.value);
            return 0;
          };
    // CPU time (not wall time): on a busy machine, wall time around a sample counts others' work too.
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    this.reporter = new TelemetryReporter(this.clock, source, send, undefined, cpuMs);
    this.reporter.start();
  }

  private deskReportCounters(): Record<string, number> {
    const c = this.bootstrapServer?.counters;
    return c === undefined ? {} : { deskReports: c.reports, badReports: c.badReports };
  }

  private signReport(): { frames: number; usPerFrame: number } {
    const { frames, totalMs } = this.signCost;
    return { frames, usPerFrame: round((1000 * totalMs) / Math.max(1, frames)) };
  }

  /** Signs each frame a server's channels send with its key, timing it for the status report. */
  private frameSigning(): FrameSigning | null {
    if (this.signing === null) return null;
    const signer = new FrameSigner(this.signing.privateKey, this.signing.publicKey);
    return (movie, packets) => {
      const t0 = performance.now();
      const out = signer.signFrame(movie, packets);
      this.signCost.frames++;
      this.signCost.totalMs += performance.now() - t0;
      return out;
    };
  }

  /** POST /faults {"cut": [names]} / {"restore": [names]}: cut or restore links to neighbours, for experiments. */
  private fault(body: FaultsRequest): { status: number; body: unknown } {
    const transport = this.transport;
    if (transport === null) return { status: 503, body: { error: 'still starting' } };
    const names = new Set(this.info?.neighbours.map((n) => n.name) ?? []);
    const cut = body.cut ?? [];
    const restore = body.restore ?? [];
    const unknown = [...cut, ...restore].filter((n) => !names.has(n));
    if (unknown.length > 0)
      return {
        status: 404,
        body: { error: `not neighbours of ${this.info?.name}: ${unknown.join(', ')}`, neighbours: [...names] },
      };
    for (const n of cut) transport.cut.add(n);
    for (const n of restore) transport.cut.delete(n);
    if (cut.length + restore.length > 0) this.opts.log.info(`fault injection: cut [${[...transport.cut].join(', ')}]`);
    return { status: 200, body: { name: this.info?.name, cut: [...transport.cut] } };
  }

  private async becomeBootstrapper(ctx: StartContext): Promise<Registered> {
    const topo = this.opts.topology;
    if (topo === undefined) throw new NodeStartError('the bootstrapper needs --topology FILE');
    const me = topo.nodes.get(topo.bootstrapper);
    if (me === undefined) throw new NodeStartError(`bootstrapper ${topo.bootstrapper} is not in ${topo.source}`);
    if (this.opts.address !== undefined && !me.addresses.includes(this.opts.address)) {
      throw new NodeStartError(
        `--address ${this.opts.address} is not an address of the bootstrapper ${me.name} in ${topo.source} ` +
          `(it has ${me.addresses.join(', ')})`,
      );
    }
    const directory = new Directory(topo, this.opts.emulateLinks ?? false);
    this.directoryNames = () => directory.registered().sort();
    const store = new TelemetryStore(
      {
        bootstrapper: topo.bootstrapper,
        nodes: [...topo.nodes.values()].map((n) => ({ name: n.name, role: n.role })),
        links: topo.links.map((l) => ({ a: l.a, b: l.b })),
      },
      this.clock,
    );
    this.telemetryStore = store;
    const server = new BootstrapServer({
      directory,
      secret: this.opts.secret,
      addresses: me.addresses,
      port: this.opts.ports.bootstrap,
      catalogue: () => this.node?.catalogue() ?? [],
      log: this.opts.log,
      report: (name, r) => store.ingest(name, r),
      membership: (name, change) => store.membership(name, change),
    });
    server.events.on('local-notice', (msg) => this.onNotice(msg));
    await server.start();
    ctx.defer(() => server.stop());
    this.bootstrapServer = server;
    const info = server.registerSelf(me.name, this.signingKey()) ?? directory.infoFor(me);
    this.learnKeys(info.serverKeys);
    return info;
  }

  /** This server's stream-signing public key as the bootstrapper wants it: base64 of the raw 32 bytes. */
  private signingKey(): string | undefined {
    return this.signing === null ? undefined : rawEd25519(this.signing.publicKey).toString('base64');
  }

  private learnKeys(keys: readonly ServerKeyInfo[]): void {
    for (const k of keys) {
      if (!this.keyring.set(k.server, Buffer.from(k.key, 'base64'))) {
        this.opts.log.warn(`the key of ${k.server} is not an Ed25519 key; ignored`);
      }
    }
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

  /**
   * One registration: register → challenge → prove → sealed `registered`. A refusal or a proof
   * that fails is a NodeStartError (retrying cannot help); a lost connection is BootstrapUnreachable.
   */
  private async registerOnce(): Promise<Registered> {
    const b = this.opts.bootstrapper;
    if (b === undefined) throw new Error('unreachable');
    const conn = await BootstrapConnection.open({
      host: b.host,
      port: b.port,
      ...(this.opts.address ? { localAddress: this.opts.address } : {}),
    });
    // stop() closes it mid-handshake (disconnect), rather than wait out the step timeouts.
    this.registering = conn;
    try {
      if (this.stopping) throw new BootstrapUnreachable('stopped');
      const info = await this.handshake(conn, new Registrant(this.opts.secret, process.pid, this.signingKey()));
      return info;
    } catch (err) {
      conn.close();
      throw err;
    } finally {
      this.registering = null;
    }
  }

  private async handshake(conn: BootstrapConnection, me: Registrant): Promise<Registered> {
    conn.send(me.register());
    const challenge = await conn.next(REGISTER_STEP_TIMEOUT_MS);
    if (challenge.type === 'error') throw new NodeStartError(`the bootstrapper refused this node: ${challenge.detail}`);
    if (challenge.type !== 'challenge') {
      throw new BootstrapUnreachable(`unexpected ${challenge.type} from the bootstrapper`);
    }
    conn.send(me.prove(challenge));
    const answer = await conn.next(REGISTER_STEP_TIMEOUT_MS);
    if (answer.type === 'error') {
      const why = answer.reason === 'bad-proof' ? WRONG_SECRET : answer.detail;
      throw new NodeStartError(`the bootstrapper refused ${challenge.name}: ${why}`);
    }
    if (answer.type !== 'sealed') throw new BootstrapUnreachable(`unexpected ${answer.type} from the bootstrapper`);
    const opened = me.open(answer);
    if (!opened.ok || opened.value.type !== 'registered' || opened.value.name !== challenge.name) {
      throw new NodeStartError(
        `the bootstrapper's answer to ${challenge.name} failed its proof: the bootstrapper ` +
          'has another overlay secret, or is not the real bootstrapper (is --secret the same on every node?)',
      );
    }
    const info = opened.value;
    this.learnKeys(info.serverKeys);
    this.connection = conn;
    this.timeSync?.resync(); // a new path to the bootstrapper: measure it afresh
    // Reports go sealed on this registration; the bootstrapper (perhaps restarted) gets everything again.
    this.reportVia = (body) => {
      const m = me.report(body);
      if (m === null) return 0;
      conn.send(m);
      return Buffer.byteLength(encodeBootstrap(m));
    };
    this.reporter?.resync();
    conn.listen(
      (m) => this.onSealed(me, m),
      () => this.bootstrapperLost(),
    );
    return info;
  }

  /** Every message after `registered` must be sealed for this connection; anything else is dropped. */
  private onSealed(me: Registrant, msg: BootstrapMessage): void {
    const opened = msg.type === 'sealed' ? me.open(msg) : null;
    if (opened !== null && !opened.ok && opened.reason === 'gap') {
      // A notice is missing (a neighbour's death, a server's key): register again for the whole state.
      this.registrationCounters.badSeal++;
      this.opts.log.warn('a notice from the bootstrapper went missing; registering again');
      this.connection?.close();
      this.bootstrapperLost();
      return;
    }
    if (opened === null || !opened.ok) {
      this.registrationCounters.badSeal++;
      const why = opened === null ? 'not sealed' : opened.reason;
      this.opts.log.debug(`dropped a ${msg.type} from the bootstrapper: ${why}`);
      return;
    }
    this.onNotice(opened.value);
  }

  private onNotice(msg: BootstrapMessage): void {
    if (msg.type === 'neighbour-down') this.node?.neighbourLost(msg.name);
    else if (msg.type === 'server-key') this.learnKeys([msg]);
    else if (msg.type === 'time' && msg.at !== undefined) this.timeSync?.reply(msg.id, msg.t0, msg.at);
    // neighbour-up needs nothing: hellos bring the link up as soon as the neighbour sends them.
  }

  /** Streams keep flowing without the bootstrapper; keep trying to re-register in the background. */
  private bootstrapperLost(): void {
    if (this.stopping) return;
    this.opts.log.warn('lost the bootstrapper; streams continue, re-registering in the background');
    let lastProblem = '';
    const retry = (): void => {
      this.reconnectTimer = null;
      if (this.stopping) return;
      this.registerOnce()
        .then((info) => {
          if (this.stopping) return this.connection?.close();
          this.opts.log.info('re-registered with the bootstrapper');
          this.info = info;
          this.applyNeighbours(info.neighbours);
        })
        .catch((err: unknown) => {
          // A refusal (another secret on a restarted bootstrapper) is worth saying once; retrying is still right.
          const problem = err instanceof NodeStartError ? err.message : '';
          if (problem !== '' && problem !== lastProblem) this.opts.log.warn(`${problem}; retrying`);
          lastProblem = problem;
          if (!this.stopping) this.reconnectTimer = setTimeout(retry, 1000);
        });
    };
    this.reconnectTimer = setTimeout(retry, 500);
  }

  private applyNeighbours(list: readonly NeighbourInfo[]): void {
    this.transport?.setNeighbours(list);
    this.node?.setNeighbours(list.map((n) => n.name));
  }
}
