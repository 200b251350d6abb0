/**
 * The tracks of a movie as the overlay carries them. An MJPEG movie is one stream, named as the
 * movie. An H.264 + AAC movie is two: its video under the movie's name and its audio under the
 * name with AUDIO_STREAM_SUFFIX. Each is a stream of its own through the trees (own sequence
 * numbers, cache, repairs and signatures), so nothing in the overlay needs to know about codecs;
 * both follow the same routes to the same server, and the POP joins them under one RTSP session.
 *
 * The suffix ends in no movie extension, so a stream name never clashes with a movie's name.
 */
import type { AvInfo, MovieInfo } from './overlay.ts';

export const AUDIO_STREAM_SUFFIX = '#audio';
/** An H.264 + AAC movie's name leaves room for the suffix within MAX_MOVIE_NAME_BYTES. */
export const MAX_AV_MOVIE_NAME_BYTES = 255 - AUDIO_STREAM_SUFFIX.length;

/** Parameter sets one movie announces at most (real encoders write one SPS and one PPS). */
export const MAX_PARAMETER_SETS = 4;
/** Bytes of one parameter set at most (an SPS is tens of bytes). */
export const MAX_PARAMETER_SET_BYTES = 256;
/** Bytes of an AudioSpecificConfig at most (AAC-LC's is 2). */
export const MAX_AUDIO_CONFIG_BYTES = 64;

export type TrackKind = 'video' | 'audio';

export function audioStreamOf(movie: string): string {
  return `${movie}${AUDIO_STREAM_SUFFIX}`;
}

/** The overlay streams a movie is carried as: the movie's own name first. */
export function streamNamesOf(m: MovieInfo): string[] {
  return m.av?.audio === undefined ? [m.name] : [m.name, audioStreamOf(m.name)];
}

/** Whether a movie is H.264 (+ AAC) rather than MJPEG. */
export function isAvMovie(m: MovieInfo): m is MovieInfo & { readonly av: AvInfo } {
  return m.av !== undefined;
}
