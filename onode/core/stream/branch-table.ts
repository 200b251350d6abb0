/**
 * The neighbours below one stream: branches whose join this node acked (soft state: each lives
 * while its downstream refreshes it, and expires otherwise) and joins that wait for this node's
 * own upstream to answer. Only neighbours can join, so both tables are bounded by the neighbour
 * count. `targets`, the branch names the forwarding path sends every packet to, is rebuilt only
 * when the branches change, so forwarding allocates nothing.
 */

export interface Branch {
  /** The join's chain of requesters, the branch's neighbour last. */
  path: readonly string[];
  refreshedAt: number;
  /** The highest sequence number this node had when the branch attached: later ones went to it live. */
  readonly attachedAtSeq: number | null;
}

export class BranchTable {
  private readonly acked = new Map<string, Branch>();
  private readonly pending = new Map<string, readonly string[]>();
  private names: readonly string[] = [];

  /** Acked branches by neighbour, in attach order. */
  get downstream(): ReadonlyMap<string, Branch> {
    return this.acked;
  }

  /** Joins waiting for this node's upstream, with their chains. */
  get waiters(): ReadonlyMap<string, readonly string[]> {
    return this.pending;
  }

  /** The acked branches' neighbours, for forwarding. */
  get targets(): readonly string[] {
    return this.names;
  }

  /** True when nobody below uses the stream (no branch, no waiting join). */
  get empty(): boolean {
    return this.acked.size === 0 && this.pending.size === 0;
  }

  /** True when `name` is below this node: an acked branch or a waiting join. */
  has(name: string): boolean {
    return this.acked.has(name) || this.pending.has(name);
  }

  /** Attaches (or refreshes and re-chains) the branch to `name`; it stops waiting. */
  attach(name: string, path: readonly string[], now: number, attachedAtSeq: number | null): void {
    this.pending.delete(name);
    const branch = this.acked.get(name);
    if (branch === undefined) {
      this.acked.set(name, { path, refreshedAt: now, attachedAtSeq });
      this.names = [...this.acked.keys()];
    } else {
      branch.path = path;
      branch.refreshedAt = now;
    }
  }

  /**
   * Branches attached before this node had any packet now count as attached just before `seq`'s
   * successor: a source's first branch attaches before its channel starts (so the first burst
   * reaches it), and must not later be resent what it got live.
   */
  stampUnattached(seq: number): void {
    for (const [name, b] of this.acked) {
      if (b.attachedAtSeq === null) this.acked.set(name, { ...b, attachedAtSeq: seq });
    }
  }

  /** A repeated join from an acked branch; false when `name` has none. */
  refresh(name: string, now: number): boolean {
    const branch = this.acked.get(name);
    if (branch === undefined) return false;
    branch.refreshedAt = now;
    return true;
  }

  /** `name` joins and waits for this node's upstream. */
  wait(name: string, path: readonly string[]): void {
    this.pending.set(name, path);
  }

  /** Forgets `name` as a waiting join and as a branch (it left, died or was refused). */
  drop(name: string): void {
    this.pending.delete(name);
    if (this.acked.delete(name)) this.names = [...this.acked.keys()];
  }

  /** Drops branches not refreshed within `lifetimeMs`; true when any was. */
  expire(now: number, lifetimeMs: number): boolean {
    let changed = false;
    for (const [name, b] of this.acked) {
      if (now - b.refreshedAt > lifetimeMs) {
        this.acked.delete(name);
        changed = true;
      }
    }
    if (changed) this.names = [...this.acked.keys()];
    return changed;
  }

  /** Forgets everyone below. */
  clear(): void {
    this.acked.clear();
    this.pending.clear();
    this.names = [];
  }
}
