/**
 * Typed events: an event map of argument tuples, e.g. `{ packet: [from: string, msg: OverlayMessage] }`.
 * Unlike an assignable callback, several parts can listen, and unlike node:events a listener that
 * throws neither reaches the emitter's caller nor stops the other listeners: it is caught and counted.
 */

/** Listeners per event at most: more is a leak (a listener added per request and never removed). */
export const MAX_LISTENERS_PER_EVENT = 64;

/** An event map: event name → the listener's arguments. */
export type EventMap<M> = { [K in keyof M]: readonly unknown[] };

export type Listener<Args extends readonly unknown[]> = (...args: Args) => void;

/** Adding a listener past MAX_LISTENERS_PER_EVENT: a bug in the caller. */
export class TooManyListenersError extends Error {
  override readonly name = 'TooManyListenersError';
}

export class TypedEmitter<M extends EventMap<M>> {
  /** Listeners that threw (each caught; the other listeners still ran). */
  listenerErrors = 0;
  /** Copy-on-write lists: emit iterates a list that on/off never change under it, and copies nothing. */
  private readonly lists = new Map<keyof M, readonly Listener<M[keyof M]>[]>();

  /** `onListenerError` hears every error a listener throws (to log it); it must not throw itself. */
  constructor(private readonly onListenerError: (err: unknown, event: keyof M) => void = () => {}) {}

  /** Adds a listener; the returned function removes it. */
  on<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const list = this.lists.get(event) ?? [];
    if (list.length >= MAX_LISTENERS_PER_EVENT) {
      throw new TooManyListenersError(`more than ${MAX_LISTENERS_PER_EVENT} listeners for '${String(event)}'`);
    }
    this.lists.set(event, [...list, listener as Listener<M[keyof M]>]);
    return () => this.off(event, listener);
  }

  /** Adds a listener that is removed before its first call. */
  once<K extends keyof M>(event: K, listener: Listener<M[K]>): () => void {
    const off = this.on(event, (...args) => {
      off();
      listener(...args);
    });
    return off;
  }

  off<K extends keyof M>(event: K, listener: Listener<M[K]>): void {
    const list = this.lists.get(event);
    if (list === undefined) return;
    const i = list.indexOf(listener as Listener<M[keyof M]>);
    if (i < 0) return;
    const rest = [...list.slice(0, i), ...list.slice(i + 1)];
    if (rest.length === 0) this.lists.delete(event);
    else this.lists.set(event, rest);
  }

  listenerCount(event: keyof M): number {
    return this.lists.get(event)?.length ?? 0;
  }

  /** Calls every listener of `event` in the order added; returns whether there was any. */
  emit<K extends keyof M>(event: K, ...args: M[K]): boolean {
    const list = this.lists.get(event);
    if (list === undefined) return false;
    for (const listener of list) {
      try {
        listener(...args);
      } catch (err) {
        this.listenerErrors++;
        try {
          this.onListenerError(err, event);
        } catch {
          // the error hook itself failed: the count above still says a listener threw
        }
      }
    }
    return true;
  }
}
