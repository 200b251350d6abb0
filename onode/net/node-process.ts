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
import { BootstrapUnreachable } from '../../common/net/bootstrap-connection.ts';
import type { Logger } from '../../common/net/logger.ts';
import { keyIdOf, rawEd25519, ServerKeyring } from '../../common/security/server-keyring.ts';
import type { NeighbourInfo, RegisteredMessage, ServerKeyInfo } from '../../common/wire/bootstrap.ts';
import type { NodeRole, Topology } from '../config/topology.ts';
import type { ChannelSource } from '../core/channel-source.ts';
import type { FrameSigning } from '../core/movie-channel.ts';
import { DEFAULT_OVERLAY, OverlayNode, type OverlayOptions } from '../core/overlay-node.ts';
import { type BootstrapLink, type BootstrapLinkOptions, NodeStartError } from './bootstrap-link.ts';
import { BootstrapperSet, type BootstrapperSetHandlers } from './bootstrapper-set.ts';
import { localBootstrapper } from './local-bootstrapper.ts';
import type { MovieLibrary } from '../media/movie-library.ts';
import type { BootstrapServer } from './bootstrap-server.ts';
import { OverlayTransport } from './overlay-transport.ts';
import type { RtspServer } from './rtsp-server.ts';
import { buildStatusReport, round } from './status-report.ts';
import { StatusHttp } from './status-http.ts';
import { metricsRoute } from './metrics-route.ts';
import type { FaultsRequest } from '../../common/wire/ops-api.ts';
import type { StatusReport, ViewerStats, ViewersReport } from '../../common/wire/status-api.ts';
import type { ViewerTable } from '../core/viewer-table.ts';
import { decodeTelemetryReport } from '../../common/wire/dashboard-api.ts';
import { DAEMON_TELEMETRY, TelemetryReporter } from '../core/telemetry-reporter.ts';
import type { TelemetryStore } from '../core/telemetry-store.ts';
import { nodeTelemetrySource } from './telemetry-source.ts';
import { type ReferenceClock, selfReference, TimeSync } from '../core/time-sync.ts';
import type { ClockStatus } from '../../common/wire/status-api.ts';

export interface Ports {
  readonly bootstrap: number;
  readonly overlay: number;
  readonly status: number;
  readonly rtsp: number;
}

export interface BootstrapperAddress {
  readonly host: string;
  readonly port: number;
}

