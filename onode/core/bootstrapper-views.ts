/**
 * What each of a node's bootstrappers says about its neighbours, and when that means a neighbour's
 * process is gone. Every node registers with every bootstrapper, so each tells it when a neighbour
 * comes or goes; with several, one's word is not enough:
 *
 *  - a neighbour is lost when no connected bootstrapper says it is up and at least one says it went
 *    (a node that dies closes its connections to all of them; a node that lost only one connection,
 *    or never registered with one bootstrapper, is still up at another);
 *  - a bootstrapper whose connection closes says nothing more: its word is dropped, and a neighbour
 *    it alone still held up is lost if another connected bootstrapper already said it went (its
 *    notice can come before the closed connection is seen: the dead bootstrapper's own node);
 *  - with no bootstrapper connected nothing is lost: hellos still tell (as with one bootstrapper).
 *
 * With a single bootstrapper this is exactly its word: every `neighbour-down` loses the neighbour.
 */
export type Word = 'up' | 'down';

/** Bootstrappers a node keeps views of (as many as --bootstrapper may name, common/net/ports.ts). */
export const MAX_BOOTSTRAPPERS = 16;

export class BootstrapperViews {
  /** Connected bootstrappers' words by neighbour name, by bootstrapper index. */
  private readonly views = new Map<number, Map<string, Word>>();

  /** Bootstrapper `id` registered this node; `up` are the neighbours it has registered. */
  connected(id: number, up: Iterable<string>): void {
    if (!this.views.has(id) && this.views.size >= MAX_BOOTSTRAPPERS) return;
    this.views.set(id, new Map([...up].map((n): [string, Word] => [n, 'up'])));
  }

  /** `neighbour-up` from bootstrapper `id`. */
  up(id: number, name: string): void {
    this.views.get(id)?.set(name, 'up');
  }

  /** `neighbour-down` from bootstrapper `id`: the names to declare lost ([] or [name]). */
  down(id: number, name: string): string[] {
    const view = this.views.get(id);
    if (view === undefined) return [];
    view.set(name, 'down');
    return this.isLost(name) ? [name] : [];
  }

  /** Bootstrapper `id`'s connection closed: the neighbours now lost. */
  disconnected(id: number): string[] {
    const view = this.views.get(id);
    if (view === undefined) return [];
    this.views.delete(id);
    return [...view].filter(([name, word]) => word === 'up' && this.isLost(name)).map(([name]) => name);
  }

  /** Whether bootstrapper `id` is connected (has registered this node and not gone since). */
  isConnected(id: number): boolean {
    return this.views.has(id);
  }

  clear(): void {
    this.views.clear();
  }

  private isLost(name: string): boolean {
    let said = false;
    for (const view of this.views.values()) {
      const word = view.get(name);
      if (word === 'up') return false;
      if (word === 'down') said = true;
    }
    return said;
  }
}
