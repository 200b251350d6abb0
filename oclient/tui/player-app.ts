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
import type { PopRtt } from '../net/pop-prober.ts';
import { SystemClock } from '../../common/core/clock.ts';
import { type FailoverDecision, FailoverPolicy } from '../core/failover-policy.ts';
import { FrameTimeline } from '../core/frame-timeline.ts';
import { describeRefusals, refusalReason } from '../core/refusal-round.ts';
import { livenessOf, PlayRefused, PlaySession, type SessionStats, type TransportKind } from '../net/play-session.ts';
import { RtspClientError } from '../net/rtsp-client.ts';
import { FramePacer } from './frame-pacer.ts';
import { AvPictureFeed, AvPictureSession } from '../net/av-picture-session.ts';
import type { RgbaImage } from '../../common/media/rgba-image.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { pickMovie } from './movie-picker.ts';
import { escapeTags, popLines, statsLines } from './panel-text.ts';
import { createLayout, createScreen, type Control, type PlayerLayout } from './player-layout.ts';

export interface PlayerOptions {
  readonly catalogue: readonly MovieInfo[];
  readonly rtts: readonly PopRtt[];
  /** The POP to play from (client-facing address) and why it was chosen. */
  readonly pop: { readonly name: string; readonly address: string; readonly rttMs: number | null };
  readonly popChosenBy: 'rtt' | 'flag';
  /** Further POPs to fail over to, best first (as for the headless player). */
  readonly fallbacks: readonly { readonly name: string; readonly address: string }[];
  /** Start with this movie; null shows the picker first. */
  readonly movie: string | null;
  readonly rtspPort: number;
  readonly localAddress?: string;
  readonly transport: TransportKind;
  readonly jitterBufferMs: number;
  /** Playback reports to the POP every this many ms while playing (0: none); default 2000. */
  readonly reportIntervalMs?: number;
  /** No frame for this long from the POP playing: fail over; default STALL_FAILOVER_MS. */
  readonly stallTimeoutMs?: number;
  /** The POPs' overlay port: pinged while SETUP and PLAY wait, so a frozen POP is left after stallTimeoutMs. */
  readonly overlayPort?: number;
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
  private session: PlaySession | AvPictureSession | null = null;
  private pacer: FramePacer<JpegImage> | FramePacer<RgbaImage> | null = null;
  /** An H.264 movie's placement and decoder, over its sessions (null for MJPEG). */
  private avFeed: { readonly movie: string; readonly feed: AvPictureFeed } | null = null;
  private movie: string | null;
  private picking = false;
  private quitting = false;
  private finished = false;
  private queue: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | null = null;
  private resolve: (outcome: PlayerOutcome) => void = () => {};
  private readonly onSignal = (signal: NodeJS.Signals): void => this.quit(signal);
  private readonly onCrash = (err: Error): void => this.finish({ kind: 'error', message: err.stack ?? String(err) });

  /** Which POP to play from, when to leave it and when to give up: the same policy as headless. */
  private readonly policy: FailoverPolicy;
  /** POP names by client-facing address. */
  private readonly names = new Map<string, string>();
  /** Why the last SETUP found no POP serving the movie; cleared once one does. */
  private lastRefusal: string | null = null;
  /** What was shown of the movie, over every session: no frame twice, none out of order. */
  private timeline = new FrameTimeline();
  /** The movie the timeline is about. */
  private timelineMovie: string | null = null;
  /** The last frame shown (performance.now()), and the POP left since, until the next POP's first frame. */
  private lastShownAt: number | null = null;
  private leftPop: string | null = null;
  /** The POPs that answered the RTT probe. */
  private readonly answered: readonly string[];

  constructor(private readonly opts: PlayerOptions) {
    for (const p of [opts.pop, ...opts.rtts, ...opts.fallbacks]) {
      if (!this.names.has(p.address)) this.names.set(p.address, p.name);
    }
    this.answered = opts.rtts.filter((r) => r.rttMs !== null).map((r) => r.address);
    this.policy = new FailoverPolicy({
      pops: [opts.pop.address, ...opts.fallbacks.map((p) => p.address)],
      roundPops: this.answered,
      clock: new SystemClock(),
      onStall: (decision) => this.stalled(decision),
      ...(opts.stallTimeoutMs !== undefined ? { stallMs: opts.stallTimeoutMs } : {}),
    });
    this.movie = opts.movie;
    this.ui = createLayout(createScreen(), opts.rtts.length);
  }

  /** The POP in use: the chosen one, then the next one after a failover. */
  private get pop(): { readonly name: string; readonly address: string } {
    const address = this.policy.current;
    return { name: this.nameOf(address), address };
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
    const actions: Record<Control, () => Promise<unknown>> = {
      setup: () => this.setup(),
      play: () => this.play(),
      pause: () => this.pause(),
      teardown: () => this.teardown(),
    };
    for (const [control, button] of this.ui.buttons) button.on('press', () => this.enqueue(actions[control]));
  }

