/**
 * Joins and leaves from the neighbours below. A join is refused when its chain already passes
 * through this node (a loop) or is too long; a stream this node carries acks it at once, one
 * still being joined keeps it waiting, and an unknown one is created and joined upstream. The
 * branches are soft state: a sweep every refreshMs drops those not refreshed within
 * branchExpiryMs (the downstream died or lost our LEAVE). The sweep runs only while some stream
 * has a branch (an idle node has no timer for it: issue 13).
 */
import { Interval } from '../../../common/core/interval.ts';
import type { JoinMessage } from '../../../common/wire/overlay.ts';
import { MAX_PATH_LENGTH } from '../../../common/wire/overlay.ts';
import { isActive, upstreamOf } from './stream-state.ts';
import type { StreamTable } from './stream-table.ts';
import type { UpstreamJoin } from './upstream-join.ts';

export class BranchJoins {
  private readonly sweeper: Interval;
  private running = false;

  constructor(
    private readonly table: StreamTable,
    private readonly join: UpstreamJoin,
  ) {
    this.sweeper = new Interval(table.deps.clock, table.options.refreshMs, () => this.sweep());
  }

  onJoin(from: string, msg: JoinMessage): void {
    const { table } = this;
    const { self } = table.deps;
    table.counters.joinsReceived++;
    if (this.running) this.sweeper.start();
    const path = msg.path;
    if (path[path.length - 1] !== from || path.includes(self))
      return table.nak(from, msg.movie, 'loop', `join path ${path.join('>')} already passes through ${self}`);
    if (path.length >= MAX_PATH_LENGTH) return table.nak(from, msg.movie, 'loop', 'join path too long');
    const s = table.get(msg.movie);
    if (s === undefined) {
      if (
        !table.deps.isSource(msg.movie) &&
        !table.deps.routes.knowsMovie(msg.movie) &&
        table.deps.routes.knownServers().length > 0
      ) {
        return table.nak(from, msg.movie, 'unknown-movie', `no server has ${msg.movie}`);
      }
      const created = table.create(msg.movie, [...path, self], (c) => {
        if (msg.server !== undefined && msg.server !== self) c.preferredServer = msg.server;
        if (isActive(c.feed)) table.accept(c, from, path);
      });
      if (isActive(created.feed)) return;
      created.branches.wait(from, path);
      this.join.begin(created);
      return;
    }
    if (isActive(s.feed)) return table.accept(s, from, path);
    if (s.branches.refresh(from, table.now())) return;
    if (from === upstreamOf(s.feed))
      return table.nak(from, msg.movie, 'loop', `${self} is joining ${msg.movie} through ${from}`);
    s.branches.wait(from, path);
  }

  onLeave(from: string, movie: string): void {
    const s = this.table.get(movie);
    if (s === undefined) return;
    s.branches.drop(from);
    this.table.pruneIfUnused(s);
  }

  /** Sweeps now and every refreshMs until stop(), while any stream has a branch (a join starts it again). */
  start(): void {
    this.running = true;
    this.sweeper.start(true);
  }

  stop(): void {
    this.running = false;
    this.sweeper.stop();
  }

  /** Whether the sweep is scheduled (tests). */
  get sweeping(): boolean {
    return this.sweeper.running;
  }

  /** Expires branches whose downstream stopped refreshing; a stream left unused lingers. */
  private sweep(): void {
    const now = this.table.now();
    let branches = false;
    for (const s of this.table.all()) {
      if (s.branches.expire(now, this.table.options.branchExpiryMs)) this.table.lingerIfUnused(s);
      if (!s.branches.empty) branches = true;
    }
    if (!branches) this.sweeper.stop();
  }
}
