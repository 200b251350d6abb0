/**
 * A server's movies as a MovieSource: one live MovieChannel per stream (an H.264 movie's audio is
 * a stream of its own, common/wire/movie-tracks.ts), started by the first
 * viewer's join and stopped when the tree prunes the last branch. Every channel runs on its
 * movie's shared timeline, read from `reference` (this server's estimate of the shared clock).
 */
import type { Clock } from '../../common/core/clock.ts';
import type { MovieInfo } from '../../common/wire/overlay.ts';
import { type ChannelMovie, type FrameSigning, MovieChannel, type ReferenceTime } from './movie-channel.ts';
import type { MovieSource } from './overlay-node.ts';

export class ChannelSource implements MovieSource {
  private readonly channels = new Map<string, MovieChannel>();
  private readonly infos: readonly MovieInfo[];

  constructor(
    clock: Clock,
    movies: readonly ChannelMovie[],
    catalogue: readonly MovieInfo[],
    emit: (movie: string, rtp: Buffer) => void,
    /** The shared clock (ms); by default this server's own. */
    reference: ReferenceTime = () => clock.now(),
    /** Signs every frame (a server's FrameSigner); null sends unsigned packets. */
    sign: FrameSigning | null = null,
  ) {
    for (const m of movies) {
      this.channels.set(m.name, new MovieChannel(clock, m, (rtp) => emit(m.name, rtp), reference, sign));
    }
    this.infos = catalogue.filter((i) => this.channels.has(i.name));
  }

  catalogue(): readonly MovieInfo[] {
    return this.infos;
  }

  carries(stream: string): boolean {
    return this.channels.has(stream);
  }

  start(movie: string): void {
    this.channels.get(movie)?.start();
  }

  stop(movie: string): void {
    this.channels.get(movie)?.stop();
  }

  /** Packets of the movie's recent frames again (MovieChannel.resend), for repairs this server's cache cannot serve. */
  resend(movie: string, ssrc: number, seqs: readonly number[]): Buffer[] {
    const channel = this.channels.get(movie);
    return channel === undefined || channel.ssrc !== ssrc ? [] : channel.resend(seqs);
  }

  /** The newest sequence number the movie's channel sent, or null. */
  newestSeq(movie: string): number | null {
    return this.channels.get(movie)?.newestSeq ?? null;
  }

  running(): string[] {
    return [...this.channels].filter(([, c]) => c.running).map(([n]) => n);
  }

  /** RTP packets the movie's channel has emitted since this source was made (0 for a movie it lacks). */
  packetsSent(movie: string): number {
    return this.channels.get(movie)?.packetsSent ?? 0;
  }

  stopAll(): void {
    for (const c of this.channels.values()) c.stop();
  }
}
