/**
 * A node's bootstrappers, in order: its registration link with each (and, on a bootstrapper, itself
 * at its place), what each says about its neighbours (BootstrapperViews decides when one is gone),
 * and where telemetry goes: to the first bootstrapper up, so its dashboard sees every node.
 */
import type { BootstrapMessage, RegisteredMessage, ServerKeyInfo } from '../../common/wire/bootstrap.ts';
import { BootstrapperViews, MAX_BOOTSTRAPPERS } from '../core/bootstrapper-views.ts';
import { BootstrapLink, type BootstrapLinkOptions } from './bootstrap-link.ts';

/** Where reports go: a bootstrapper's link, or this process's own store. */
export type Sink = BootstrapLink | 'self';

export interface BootstrapperSetHandlers {
  /** A registration with a bootstrapper (first or again); false refuses it (the link stops). */
  registered(info: RegisteredMessage, link: BootstrapLink): boolean;
  lost(link: BootstrapLink): void;
  failed(err: unknown, link: BootstrapLink): void;
  /** A neighbour's process is gone, by the bootstrappers' word. */
  neighbourLost(name: string): void;
  serverKey(key: ServerKeyInfo): void;
  /** A bootstrapper's answer to a time request. */
  time(msg: Extract<BootstrapMessage, { type: 'time' }>): void;
  /** Reports go somewhere else now: the next must carry everything. */
  sinkChanged(): void;
}

export class BootstrapperSet {
  private readonly order: Sink[] = [];
  private readonly views = new BootstrapperViews();
  private handlers: BootstrapperSetHandlers | null = null;
  private lastSink: Sink | null = null;

  /** Where events go; set once, before any bootstrapper is added. */
  listen(handlers: BootstrapperSetHandlers): void {
    this.handlers = handlers;
  }

  get links(): BootstrapLink[] {
    return this.order.filter((s): s is BootstrapLink => s !== 'self');
  }

  /** This process is a bootstrapper: its own directory comes next in the order. Returns its index. */
  addSelf(info: RegisteredMessage): number {
    const id = this.order.push('self') - 1;
    this.views.connected(id, upNeighbours(info));
    this.checkSink();
    return id;
  }

  /** A bootstrapper elsewhere comes next in the order; start() begins registering with it. */
  addLink(opts: BootstrapLinkOptions): BootstrapLink {
    if (this.order.length >= MAX_BOOTSTRAPPERS) throw new RangeError(`more than ${MAX_BOOTSTRAPPERS} bootstrappers`);
    const id = this.order.length;
    const link: BootstrapLink = new BootstrapLink(opts, {
      registered: (info) => {
        if (this.handlers?.registered(info, link) === false) return link.stop();
        this.views.connected(id, upNeighbours(info));
        this.checkSink();
      },
      notice: (msg) => this.notice(id, msg),
      lost: () => {
        for (const name of this.views.disconnected(id)) this.handlers?.neighbourLost(name);
        this.handlers?.lost(link);
        this.checkSink();
      },
      failed: (err) => this.handlers?.failed(err, link),
    });
    this.order.push(link);
    return link;
  }

  /** A notice from bootstrapper `id` (sealed from a link, or this process's own directory's). */
  notice(id: number, msg: BootstrapMessage): void {
    if (msg.type === 'neighbour-down') for (const n of this.views.down(id, msg.name)) this.handlers?.neighbourLost(n);
    else if (msg.type === 'neighbour-up') this.views.up(id, msg.name);
    else if (msg.type === 'server-key') this.handlers?.serverKey(msg);
    else if (msg.type === 'time') this.handlers?.time(msg);
  }

  /** True when this process is the first bootstrapper: its clock is the overlay's reference. */
  get selfFirst(): boolean {
    return this.order[0] === 'self';
  }

  /**
   * The bootstrapper whose clock is the reference now: the first one up, in order. None when this
   * process comes first among those up (a standby whose primary died keeps its own estimate).
   */
  referenceLink(): BootstrapLink | null {
    for (const s of this.order) {
      if (s === 'self') return null;
      if (s.up) return s;
    }
    return null;
  }

  /** The first bootstrapper up, in order (null while none is). */
  sink(): Sink | null {
    return this.order.find((s) => s === 'self' || s.up) ?? null;
  }

  /** The bootstrappers elsewhere, as host:port, comma-separated (GET /status). */
  targets(): string {
    return this.links.map((l) => l.target).join(',');
  }

  startLinks(): void {
    for (const link of this.links) link.start();
  }

  /** The node runs: bootstrappers that never answered are retried like lost ones. */
  settle(): void {
    for (const link of this.links) link.settle();
  }

  /** Stops every link and forgets them (a later start adds its own). */
  stop(): void {
    for (const link of this.links) link.stop();
    this.order.length = 0;
    this.views.clear();
    this.lastSink = null;
  }

  private checkSink(): void {
    const sink = this.sink();
    if (sink === this.lastSink) return;
    this.lastSink = sink;
    this.handlers?.sinkChanged();
  }
}

function upNeighbours(info: RegisteredMessage): string[] {
  return info.neighbours.filter((n) => n.up).map((n) => n.name);
}
