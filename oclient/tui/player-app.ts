/**
 * The interactive terminal player: a movie picker, SETUP/PLAY/PAUSE/TEARDOWN from buttons or
 * keys, the video drawn in half-block cells and live statistics. Resolves once the screen is
 * torn down and the terminal restored, with what ended it; the caller prints any failure.
 *
 * RTSP requests run one after another (a queue), so a key pressed while SETUP is in flight acts
 * after it. Quitting does not wait in that queue: it tears the session down at once.
 */
import type { ServerKeyring } from '../../common/security/server-keyring.ts';
import type { JpegImage } from '../../common/media/jpeg.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import type { PopRtt } from '../net/pop-prober.ts';
import { describeRefusals, RefusalRound, refusalReason } from '../core/refusal-round.ts';
import { PlayRefused, PlaySession, type SessionStats, type TransportKind } from '../net/play-session.ts';
import { RtspClientError } from '../net/rtsp-client.ts';
import { FramePacer } from './frame-pacer.ts';
import { pickMovie } from './movie-picker.ts';
import { escapeTags, popLines, statsLines } from './panel-text.ts';
import { createLayout, createScreen, type Control, type PlayerLayout } from './player-layout.ts';

export interface PlayerOptions {
  readonly catalogue: readonly MovieInfo[];
  readonly rtts: readonly PopRtt[];
  /** The POP to play from (client-facing address) and why it was chosen. */
  readonly pop: { readonly name: string; readonly address: string; readonly rttMs: number };
  readonly popChosenBy: 'rtt' | 'flag';
  /** Start with this movie; null shows the picker first. */
  readonly movie: string | null;
  readonly rtspPort: number;
  readonly localAddress?: string;
  readonly transport: TransportKind;
  readonly jitterBufferMs: number;
  /** The servers' keys from the login: frames not signed by one of them are not shown. Null: unchecked. */
  readonly keys: ServerKeyring | null;
  /** A frame named a key `keys` lacks: fetch the keys again. */
  readonly onUnknownKey?: () => void;
}

export type PlayerOutcome =
  | { readonly kind: 'quit' }
  /** Ended by this signal after cleaning up; the caller re-raises it, as a process killed by it. */
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  /** every-pop-refused: quit while the last attempt's round of POPs had all refused the movie. */
  | { readonly kind: 'unknown-movie' | 'refused' | 'every-pop-refused' | 'error'; readonly message: string };

const STATS_INTERVAL_MS = 500;

export function runPlayer(opts: PlayerOptions): Promise<PlayerOutcome> {
  return new Player(opts).run();
}

type State = SessionStats['state'];

class Player {
  private readonly ui: PlayerLayout;
  private session: PlaySession | null = null;
  private pacer: FramePacer<JpegImage> | null = null;
  private movie: string | null;
  private picking = false;
  private quitting = false;
  private finished = false;
  private queue: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | null = null;
  private resolve: (outcome: PlayerOutcome) => void = () => {};
  private readonly onSignal = (signal: NodeJS.Signals): void => this.quit(signal);
  private readonly onCrash = (err: Error): void => this.finish({ kind: 'error', message: err.stack ?? String(err) });

  /** The POP in use: the chosen one, then the next-closest after a failover. */
  private pop: { readonly name: string; readonly address: string };
  private readonly failedPops = new Set<string>();
  /** Why the last SETUP found no POP serving the movie; cleared once one does. */
  private lastRefusal: string | null = null;

  constructor(private readonly opts: PlayerOptions) {
    this.pop = opts.pop;
    this.movie = opts.movie;
    this.ui = createLayout(createScreen(), opts.rtts.length);
  }

