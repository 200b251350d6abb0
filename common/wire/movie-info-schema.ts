/**
 * A catalogue entry as every wire format carries it (overlay catalogue parts as tuples, the
 * bootstrapper's welcome as objects): one set of rules, so an entry one side accepts the other
 * never refuses.
 */
import * as v from 'valibot';
import { isMovieName } from './names.ts';
import type { MovieInfo } from './overlay.ts';

/** Far above any real movie (servers play at most 120 fps), low enough to keep timestamps sane. */
export const MAX_MOVIE_FPS = 1000;
/** JPEG's own bound on width and height. */
export const MAX_MOVIE_DIMENSION = 0xffff;

const movieName = v.custom<string>(isMovieName, 'not a movie name');
const fps = v.pipe(v.number(), v.finite(), v.gtValue(0), v.maxValue(MAX_MOVIE_FPS));
const dimension = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_MOVIE_DIMENSION));
const frames = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff));

export const MovieInfoSchema = v.object({ name: movieName, fps, width: dimension, height: dimension, frames });

/** [name, fps, width, height, frames]: the overlay's compact form (no keys: a third of the bytes). */
export const MovieTupleSchema = v.pipe(
  v.tuple([movieName, fps, dimension, dimension, frames]),
  v.transform(([name, f, width, height, n]): MovieInfo => ({ name, fps: f, width, height, frames: n })),
);
