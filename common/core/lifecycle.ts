/**
 * start()/stop() bookkeeping for a component that owns sockets, timers or processes (js-libp2p's
 * Startable, mediasoup's cascading close). The component's start-up registers how to release each
 * thing it opens as it opens it; stop() releases them last-first, and so does a start-up that fails
 * halfway (then start() rethrows). Both calls are idempotent and safe under concurrent calls:
 * - start() while starting or started returns the same promise (one bind, never two);
 * - stop() while starting aborts the start-up's signal, waits for it to settle, then releases;
 * - stop() while stopping or stopped returns the same promise; start() after stop() starts afresh.
 */

/** What a start-up gets: a signal that stop() aborts, and where to register each release. */
export interface StartContext {
  readonly signal: AbortSignal;
  /** Registers how to release what was just opened; releases run last-first. */
  defer(release: () => void | Promise<void>): void;
}

/** What start() rejects with when stop() came first: not a failure of the start-up itself. */
export class StartAbortedError extends Error {
  override readonly name = 'StartAbortedError';
  constructor() {
    super('stopped while starting');
  }
}

export type LifecycleState = 'stopped' | 'starting' | 'started' | 'stopping';

/** Releases per start at most: a component registers one per socket, timer or child it opens. */
export const MAX_RELEASES = 1024;

export class Lifecycle {
  private current: LifecycleState = 'stopped';
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private abort: AbortController | null = null;
  private releases: (() => void | Promise<void>)[] = [];

  constructor(private readonly startUp: (ctx: StartContext) => Promise<void>) {}

  get state(): LifecycleState {
    return this.current;
  }

  start(): Promise<void> {
    if (this.starting !== null) return this.starting;
    const abort = new AbortController();
    const releases: (() => void | Promise<void>)[] = [];
    const ctx: StartContext = {
      signal: abort.signal,
      defer: (release) => {
        if (releases.length >= MAX_RELEASES) throw new Error(`more than ${MAX_RELEASES} releases in one start`);
        releases.push(release);
      },
    };
    const afterStop = this.stopping ?? Promise.resolve();
    this.abort = abort;
    this.current = 'starting';
    const run = async (): Promise<void> => {
      await afterStop;
      this.releases = releases;
      try {
        abort.signal.throwIfAborted();
        await this.startUp(ctx);
        abort.signal.throwIfAborted();
      } catch (err) {
        await releaseAll(releases.splice(0));
        if (this.starting === promise) {
          this.starting = null;
          this.current = 'stopped';
        }
        // Cut short by stop(): whatever the start-up threw on the way out, that is the reason.
        throw abort.signal.aborted ? abort.signal.reason : err;
      }
      if (this.starting === promise) this.current = 'started';
    };
    const promise = run();
    this.starting = promise;
    return promise;
  }

  stop(): Promise<void> {
    if (this.starting === null) return this.stopping ?? Promise.resolve();
    const started = this.starting;
    this.starting = null;
    this.abort?.abort(new StartAbortedError());
    this.current = 'stopping';
    const promise = started
      .catch(() => {}) // a start-up that failed released its own things
      .then(() => releaseAll(this.releases.splice(0)))
      .finally(() => {
        if (this.stopping !== promise) return;
        this.stopping = null;
        if (this.starting === null) this.current = 'stopped';
      });
    this.stopping = promise;
    return promise;
  }
}

/** Runs every release last-first, even past one that fails; then throws the first failure. */
async function releaseAll(releases: (() => void | Promise<void>)[]): Promise<void> {
  let first: unknown = null;
  for (const release of releases.reverse()) {
    try {
      await release();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== null) throw first;
}

/**
 * A component with the Startable shape: start() runs `open`, which registers a release for each
 * thing it opens; stop() runs them last-first. Both idempotent and safe under concurrent calls.
 */
export abstract class Service {
  private readonly life = new Lifecycle((ctx) => this.open(ctx));

  /** Opens everything; a second call shares the first; a failure releases what was opened, then rejects. */
  start(): Promise<void> {
    return this.life.start();
  }

  /** Releases everything, waiting for a start in progress. Idempotent. */
  stop(): Promise<void> {
    return this.life.stop();
  }

  protected abstract open(ctx: StartContext): Promise<void>;
}