  run(): Promise<PlayerOutcome> {
    const done = new Promise<PlayerOutcome>((resolve) => {
      this.resolve = resolve;
    });
    // The terminal can vanish (its window closed: SIGHUP, then EIO on every write). The session
    // must still be torn down, so terminal errors are dropped rather than thrown; the listeners
    // stay, as restoring the terminal touches it once more.
    for (const stream of [process.stdout, process.stdin]) {
      if (stream.listenerCount('error') === 0) stream.on('error', () => {});
    }
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, this.onSignal);
    // A bug must not leave the terminal in raw mode on the alternate screen.
    process.on('uncaughtException', this.onCrash);
    this.bindInput();
    const chosenBy = this.opts.popChosenBy === 'rtt' ? 'lowest RTT' : 'from --pop';
    this.showPops(chosenBy);
    this.ui.video.showMessage('');
    this.refresh();
    this.ticker = setInterval(() => this.refresh(), STATS_INTERVAL_MS);
    this.enqueue(this.movie === null ? () => this.choose() : () => this.play());
    return done;
  }

  private showPops(chosenBy: string): void {
    const pop = this.pop;
    this.ui.pops.setContent(
      [
        ...popLines(this.opts.rtts, pop.address),
        `{bold}${escapeTags(pop.name)}{/bold} (${chosenBy}), RTSP port ${this.opts.rtspPort}`,
      ].join('\n'),
    );
  }

  /** The closest answering POP not yet failed, or null. */
  private nextPop(failed: string): { name: string; address: string } | null {
    this.failedPops.add(failed);
    const next = [...this.opts.rtts]
      .filter((r) => r.rttMs !== null && !this.failedPops.has(r.address))
      .sort((a, b) => (a.rttMs ?? 0) - (b.rttMs ?? 0))[0];
    return next === undefined ? null : { name: next.name, address: next.address };
  }

  private bindInput(): void {
    const screen = this.ui.screen;
    const keys: [string[], () => void][] = [
      [['s'], () => this.enqueue(() => this.setup())],
      [['p'], () => this.enqueue(() => this.play())],
      [['a'], () => this.enqueue(() => this.pause())],
      [['space'], () => this.enqueue(() => (this.state() === 'playing' ? this.pause() : this.play()))],
      [['t'], () => this.enqueue(() => this.teardown())],
      [['m'], () => this.enqueue(() => this.choose())],
      [['q', 'C-c'], () => this.quit()],
    ];
    for (const [names, action] of keys) {
      screen.key(names, () => {
        if (!this.picking) action();
      });
    }
    const actions: Record<Control, () => Promise<void>> = {
      setup: () => this.setup(),
      play: () => this.play(),
      pause: () => this.pause(),
      teardown: () => this.teardown(),
    };
    for (const [control, button] of this.ui.buttons) button.on('press', () => this.enqueue(actions[control]));
  }

  /** Queues an action; a failure of the POP ends the player with that failure. */
  private enqueue(action: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.finished || this.quitting) return;
      try {
        await action();
      } catch (err) {
        if (this.finished || this.quitting) return;
        this.finish(this.failure(err as Error));
      }
      this.refresh();
    });
  }

  private state(): State | null {
    return this.session?.stats().state ?? null;
  }

  private active(): boolean {
    const s = this.state();
    return s !== null && s !== 'closed';
  }

  /**
   * SETUP at the current POP; a POP that refuses the movie hands over to the next-closest one,
   * and once every answering POP has refused, the reasons are shown instead of trying again.
   */
  private async setup(): Promise<void> {
    if (this.active()) {
      this.say('already set up (t tears it down)');
      return;
    }
    const movie = this.movie;
    if (movie === null) return this.choose();
    const round = new RefusalRound([this.pop.address, ...this.byRtt().map((p) => p.address)]);
    for (;;) {
      try {
        await this.open(movie);
        this.lastRefusal = null;
        return;
      } catch (err) {
        if (!(err instanceof PlayRefused)) throw err;
        const reason = refusalReason(err.status, err.nakReason);
        round.refused(this.pop.address, err.status, reason);
        const next = this.byRtt().find((p) => !round.hasRefused(p.address));
        if (round.complete || next === undefined) {
          this.showRefusals(describeRefusals(movie, round.refusals(), (a) => this.nameOf(a)));
          return;
        }
        this.say(`POP ${this.pop.name} refused ${movie} (${err.status} ${reason}); trying ${next.name}`);
        this.pop = next;
        this.showPops('after a refusal');
      }
    }
  }

  /** The answering POPs not known to be dead, closest first. */
  private byRtt(): { name: string; address: string }[] {
    return [...this.opts.rtts]
      .filter((r) => r.rttMs !== null && !this.failedPops.has(r.address))
      .sort((a, b) => (a.rttMs ?? 0) - (b.rttMs ?? 0))
      .map((r) => ({ name: r.name, address: r.address }));
  }

  private nameOf(address: string): string {
    return this.opts.rtts.find((r) => r.address === address)?.name ?? address;
  }

  private showRefusals(message: string): void {
    this.lastRefusal = message;
    this.ui.video.showMessage(`{red-fg}${escapeTags(message)}{/red-fg}\n\nm: another movie   s: ask again   q: quit`);
    this.say(message);
  }

  /** Opens a session for `movie` at the current POP (SETUP). @throws PlayRefused, RtspClientError */
  private async open(movie: string): Promise<void> {
    const session = new PlaySession({
      popAddress: this.pop.address,
      rtspPort: this.opts.rtspPort,
      movie,
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      transport: this.opts.transport,
      jitterBufferMs: this.opts.jitterBufferMs,
      keys: this.opts.keys,
      ...(this.opts.onUnknownKey ? { onUnknownKey: this.opts.onUnknownKey } : {}),
    });
    const pacer = new FramePacer<JpegImage>(
      (img) => {
        if (this.ui.video.showJpeg(img)) this.ui.screen.render();
      },
      {
        ready: () => process.stdout.writableLength === 0,
        whenReady: (cb) => process.stdout.once('drain', cb),
      },
    );
    session.onFrame = (img) => pacer.push(img);
    session.onClose = (why) => {
      if (this.quitting || this.finished) return;
      // The POP died: move on to the next-closest one and resume on our own.
      const next = this.nextPop(this.pop.address);
      if (next === null) {
        this.finish({ kind: 'refused', message: `${why} (${session.rtspUrl}); no other POP answered` });
        return;
      }
      const from = this.pop.name;
      this.pop = next;
      this.showPops('after a failover');
      this.say(`POP ${from} lost (${why}); switching to ${next.name}`);
      this.enqueue(() => this.play());
    };
    this.pacer?.stop();
    this.session = session;
    this.pacer = pacer;
    this.ui.video.box.setLabel(` ${movie} `);
    this.ui.video.showMessage(`SETUP ${escapeTags(session.rtspUrl)} …`);
    this.say(`SETUP ${session.rtspUrl} (RTP over ${this.opts.transport.toUpperCase()})`);
    try {
      await session.setup();
    } catch (err) {
      session.close();
      throw err;
    }
    this.ui.video.showMessage('set up: press p to PLAY');
    this.say(`ready at ${this.pop.name}; PLAY to start`);
  }

  private async play(): Promise<void> {
    if (!this.active()) await this.setup();
    const session = this.session;
    if (session === null || !this.active() || this.state() === 'playing') return;
    await session.play();
    if (session.stats().framesReceived === 0) this.ui.video.showMessage('waiting for the first frame …');
    this.say(`playing ${this.movie ?? ''} from ${this.pop.name} (${this.pop.address})`);
  }

  private async pause(): Promise<void> {
    if (this.state() !== 'playing') {
      this.say('not playing');
      return;
    }
    await this.session?.pause();
    this.say('paused (p or space to resume)');
  }

  private async teardown(): Promise<void> {
    if (!this.active()) {
      this.say('no session to tear down');
      return;
    }
    this.pacer?.stop();
    await this.session?.teardown();
    this.ui.video.showMessage('torn down: s or p to start again, m for another movie');
    this.say('TEARDOWN sent; the session is closed');
  }

  private async choose(): Promise<void> {
    if (this.opts.catalogue.length === 0) {
      this.finish({ kind: 'unknown-movie', message: 'the catalogue is empty (servers still announcing?)' });
      return;
    }
    if (this.active()) await this.teardown();
    this.picking = true;
    const name = await pickMovie(this.ui.screen, this.opts.catalogue, this.movie === null ? 'quit' : 'go back');
    this.picking = false;
    if (name === null) {
      if (this.movie === null) this.quit();
      return;
    }
    this.movie = name;
    await this.play();
  }

  /** TEARDOWN, then restore the terminal; a second request stops at once. */
  private quit(signal?: NodeJS.Signals): void {
    if (this.finished) return;
    const outcome: PlayerOutcome = signal
      ? { kind: 'signal', signal }
      : this.lastRefusal !== null
        ? { kind: 'every-pop-refused', message: this.lastRefusal }
        : { kind: 'quit' };
    if (this.quitting) {
      this.finish(outcome);
      return;
    }
    this.quitting = true;
    this.say('TEARDOWN and quit …');
    this.pacer?.stop();
    const session = this.session;
    void (session ? session.teardown() : Promise.resolve()).finally(() => this.finish(outcome));
  }

  private failure(err: Error): PlayerOutcome {
    if (err instanceof PlayRefused && err.nakReason === 'unknown-movie') {
      const names = this.opts.catalogue.map((m) => m.name).join(', ') || 'nothing';
      return { kind: 'unknown-movie', message: `${err.message}; the catalogue has: ${names}` };
    }
    if (err instanceof PlayRefused || err instanceof RtspClientError) return { kind: 'refused', message: err.message };
    return { kind: 'error', message: err.stack ?? String(err) };
  }

  private finish(outcome: PlayerOutcome): void {
    if (this.finished) return;
    this.finished = true;
    if (this.ticker) clearInterval(this.ticker);
    this.pacer?.stop();
    this.session?.close();
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(sig, this.onSignal);
    process.off('uncaughtException', this.onCrash);
    this.ui.screen.destroy();
    this.resolve(outcome);
  }

  private say(text: string): void {
    if (this.finished) return;
    this.ui.status.setContent(` ${escapeTags(text)}`);
    this.ui.screen.render();
  }

  /** Statistics and which buttons apply now. */
  private refresh(): void {
    if (this.finished) return;
    const stats = this.session?.stats() ?? null;
    this.ui.stats.setContent(
      statsLines(stats, { shown: this.pacer?.shown ?? 0, skipped: this.pacer?.skipped ?? 0 }).join('\n'),
    );
    const state = stats?.state ?? null;
    const live = state !== null && state !== 'closed';
    const enabled: Record<Control, boolean> = {
      setup: !live,
      play: state !== 'playing',
      pause: state === 'playing',
      teardown: live,
    };
    for (const [control, button] of this.ui.buttons) {
      button.style.bg = enabled[control] ? 'blue' : 'black';
      button.style.fg = enabled[control] ? 'white' : 'gray';
    }
    this.ui.screen.render();
  }
}