export interface NodeProcessOptions {
  /** The role the process was started as; it must match the topology's. */
  readonly role: NodeRole;
  /**
   * Where the bootstrapper is, or every bootstrapper in order (the node registers with each; the
   * first one up gets its telemetry); absent when this process is a bootstrapper (the topology
   * names the others).
   */
  readonly bootstrapper?: BootstrapperAddress | readonly BootstrapperAddress[];
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

export { NodeStartError };

type Registered = RegisteredMessage;

/** A start waiting for its first registration. */
interface StartWaiter {
  readonly resolve: (info: Registered) => void;
  readonly reject: (err: unknown) => void;
  readonly deadline: number;
  /** Bootstrappers that refused this node (with every one refusing, the start fails), and the last refusal. */
  readonly refused: Set<BootstrapLink>;
  refusal?: unknown;
  warned: boolean;
}

/** A server's stream-signing key pair (Ed25519). */
export interface KeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/**
 * Code only some roles run, loaded by those alone: a relay needs no RTSP server, channels, signing,
 * directory or dashboard, and hundreds of relays on one machine each save its memory and start-up.
 */
const roleCode = {
  rtsp: () => import('./rtsp-server.ts'),
  viewers: () => import('../core/viewer-table.ts'),
  channels: () => import('../core/channel-source.ts'),
  signing: () => import('../../common/security/frame-signature.ts'),
  directory: () => import('../core/directory.ts'),
  telemetryStore: () => import('../core/telemetry-store.ts'),
  bootstrapServer: () => import('./bootstrap-server.ts'),
  dashboard: () => import('./dashboard-http.ts'),
};

export class NodeProcess extends Service {
  private readonly clock = new SystemClock();
  private node: OverlayNode | null = null;
  private source: ChannelSource | null = null;
  private transport: OverlayTransport | null = null;
  private bootstrapServer: BootstrapServer | null = null;
  /** Registrations with the bootstrappers (on a bootstrapper: with the others), and what each says. */
  private readonly bootstrappers = new BootstrapperSet();
  private waiter: StartWaiter | null = null;
  private rtsp: RtspServer | null = null;
  private http: StatusHttp | null = null;
  /** POPs: the viewer statistics their RTSP sessions feed (GET /viewers). */
  private viewerTable: ViewerTable | null = null;
  private info: Registered | null = null;
  /** True from stop() (or a failed start) on: the registration loop and re-registration give up. */
  private stopping = false;
  private readonly startedAt = Date.now();
  /** A server's stream-signing key pair, made at start; its public half goes to the bootstrapper. */
  private readonly signing: KeyPair | null;
  /** Every server's stream-signing public key, as the bootstrapper distributes them. */
  readonly keyring = new ServerKeyring();
  /** Sealed bootstrapper messages that failed their check (dropped). */
  private readonly registrationCounters = { badSeal: 0 };
  /** The dashboard's telemetry: the reporter, the bootstrapper's store. */
  private reporter: TelemetryReporter | null = null;
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
    this.bootstrappers.listen(this.bootstrapperEvents());
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
      const library = this.opts.movies ?? { movies: [], catalogue: [], skipped: [], avFiles: [] };
      const emit = (movie: string, rtp: Buffer): void => this.node?.onSourcePacket(movie, rtp);
      const { movies, catalogue } = library;
      // Channels run on the movie's shared timeline, read from the bootstrapper's clock as synchronised.
      const reference = this.reference;
      const shared = reference === null ? undefined : () => reference.now();
      const { ChannelSource } = await roleCode.channels();
      this.source = new ChannelSource(this.clock, movies, catalogue, emit, shared, await this.frameSigning());
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
      const rtsp = await this.rtspServer(info, node);
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
      const { DashboardHttp } = await roleCode.dashboard();
      const dashboard = new DashboardHttp(store, () => this.deskReportCounters());
      dashboard.attach(http);
      ctx.defer(() => dashboard.stop());
    }
    await http.start();
    ctx.defer(() => http.stop());
    this.http = http;
    // Last registered, first run: stop() leaves the bootstrapper before anything else, as it always has.
    ctx.defer(() => this.disconnect());
    this.bootstrappers.startLinks(); // a bootstrapper's standbys; a node's are already registering
    this.bootstrappers.settle();
    log.info(
      `${info.name} (${info.role}) up on ${info.addresses.join(', ')}; ` +
        `neighbours ${info.neighbours.map((n) => n.name).join(', ') || 'none'}`,
    );
  }

  /** Stops talking to the bootstrappers: no more retries, no more notices. Safe to call again. */
  private disconnect(): void {
    this.stopping = true;
    this.bootstrappers.stop();
    const w = this.waiter;
    this.waiter = null;
    w?.reject(new BootstrapUnreachable('stopped'));
  }

  private async rtspServer(info: Registered, node: OverlayNode): Promise<RtspServer> {
    const [{ RtspServer }, { ViewerTable }] = await Promise.all([roleCode.rtsp(), roleCode.viewers()]);
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
        latestFrame: (m, startsAt) => node.tree.latestFrame(m, startsAt),
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
    return buildStatusReport({
      info,
      node,
      now: this.clock.now(),
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      bootstrapper: this.opts.bootstrapper === undefined ? 'self' : this.bootstrappers.targets(),
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
    if (this.bootstrappers.selfFirst || this.bootstrappers.links.length === 0) {
      this.reference = selfReference(clock);
      return;
    }
    const log = this.opts.log;
    // To the first bootstrapper up; a new one (the primary died) is a new path: measured afresh.
    let via: BootstrapLink | null = null;
    const sync: TimeSync = new TimeSync(
      clock,
      (req) => {
        const link = this.bootstrappers.referenceLink();
        const moved = link !== null && via !== null && link !== via;
        if (link !== null) via = link;
        // resync() starts a new burst at once, through this same link.
        if (moved) sync.resync();
        else link?.send({ type: 'time', id: req.id, t0: req.t0 });
      },
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
    // To the first bootstrapper up, this one's own store where it comes first.
    const send = (body: string): number => {
      const sink = this.bootstrappers.sink();
      if (sink !== 'self') return sink?.report(body) ?? 0;
      const r = decodeTelemetryReport(body);
      if (r.ok) store?.ingest(name, r.value);
      return 0;
    };
    // CPU time (not wall time): on a busy machine, wall time around a sample counts others' work too.
    const cpuMs = (): number => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    this.reporter = new TelemetryReporter(this.clock, source, send, DAEMON_TELEMETRY, cpuMs);
    node.onShapeChange = () => this.reporter?.poke();
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
  private async frameSigning(): Promise<FrameSigning | null> {
    if (this.signing === null) return null;
    const { FrameSigner } = await roleCode.signing();
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
    const me = localBootstrapper(topo, this.opts.address);
    const epoch = epochClock();
    const [{ Directory }, { TelemetryStore }, { BootstrapServer }] = await Promise.all([
      roleCode.directory(),
      roleCode.telemetryStore(),
      roleCode.bootstrapServer(),
    ]);
    const directory = new Directory(topo, this.opts.emulateLinks ?? false, me.name);
    this.directoryNames = () => directory.registered().sort();
    const store = new TelemetryStore(
      {
        bootstrapper: me.name,
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
      // A standby answers with its estimate of the first bootstrapper's clock, so servers that turn
      // to it when the first dies keep the same timeline.
      referenceNow: () => this.reference?.now() ?? epoch.now(),
    });
    let self = -1;
    server.events.on('local-notice', (msg) => this.bootstrappers.notice(self, msg));
    await server.start();
    ctx.defer(() => server.stop());
    this.bootstrapServer = server;
    const info = server.registerSelf(me.name, this.signingKey()) ?? directory.infoFor(me);
    this.learnKeys(info.serverKeys);
    // Standby bootstrappers: this one registers with the others as any node does (started once it runs).
    for (const name of topo.bootstrappers) {
      const host = topo.nodes.get(name)?.addresses[0];
      if (name === me.name) self = this.bootstrappers.addSelf(info);
      else if (host !== undefined)
        this.bootstrappers.addLink(this.linkOptions({ host, port: this.opts.ports.bootstrap }));
    }
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

  /** Registers with every bootstrapper: resolves with the first registration, fails when none can register. */
  private register(): Promise<Registered> {
    const b = this.opts.bootstrapper;
    const targets: readonly BootstrapperAddress[] = b === undefined ? [] : 'host' in b ? [b] : b;
    if (targets.length === 0) return Promise.reject(new NodeStartError('no bootstrapper to register with'));
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + (this.opts.waitMs ?? 60_000);
      this.waiter = { resolve, reject, deadline, refused: new Set(), warned: false };
      for (const t of targets) this.bootstrappers.addLink(this.linkOptions(t));
      this.bootstrappers.startLinks();
    });
  }

  private linkOptions(target: BootstrapperAddress): BootstrapLinkOptions {
    const address = this.opts.address;
    const key = this.signingKey();
    return {
      host: target.host,
      port: target.port,
      ...(address ? { localAddress: address } : {}),
      secret: this.opts.secret,
      ...(key === undefined ? {} : { signingKey: key }),
      log: this.opts.log,
      counters: this.registrationCounters,
    };
  }

  /** What the bootstrappers' links tell this process (see BootstrapperSet). */
  private bootstrapperEvents(): BootstrapperSetHandlers {
    const log = this.opts.log;
    const several = (): boolean => this.bootstrappers.links.length > 1 || this.bootstrapServer !== null;
    const named = (link: BootstrapLink): string => (several() ? ` ${link.target}` : '');
    const problems = new Map<BootstrapLink, string>();
    const seen = new Set<BootstrapLink>();
    return {
      registered: (info, link) => {
        if (this.info !== null && info.name !== this.info.name) {
          log.error(
            `the bootstrapper ${link.target} calls this node ${info.name}, not ${this.info.name}: ` +
              'the bootstrappers have different topologies; not registering there',
          );
          return false;
        }
        this.learnKeys(info.serverKeys);
        const first = !seen.has(link);
        seen.add(link);
        const w = this.waiter;
        if (w !== null) {
          this.waiter = null;
          w.resolve(info);
          return true;
        }
        log.info(`${first ? 'registered' : 're-registered'} with the bootstrapper${named(link)}`);
        this.info = info;
        this.applyNeighbours(info.neighbours);
        return true;
      },
      lost: (link) => {
        if (!this.stopping)
          log.warn(`lost the bootstrapper${named(link)}; streams continue, re-registering in the background`);
      },
      failed: (err, link) => {
        const w = this.waiter;
        if (w !== null) return this.startFailed(w, err, link);
        // A refusal (another secret on a restarted bootstrapper) is worth saying once; retrying is still right.
        const problem = err instanceof NodeStartError ? err.message : '';
        if (problem !== '' && problem !== problems.get(link)) log.warn(`${problem}; retrying`);
        problems.set(link, problem);
      },
      neighbourLost: (name) => this.node?.neighbourLost(name),
      serverKey: (key) => this.learnKeys([key]),
      time: (msg) => {
        if (msg.at !== undefined) this.timeSync?.reply(msg.id, msg.t0, msg.at);
      },
      sinkChanged: () => this.reporter?.resync(),
    };
  }

  /**
   * A registration attempt failed at start: unreachable bootstrappers are retried until waitMs;
   * a refusal ends the start once every bootstrapper has refused (with one, at once).
   */
  private startFailed(w: StartWaiter, err: unknown, link: BootstrapLink): void {
    const fail = (e: unknown): void => {
      this.waiter = null;
      w.reject(e);
    };
    if (this.stopping) return fail(new BootstrapUnreachable('stopped'));
    if (!(err instanceof BootstrapUnreachable)) {
      w.refused.add(link);
      w.refusal = err;
      if (w.refused.size >= this.bootstrappers.links.length) fail(err);
      return;
    }
    // Out of time: a refusal elsewhere says more than an unreachable bootstrapper.
    if (Date.now() > w.deadline) return fail(w.refusal ?? err);
    if (!w.warned) this.opts.log.info(`${err.message}; retrying`);
    w.warned = true;
  }

  private applyNeighbours(list: readonly NeighbourInfo[]): void {
    this.transport?.setNeighbours(list);
    this.node?.setNeighbours(list.map((n) => n.name));
  }
}