  /** Queues an action; a failure of the POP ends the player with that failure. */
  private enqueue(action: () => Promise<unknown>): void {
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

  /** SETUP asked for by the user (or PLAY without a session): a new round of POPs, from the current one. */
  private async setup(): Promise<boolean> {
    if (this.active()) {
      this.say('already set up (t tears it down)');
      return false;
    }
    const movie = this.movie;
    if (movie === null) {
      await this.choose();
      return false;
    }
    this.policy.restart();
    return this.connect(movie);
  }

  /**
   * SETUP at the policy's POP; a POP that refuses the movie or cannot be reached hands over to the
   * next one. False when none could be set up: every POP's refusal is shown (the player stays
   * open), or the last failure is thrown (it ends the player).
   */
  private async connect(movie: string): Promise<boolean> {
    for (;;) {
      const from = this.pop.name;
      try {
        await this.open(movie);
        this.lastRefusal = null;
        return true;
      } catch (err) {
        let decision: FailoverDecision;
        let what: string;
        if (err instanceof PlayRefused) {
          const reason = refusalReason(err.status, err.nakReason);
          decision = this.policy.refused(err.status, reason, err.message);
          what = `refused ${movie} (${err.status} ${reason})`;
        } else if (err instanceof RtspClientError) {
          decision = this.policy.failed(err.message);
          what = `failed (${err.message})`;
        } else {
          throw err;
        }
        if (decision.action === 'give-up') {
          if (decision.reason.kind !== 'every-pop-refused') throw err;
          this.showRefusals(describeRefusals(movie, decision.reason.refusals, (a) => this.nameOf(a)));
          return false;
        }
        this.say(`POP ${from} ${what}; trying ${this.pop.name}`);
        this.showPops(err instanceof PlayRefused ? 'after a refusal' : 'after a failover');
      }
    }
  }

  /** The POP in use died (its connection dropped, or it stopped sending): go on at the next one. */
  private lost(decision: FailoverDecision, url: string): void {
    if (decision.action === 'give-up') {
      const why = decision.reason.kind === 'no-pop-plays' ? decision.reason.why : 'every POP refused';
      this.finish({ kind: 'refused', message: `${why} (${url}); no other POP answered` });
      return;
    }
    this.showPops('after a failover');
    this.leftPop = this.nameOf(decision.from);
    this.say(`POP ${this.nameOf(decision.from)} lost (${decision.why}); switching to ${this.pop.name}`);
    this.enqueue(() => this.resume());
  }

  /** No frame for a while from the POP in use: drop its session and fail over. */
  private stalled(decision: FailoverDecision): void {
    if (this.quitting || this.finished) return;
    const session = this.session;
    this.pacer?.stop();
    session?.close();
    this.lost(decision, session?.rtspUrl ?? '');
  }

  /** After a failover: SETUP at the new POP and PLAY again. */
  private async resume(): Promise<void> {
    const movie = this.movie;
    if (movie === null || this.active()) return;
    if (await this.connect(movie)) await this.start();
  }

  private nameOf(address: string): string {
    return this.names.get(address) ?? address;
  }

  private showRefusals(message: string): void {
    this.lastRefusal = message;
    this.ui.video.showMessage(`{red-fg}${escapeTags(message)}{/red-fg}\n\nm: another movie   s: ask again   q: quit`);
    this.say(message);
  }

  /** Opens a session for `movie` at the current POP (SETUP). @throws PlayRefused, RtspClientError */
  private async open(movie: string): Promise<void> {
    if (this.timelineMovie !== movie) {
      const fps = this.opts.catalogue.find((m) => m.name === movie)?.fps;
      this.timeline = new FrameTimeline(fps !== undefined ? { fps } : {});
      this.timelineMovie = movie;
    }
    const info = this.opts.catalogue.find((m) => m.name === movie);
    const { session, pacer } = info?.av !== undefined ? this.avSession(movie, info) : this.mjpegSession(movie);
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
    // Set only now: a connection lost during SETUP is the error SETUP throws, one failure, not two.
    const onClose = (why: string): void => {
      if (this.quitting || this.finished) return;
      // The POP died: move on to the next one and resume on our own.
      this.lost(this.policy.failed(why), session.rtspUrl);
    };
    if (session instanceof PlaySession) session.events.on('close', onClose);
    else session.events.on('close', onClose);
    const note = info?.av !== undefined ? ' (picture only: sound needs --player ffplay|mpv)' : '';
    this.ui.video.showMessage(`set up: press p to PLAY${note}`);
    this.say(`ready at ${this.pop.name}; PLAY to start`);
  }

  /** A session of an MJPEG movie, its frames paced onto the screen. */
  private mjpegSession(movie: string): { session: PlaySession; pacer: FramePacer<JpegImage> } {
    this.avFeed?.feed.stop(); // an H.264 movie played before: its decoder is done
    this.avFeed = null;
    const timeline = this.timeline;
    const session = new PlaySession({
      popAddress: this.pop.address,
      rtspPort: this.opts.rtspPort,
      movie,
      ...(this.opts.localAddress ? { localAddress: this.opts.localAddress } : {}),
      transport: this.opts.transport,
      jitterBufferMs: this.opts.jitterBufferMs,
      keys: this.opts.keys,
      ...(this.opts.onUnknownKey ? { onUnknownKey: this.opts.onUnknownKey } : {}),
      ...(this.opts.reportIntervalMs !== undefined ? { reportIntervalMs: this.opts.reportIntervalMs } : {}),
      playback: () => ({ failovers: this.policy.failovers, timeline: timeline.counts }),
      lastShown: () => timeline.lastShown,
      ...livenessOf({ ...this.opts, answered: this.answered }, this.pop.address),
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
    session.events.on('frame', (img, place) => {
      this.policy.frame(); // the POP is alive, whether or not the frame is new
      if (timeline.offer(place.ssrc, place.timestamp) === 'drop') return;
      this.shown();
      pacer.push(img);
    });
    return { session, pacer };
  }

  /** A session of an H.264 movie: its video decoded by ffmpeg (one decoder over the movie's sessions). */
  private avSession(movie: string, info: MovieInfo): { session: AvPictureSession; pacer: FramePacer<RgbaImage> } {
    const pacer = new FramePacer<RgbaImage>(
      (img) => {
        this.ui.video.showRgba(img);
        this.ui.screen.render();
      },
      { ready: () => process.stdout.writableLength === 0, whenReady: (cb) => process.stdout.once('drain', cb) },
    );
    if (this.avFeed?.movie !== movie) {
      this.avFeed?.feed.stop();
      const feed = new AvPictureFeed(info.width, info.height);
      feed.events.on('picture', (img) => {
        this.shown();
        if (this.pacer !== null && this.avFeed?.feed === feed) (this.pacer as FramePacer<RgbaImage>).push(img);
      });
      feed.events.on('error', (why) => this.say(`cannot decode H.264: ${why}`));
      this.avFeed = { movie, feed };
    }
    const o = this.opts;
    const session = new AvPictureSession(
      {
        popAddress: this.pop.address,
        rtspPort: o.rtspPort,
        movie,
        ...(o.localAddress ? { localAddress: o.localAddress } : {}),
        transport: o.transport,
        jitterBufferMs: o.jitterBufferMs,
        keys: o.keys,
        ...(o.onUnknownKey ? { onUnknownKey: o.onUnknownKey } : {}),
        ...(o.reportIntervalMs !== undefined ? { reportIntervalMs: o.reportIntervalMs } : {}),
        failovers: () => this.policy.failovers,
        ...livenessOf({ ...o, answered: this.answered }, this.pop.address),
      },
      this.avFeed.feed,
    );
    session.events.on('unit', () => this.policy.frame()); // the POP is alive
    return { session, pacer };
  }

  /** A frame goes to the screen: after a failover, say how long the picture stood still. */
  private shown(): void {
    const now = performance.now();
    if (this.leftPop !== null) {
      const still = this.lastShownAt === null ? '' : ` ${Math.round(now - this.lastShownAt)} ms after the last`;
      this.say(`playing ${this.movie ?? ''} from ${this.pop.name}: first frame${still} from ${this.leftPop}`);
      this.leftPop = null;
    }
    this.lastShownAt = now;
  }

  private async play(): Promise<void> {
    if (!this.active() && !(await this.setup())) return;
    await this.start();
  }

  /** PLAY on the session set up; a POP that fails it hands over to the next one. */
  private async start(): Promise<void> {
    const session = this.session;
    if (session === null || !this.active() || this.state() === 'playing') return;
    try {
      await session.play();
    } catch (err) {
      if (!(err instanceof PlayRefused || err instanceof RtspClientError) || this.quitting || this.finished) throw err;
      // The POP closed the connection: the close listener has failed over already.
      if (session.stats().state === 'closed') return;
      this.pacer?.stop();
      session.close();
      const decision = this.policy.failed(err.message);
      if (decision.action === 'give-up') throw err;
      this.lost(decision, session.rtspUrl);
      return;
    }
    this.policy.playing();
    if (session.stats().framesReceived === 0) this.ui.video.showMessage('waiting for the first frame …');
    const note = session instanceof AvPictureSession ? '; picture only: sound needs --player ffplay|mpv' : '';
    this.say(`playing ${this.movie ?? ''} from ${this.pop.name} (${this.pop.address})${note}`);
  }

  private async pause(): Promise<void> {
    if (this.state() !== 'playing') {
      this.say('not playing');
      return;
    }
    this.policy.idle(); // no frames are expected now
    await this.session?.pause();
    this.say('paused (p or space to resume)');
  }

  private async teardown(): Promise<void> {
    if (!this.active()) {
      this.say('no session to tear down');
      return;
    }
    this.policy.stopped();
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
    this.policy.stopped();
    if (this.ticker) clearInterval(this.ticker);
    this.pacer?.stop();
    this.session?.close();
    this.avFeed?.feed.stop();
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
      statsLines(stats, {
        shown: this.pacer?.shown ?? 0,
        skipped: this.pacer?.skipped ?? 0,
        reporting: this.session?.reporting ?? false,
        timeline: this.timeline.counts,
      }).join('\n'),
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
