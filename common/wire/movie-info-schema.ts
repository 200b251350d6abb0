/**
 * A catalogue entry as every wire format carries it (overlay catalogue parts as tuples, the
 * bootstrapper's welcome as objects): one set of rules, so an entry one side accepts the other
 * never refuses.
 */
import * as v from 'valibot';
import {
  MAX_AUDIO_CONFIG_BYTES,
  MAX_AV_MOVIE_NAME_BYTES,
  MAX_PARAMETER_SET_BYTES,
  MAX_PARAMETER_SETS,
} from './movie-tracks.ts';
import { isMovieName } from './names.ts';
import type { AvInfo, MovieInfo } from './overlay.ts';

/** Far above any real movie (servers play at most 120 fps), low enough to keep timestamps sane. */
export const MAX_MOVIE_FPS = 1000;
/** JPEG's own bound on width and height. */
export const MAX_MOVIE_DIMENSION = 0xffff;
/** RTP clock rates of audio tracks: AAC's sampling rates go up to 96 kHz. */
const MAX_AUDIO_RATE = 96_000;

const movieName = v.custom<string>(isMovieName, 'not a movie name');
const fps = v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(MAX_MOVIE_FPS));
const dimension = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_MOVIE_DIMENSION));
const frames = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));

/** Base64 of 1..MAX_PARAMETER_SET_BYTES bytes. */
const parameterSet = v.pipe(
  v.string(),
  v.maxLength(Math.ceil(MAX_PARAMETER_SET_BYTES / 3) * 4),
  v.regex(/^[A-Za-z0-9+/]+={0,2}$/),
);
const parameterSets = v.pipe(v.array(parameterSet), v.minLength(1), v.maxLength(MAX_PARAMETER_SETS));
const audioConfig = v.pipe(v.string(), v.maxLength(2 * MAX_AUDIO_CONFIG_BYTES), v.regex(/^(?:[0-9a-f]{2})+$/));
const AudioSchema = v.object({
  rate: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_AUDIO_RATE)),
  channels: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64)),
  config: audioConfig,
});
const AvSchema = v.object({ sps: parameterSets, pps: parameterSets, audio: v.optional(AudioSchema) });
/** [sps, pps] or [sps, pps, [rate, channels, config]]: the tuple form of AvInfo. */
const AvTupleSchema = v.pipe(
  v.union([
    v.strictTuple([parameterSets, parameterSets]),
    v.strictTuple([
      parameterSets,
      parameterSets,
      v.strictTuple([AudioSchema.entries.rate, AudioSchema.entries.channels, audioConfig]),
    ]),
  ]),
  v.transform((t): AvInfo => {
    const [sps, pps, audio] = t;
    return audio === undefined
      ? { sps, pps }
      : { sps, pps, audio: { rate: audio[0], channels: audio[1], config: audio[2] } };
  }),
);

const TOO_LONG = `an H.264 movie name is at most ${MAX_AV_MOVIE_NAME_BYTES} bytes (room for its audio stream)`;

/** An H.264 movie's name leaves room for its audio stream's suffix. */
function avNameFits(m: { readonly name: string; readonly av?: unknown }): boolean {
  return m.av === undefined || Buffer.byteLength(m.name, 'utf8') <= MAX_AV_MOVIE_NAME_BYTES;
}

export const MovieInfoSchema = v.pipe(
  v.object({ name: movieName, fps, width: dimension, height: dimension, frames, av: v.optional(AvSchema) }),
  v.check((m) => avNameFits(m), TOO_LONG),
  v.transform((m): MovieInfo => withoutUndefinedAv(m)),
);

/** [name, fps, width, height, frames, av?]: the overlay's compact form (no keys: a third of the bytes). */
export const MovieTupleSchema = v.pipe(
  v.union([
    v.strictTuple([movieName, fps, dimension, dimension, frames]),
    v.strictTuple([movieName, fps, dimension, dimension, frames, AvTupleSchema]),
  ]),
  v.transform(
    ([name, f, width, height, n, av]): MovieInfo =>
      av === undefined ? { name, fps: f, width, height, frames: n } : { name, fps: f, width, height, frames: n, av },
  ),
  v.check((m) => avNameFits(m), TOO_LONG),
);

/** The tuple form of an entry (movieTupleOf's inverse of MovieTupleSchema). */
export function avTupleOf(av: AvInfo): unknown[] {
  const a = av.audio;
  return a === undefined ? [av.sps, av.pps] : [av.sps, av.pps, [a.rate, a.channels, a.config]];
}

function withoutUndefinedAv(m: MovieInfo): MovieInfo {
  if (m.av !== undefined) return m;
  const { av: _av, ...rest } = m;
  return rest;
}
